#!/usr/bin/python3
"""A box regressor that frames a scan's boxes before the verifier scores
them: an offline diagnostic (models/SEARCH.md, "A box regressor before
the verifier"). It chooses nothing by itself.

usage: recentre.py train CROPS.bin OUT.pt [EPOCHS]
       recentre.py eval REGRESSOR.pt VERIFIER SCANDIR OUTDIR SETDIR...

train: CROPS.bin is paintcrops' -targets output (items cut at jittered
boxes with the verifier's context). The regressor has the verifier's
shape (bn3s: three 3x3 convolutions, two pools, a 128-wide head) with
batch norm and three outputs: the truth box's centre offset in x and y
(fractions of the box side) and the log of its side over the box's. It
learns every item class (the box, not the class, is what it predicts);
background boxes are left out. A twentieth is held out and the share of
the offsets' variance it explains is printed, per class.

eval: SCANDIR holds each set's scan as SET.jsonl, made with the
defaults (--threshold 0.05; the records carry scan_score). VERIFIER is
that verifier's converted file, run in PyTorch as peermodel.py says. For
each box scored FLOOR or more, each variant below rescores it as
sqrt(scan_score * least of the verifier's 27 views) at the box it names,
and writes OUTDIR/VARIANT/SET.jsonl, boxes kept by NMS at the detector's
0.3 after rescoring, for `fc2conv eval detect`:
  asis      the original box (reproduces the scan: a check)
  moved1    the box moved once by the regressor (mirror averaged)
  moved2    moved twice
  scoreonly scored at moved2's box, reported at the original box
  boxonly   scored at the original box (asis), reported at moved1's box
  truth     moved onto the truth box of any item it overlaps at IoU >= 0.3
            (an oracle: what a perfect regressor would give)
"""
import json
import math
import os
import sys

import numpy as np
import torch
from torch import nn

from ladder import iou, jsonl
from peermodel import PeerModel
from verifier_views import padded, probabilities, windows

