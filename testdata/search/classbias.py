#!/usr/bin/python3
"""Class biases on the verifier's logits: an offline diagnostic
(models/SEARCH.md, "Class biases and a learned fusion of the
verifier's views"). It chooses
nothing by itself.

usage: classbias.py extract VERIFIER SCANDIR OUT.pkl SETDIR...
       classbias.py fit OUT.json FIT.pkl... [-- HELD.pkl...]
       classbias.py read BIASES.json HELD.pkl...

The verifier scores a box by the softmax of its eleven logits, p(dress)
against ten other classes (nine garments and "no item") with equal
weight. Training saw those classes in its own mix (garment weights,
mined negatives), not the scenes'; a bias b_c added to class c's logit
before the softmax is the textbook correction for such a shift, and it
reorders boxes only through the other classes' biases relative to each
other (b_dress stays 0).

extract: for each box of SCANDIR/SET.jsonl (the defaults' scan at
--threshold 0.05) scored FLOOR or more, the verifier's logits at the
scan's 27 views of the box, each mirrored and not, with the scan's score
and the image's dress boxes; written to OUT.pkl.

fit: coordinate search over each other class's bias on a grid, several
passes, maximising the mean recall at 0.06 to 0.14 false positives per
image (smoother than the 0.1 point alone) over FIT.pkl pooled. Writes
the biases to OUT.json and prints recall at <= 0.1 FP/image with and
without them on FIT and on HELD (files not fitted on).

read: recall with the stored biases against none, pooled and per file.

A box's p is the least over views of the mirror-averaged softmax, its
score sqrt(scan score * p), boxes kept by NMS at 0.3, as the scan does;
with zero biases this reproduces the scan's scores (printed: largest
difference) up to boxes the scan's second NMS had already dropped.
"""
import json
import os
import pickle
import sys

import numpy as np
import torch

from ladder import iou, jsonl, recall
from peermodel import PeerModel
from recentre import VIEWS27, nms
from verifier_views import DRESS, padded, windows

FLOOR = 0.1  # far below the operating points (0.33 to 0.39)
CLASSES = 11
GRID = [-2.0, -1.5, -1.0, -0.5, -0.25, 0.0, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0]
BUDGETS = [0.06, 0.08, 0.10, 0.12, 0.14]


def extract(verifier, scandir, out, sets):
    torch.set_grad_enabled(False)
    torch.set_num_threads(1)
    peer = PeerModel(verifier)
    logits_net = peer.net[:-1]  # the softmax is the last layer
    images, worst = [], 0.0
    for s in sets:
        name = os.path.basename(os.path.normpath(s))
        truth = {t["image"]: [o["box"] for o in t["objects"] if o["class"] == DRESS]
                 for t in jsonl(os.path.join(s, "truth.jsonl"))}
        for rec in jsonl(os.path.join(scandir, name + ".jsonl")):
            image = os.path.basename(rec["image"])
            img = padded(peer, os.path.join(s, image))
            boxes = []
            for d in rec["detections"]:
                if d["score"] < FLOOR:
                    continue
                x = windows(peer, img, d["box"], VIEWS27)
                z = torch.stack([logits_net(x), logits_net(torch.flip(x, [3]))], 1)[:, :, :, 0, 0].numpy()
                boxes.append((d["box"], d["scan_score"], z.astype(np.float32)))
                worst = max(worst, abs(verified(z, d["scan_score"]) - d["score"]))
            images.append((name, image, truth[image], boxes))
        print(f"{name}: done", flush=True)
    with open(out, "wb") as f:
        pickle.dump(images, f)
    print(f"{len(images)} images, {sum(len(b) for *_, b in images)} boxes; largest |rescored - scan|: {worst:.4f}")


def softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def verified(z, s, bias=0):
    """The score the scan gives boxes of logits z (..., view, mirror,
    class) and scan scores s, with bias added to the logits: sqrt(s * the
    least view's mirror-averaged p(dress))."""
    return np.sqrt(s * softmax(z + bias)[..., DRESS].mean(-1).min(-1))


def load(paths):
    images = []
    for p in paths:
        with open(p, "rb") as f:
            images += pickle.load(f)
    return images


def prepare(images):
    """All boxes' logits in one array, with each box's image and scan score."""
    z = np.concatenate([np.stack([b[2] for b in boxes]) for *_, boxes in images if boxes])
    s = np.array([b[1] for *_, boxes in images for b in boxes])
    return z, s


def evaluate(images, z, s, bias, budgets=(0.1,)):
    """Recall at each false-positive budget with bias added to the logits."""
    return recalls(images, verified(z, s, bias), budgets)


def recalls(images, score, budgets=(0.1,)):
    """Recall at each false-positive budget of the boxes of images (in
    load's order) scored score, kept by NMS at 0.3."""
    ev, dresses, k = [], 0, 0
    for _, _, truth, boxes in images:
        dresses += len(truth)
        kept = nms([{"score": score[k + i], "box": b[0]} for i, b in enumerate(boxes)])
        k += len(boxes)
        used = set()
        for sc, box in ((d["score"], d["box"]) for d in kept):
            hits = [(iou(box, b), j) for j, b in enumerate(truth) if j not in used and iou(box, b) >= 0.5]
            if hits:
                used.add(max(hits)[1])
            ev.append((sc, bool(hits)))
    return [recall(ev, len(images), dresses, fp) for fp in budgets]


def fit(out, fitpaths, heldpaths):
    images = load(fitpaths)
    z, s = prepare(images)
    bias = np.zeros(CLASSES, np.float32)
    objective = lambda b: float(np.mean(evaluate(images, z, s, b, BUDGETS)))  # noqa: E731
    best = objective(bias)
    print(f"start: objective {best:.4f}", flush=True)
    for sweep in range(3):
        moved = False
        for c in range(CLASSES):
            if c == DRESS:
                continue
            for v in GRID:
                trial = bias.copy()
                trial[c] = v
                o = objective(trial)
                if o > best + 1e-9:
                    best, bias, moved = o, trial, True
            print(f"sweep {sweep + 1} class {c}: bias {bias[c]:+.2f}, objective {best:.4f}", flush=True)
        if not moved:
            break
    with open(out, "w") as f:
        json.dump({"bias": [float(b) for b in bias], "fit": fitpaths}, f)
    report(bias, fitpaths, heldpaths)


def report(bias, fitpaths, heldpaths):
    for label, paths in (("fit", fitpaths), ("held", heldpaths)):
        for p in ([paths] if len(paths) > 1 else []) + [[q] for q in paths]:
            images = load(p)
            z, s = prepare(images)
            zero = evaluate(images, z, s, np.zeros(CLASSES, np.float32))[0]
            with_bias = evaluate(images, z, s, bias)[0]
            print(f"{label} {'+'.join(os.path.basename(q) for q in p)}: {len(images)} images, "
                  f"recall at <= 0.1 FP/image {zero:.4f} without biases, {with_bias:.4f} with ({with_bias - zero:+.4f})")


def main():
    a = sys.argv[1:]
    if len(a) >= 5 and a[0] == "extract":
        extract(a[1], a[2], a[3], a[4:])
    elif len(a) >= 3 and a[0] == "fit":
        rest = a[2:]
        cut = rest.index("--") if "--" in rest else len(rest)
        fit(a[1], rest[:cut], rest[cut + 1:])
    elif len(a) >= 3 and a[0] == "read":
        with open(a[1]) as f:
            bias = np.array(json.load(f)["bias"], np.float32)
        print("biases: " + " ".join(f"{b:+.2f}" for b in bias))
        report(bias, [], a[2:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
