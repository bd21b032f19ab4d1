#!/usr/bin/python3
"""Ways to score a scan's boxes with its verifier, compared offline on the
same boxes: the selection step of rules 39 and 40 (models/SEARCH.md).

usage: verifier_views.py VERIFIER SCANDIR SETDIR...

SCANDIR holds each set's scan as SET.jsonl, made with the defaults (the
pair and VERIFIER at equal weight, --threshold 0.05); VERIFIER is that
verifier's converted file, run in PyTorch as peermodel.py says. For each
box scored 0.3 or more, the verifier's class probabilities are read at the
box and at the views of `scan --verifier-views` (the box moved by 0.05 of
its side each way, and scaled by exp(+-0.12)); the scan's own score s is
recovered as score^2 / p(box). Each variant rescores every box and is
scored by recall at <= 0.1 FP/image, pooled and per family of sets (the
set name's letters: uv, uw, val, test).
"""
import math
import os
import sys

import numpy as np
import torch
from PIL import Image

from ladder import iou, jsonl, recall
from peermodel import PeerModel

DRESS = 3
FLOOR = 0.3  # far below any threshold with <= 0.1 FP/image here
PAD = 800  # past the largest box a 1024x512 scan reports
E = math.exp(0.12)
VIEWS = [(0, 0, 1), (-0.05, 0, 1), (0.05, 0, 1), (0, -0.05, 1), (0, 0.05, 1), (0, 0, 1 / E), (0, 0, E)]


def padded(peer, path):
    """The grey image at path with PAD pixels of the peer's mean grey around
    it, as the scan reads outside an image; boxes index it moved by PAD."""
    photo = Image.open(path).convert("L")
    img = Image.new("L", (photo.width + 2 * PAD, photo.height + 2 * PAD), round(255 * peer.mean))
    img.paste(photo, (PAD, PAD))
    return img


def windows(peer, img, box, views=VIEWS):
    """The peer's normalised input windows at each of views (centre moves
    and side factors) of box, in a padded image."""
    x0, y0, x1, y1 = (c + PAD for c in box)
    w, h = x1 - x0, y1 - y0
    crops = []
    for dx, dy, s in views:
        s *= peer.context  # the box with the surroundings the verifier was trained to see
        cx, cy, hw, hh = (x0 + x1) / 2 + dx * w, (y0 + y1) / 2 + dy * h, w * s / 2, h * s / 2
        crops.append(peer.crop(img, (cx - hw, cy - hh, cx + hw, cy + hh)))
    return (torch.from_numpy(np.stack(crops))[:, None] / 255 - peer.mean) / peer.std


def probabilities(peer, img, box, views=VIEWS):
    """The verifier's class probabilities, mirror averaged, at each of views
    (centre moves and side factors) of box."""
    x = windows(peer, img, box, views)
    return ((peer.net(x) + peer.net(torch.flip(x, [3]))) / 2)[:, :, 0, 0].numpy()


def boxes(peer, scandir, sets, at_views=probabilities):
    """Each box scored FLOOR or more as (image key, box, score, probabilities
    at the views, as at_views reads them), and each image's (family, dress
    boxes)."""
    out, truth = [], {}
    for s in sets:
        name = os.path.basename(os.path.normpath(s))
        family = name.rstrip("0123456789")
        for t in jsonl(os.path.join(s, "truth.jsonl")):
            truth[(name, t["image"])] = (family, [o["box"] for o in t["objects"] if o["class"] == DRESS])
        for rec in jsonl(os.path.join(scandir, name + ".jsonl")):
            image = os.path.basename(rec["image"])
            img = padded(peer, os.path.join(s, image))
            for d in rec["detections"]:
                if d["score"] >= FLOOR:
                    out.append(((name, image), d["box"], d["score"], at_views(peer, img, d["box"])))
    return out, truth


def score_all(variant, kept, truth, family=None):
    """Recall at <= 0.1 FP/image of the boxes rescored by variant(score, s, probabilities)."""
    by_image = {}
    for key, box, score, p in kept:
        by_image.setdefault(key, []).append((variant(score, score ** 2 / max(p[0][DRESS], 1e-9), p), box))
    ev, images, dresses = [], 0, 0
    for key, (fam, truthboxes) in truth.items():
        if family and fam != family:
            continue
        images, dresses, used = images + 1, dresses + len(truthboxes), set()
        for sc, box in sorted(by_image.get(key, []), key=lambda e: -e[0]):
            hits = [(iou(box, b), j) for j, b in enumerate(truthboxes) if j not in used and iou(box, b) >= 0.5]
            if hits:
                used.add(max(hits)[1])
            ev.append((sc, bool(hits)))
    return recall(ev, images, dresses)


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    torch.set_grad_enabled(False)
    peer = PeerModel(sys.argv[1])
    kept, truth = boxes(peer, sys.argv[2], sys.argv[3:])
    mean = lambda p, n: float(p[:n, DRESS].mean())  # noqa: E731
    variants = {
        "the scan as it is": lambda score, s, p: score,
        "the peer's box alone (the defaults again)": lambda score, s, p: math.sqrt(s * p[0][DRESS]),
        "--verifier-weight 0.65": lambda score, s, p: s ** 0.35 * p[0][DRESS] ** 0.65,
        "--verifier-weight 0.8": lambda score, s, p: s ** 0.2 * p[0][DRESS] ** 0.8,
        "--verifier-views 5 (mean)": lambda score, s, p: math.sqrt(s * mean(p, 5)),
        "--verifier-views 7 (mean)": lambda score, s, p: math.sqrt(s * mean(p, 7)),
        "the least of the 5 views": lambda score, s, p: math.sqrt(s * float(p[:5, DRESS].min())),
    }
    families = sorted({fam for fam, _ in truth.values()})
    print(f"{len(truth)} images, {len(kept)} boxes scored >= {FLOOR}; recall at <= 0.1 FP/image, pooled then " + ", ".join(families))
    for name, v in variants.items():
        figures = [score_all(v, kept, truth, fam) for fam in [None] + families]
        print(f"  {name:44s} " + "  ".join(f"{x:.4f}" for x in figures))


if __name__ == "__main__":
    main()