FLOOR = 0.1
NMS = 0.3
E = math.exp(0.12)
VIEWS27 = [(dx, dy, s) for dx in (-0.05, 0, 0.05) for dy in (-0.05, 0, 0.05) for s in (1 / E, 1, E)]
REC = 1 + 784 + 12
SCALE = torch.tensor([0.1, 0.1, 0.2])  # the targets' spread in training, so the three losses weigh alike
CLASSES = ["T-shirt", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Boot"]


def regressor():
    def block(i, o, k):
        return [nn.Conv2d(i, o, k), nn.BatchNorm2d(o), nn.ReLU()]
    return nn.Sequential(*block(1, 16, 3), *block(16, 32, 3), nn.MaxPool2d(2), *block(32, 32, 3), nn.MaxPool2d(2),
                         *block(32, 128, 5), nn.Conv2d(128, 3, 1), nn.Flatten())


def load_crops(path):
    raw = np.fromfile(path, np.uint8)
    if len(raw) % REC:
        sys.exit(f"{path}: {len(raw)} bytes is not a whole number of {REC}-byte items (paintcrops -targets?)")
    raw = raw.reshape(-1, REC)
    raw = raw[raw[:, 0] < 10]
    x = torch.from_numpy((raw[:, 1:785].astype(np.float32) / 255 - 0.5) / 0.5).view(-1, 1, 28, 28)
    t = torch.from_numpy(raw[:, 785:].copy().view(np.float32))
    return x, t, raw[:, 0]


def mirrored(x, t):
    """x and its targets mirrored left to right."""
    return torch.flip(x, [3]), t * torch.tensor([-1.0, 1.0, 1.0])


def train(path, out, epochs):
    torch.set_grad_enabled(True)  # the peer loaders import with it off
    torch.manual_seed(1)
    torch.set_num_threads(2)
    x, t, cls = load_crops(path)
    n = len(x)
    held = np.arange(n) % 20 == 0
    xt, tt = x[~held], t[~held]
    net = regressor()
    opt = torch.optim.Adam(net.parameters(), 1e-3)
    batch = 256
    steps = epochs * (len(xt) // batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, 3e-3, total_steps=steps)
    for ep in range(epochs):
        net.train()
        perm = torch.randperm(len(xt))
        total = 0.0
        for i in range(len(xt) // batch):
            idx = perm[i * batch:(i + 1) * batch]
            xb, tb = xt[idx], tt[idx]
            flip = torch.rand(len(idx)) < 0.5
            xf, tf = mirrored(xb[flip], tb[flip])
            xb, tb = xb.clone(), tb.clone()
            xb[flip], tb[flip] = xf, tf
            loss = nn.functional.smooth_l1_loss(net(xb) / SCALE, tb / SCALE, beta=0.5)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item()
        print(f"epoch {ep + 1}: loss {total / (len(xt) // batch):.4f}", flush=True)
    net.eval()
    with torch.no_grad():
        pred = predict(net, x[held])
    res, tv = (pred - t[held]).numpy(), t[held].numpy()
    c = cls[held]
    print("held out: residual std (target std) of dx, dy, log side; share of variance explained")
    for name, m in [("all", np.ones(len(c), bool))] + [(CLASSES[k], c == k) for k in range(10)]:
        r, v = res[m].std(0), tv[m].std(0)
        print(f"  {name:9s} n {m.sum():6d}  " + "  ".join(f"{a:.4f} ({b:.4f}) {1 - (a / b) ** 2:.2f}" for a, b in zip(r, v)))
    torch.save(net.state_dict(), out)


def predict(net, x):
    """Offsets, averaged over x and its mirror."""
    xf, _ = mirrored(x, torch.zeros(len(x), 3))
    pf = net(xf) * torch.tensor([-1.0, 1.0, 1.0])
    return (net(x) + pf) / 2


def least27(peer, img, box):
    """The verifier's least p(positive) over the scan's 27 views of box."""
    return float(probabilities(peer, img, box, VIEWS27)[:, peer.positive].min())


def truth_box(box, truth):
    """The truth box of the item box overlaps most, if at IoU >= 0.3; else box."""
    best = max(truth, key=lambda t: iou(box, t), default=None)
    return best if best is not None and iou(box, best) >= 0.3 else box


def moved(net, peer, img, box):
    off = predict(net, windows(peer, img, box, [(0, 0, 1)]))[0].numpy()
    side = box[2] - box[0]
    cx, cy = (box[0] + box[2]) / 2 + off[0] * side, (box[1] + box[3]) / 2 + off[1] * side
    half = side * math.exp(float(off[2])) / 2
    return [cx - half, cy - half, cx + half, cy + half]


def nms(dets):
    kept = []
    for d in sorted(dets, key=lambda d: -d["score"]):
        if all(iou(d["box"], k["box"]) < NMS for k in kept):
            kept.append(d)
    return kept


def rescore(peer, scandir, outdir, sets, variants):
    """For each set, each box of SCANDIR/SET.jsonl scored FLOOR or more is
    passed to variants(img, detection, truth boxes), which returns one
    rescored detection per variant name; each variant's boxes, kept by NMS,
    go to OUTDIR/VARIANT/SET.jsonl. img is the scene padded for windows."""
    for s in sets:
        name = os.path.basename(os.path.normpath(s))
        truth = {t["image"]: [o["box"] for o in t["objects"]] for t in jsonl(os.path.join(s, "truth.jsonl"))}
        outs = {}
        for rec in jsonl(os.path.join(scandir, name + ".jsonl")):
            image = os.path.basename(rec["image"])
            img = padded(peer, os.path.join(s, image))
            dets = {}
            for d in rec["detections"]:
                if d["score"] < FLOOR:
                    continue
                for v, det in variants(img, d, truth[image]).items():
                    dets.setdefault(v, []).append(det)
            for v in dets.keys() | outs.keys():
                outs.setdefault(v, []).append({"image": rec["image"], "width": rec["width"], "height": rec["height"],
                                               "detections": nms(dets.get(v, []))})
        for v, recs in outs.items():
            os.makedirs(os.path.join(outdir, v), exist_ok=True)
            with open(os.path.join(outdir, v, name + ".jsonl"), "w") as f:
                for r in recs:
                    f.write(json.dumps(r) + "\n")
        print(f"{name}: done", flush=True)


def detection(box, s0, p):
    """A verified box as a scan records it, for eval detect and stages.py."""
    return {"box": box, "score": math.sqrt(s0 * p), "scan_score": s0, "verifier_p": p}


def evaluate(reg, verifier, scandir, outdir, sets):
    torch.set_grad_enabled(False)
    torch.set_num_threads(1)
    peer = PeerModel(verifier)
    net = regressor()
    net.load_state_dict(torch.load(reg))
    net.eval()

    worst = 0.0  # how far this pipeline's score at the scan's box is from the scan's

    def variants(img, d, truth):
        nonlocal worst
        s0, box = d["scan_score"], d["box"]
        p0 = least27(peer, img, box)
        worst = max(worst, abs(math.sqrt(s0 * p0) - d["score"]))
        b1 = moved(net, peer, img, box)
        b2 = moved(net, peer, img, b1)
        p2 = least27(peer, img, b2)
        bt = truth_box(box, truth)
        return {"asis": detection(box, s0, p0), "moved1": detection(b1, s0, least27(peer, img, b1)),
                "moved2": detection(b2, s0, p2), "scoreonly": detection(box, s0, p2),
                "boxonly": detection(b1, s0, p0), "truth": detection(bt, s0, least27(peer, img, bt))}
    rescore(peer, scandir, outdir, sets, variants)
    print(f"largest |asis - scan|: {worst:.4f}")


def main():
    a = sys.argv[1:]
    if len(a) >= 3 and a[0] == "train":
        train(a[1], a[2], int(a[3]) if len(a) > 3 else 6)
    elif len(a) >= 6 and a[0] == "eval":
        evaluate(a[1], a[2], a[3], a[4], a[5:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
