#!/usr/bin/python3
"""Rescores each detection of a scan by classifying the image under its
(voted) box, resampled to the model's window, so that the idea can be
scored on validation scenes without changing the detector.

usage: rescore.py MODEL SCAN.jsonl SETDIR VARIANT OUT.jsonl

MODEL is the converted model the scan used (.safetensors, FCN form), run in
PyTorch as peermodel.py says; SETDIR holds the scan's
images. The crop is resampled bilinearly (PIL, antialiased when shrinking,
as the detector's pyramid is) and mirror averaged as the scan is; outside
the image it reads the mean pixel, as the scan's padding does. VARIANT
sets the new score from the scan's s and the crop's r:
  r     r alone
  avg   (s + r) / 2
  geo   sqrt(s r)
  min   min(s, r)
  j     r averaged over 9 crops shifted by -1, 0, +1 window pixels
  javg  (s + j) / 2
  logit2, logit3  sigmoid((logit s + logit r) / 2), r clamped to [eps, 1 - eps],
        eps 0.01 and 0.001: the two stages fused in log-odds (rule 21)
Put OUT.jsonl in a folder as SET.jsonl and testdata/search/valeval.sh
scores it (it rescans only sets it does not find there).
"""
import json
import math
import os
import sys

from PIL import Image

from peermodel import PeerModel

SHIFTS = [(dx, dy) for dx in (-1, 0, 1) for dy in (-1, 0, 1)]
CENTRE = SHIFTS.index((0, 0))
PAD = 800  # past the largest box a 1024x512 scan reports


def logit(x):
    return math.log(x / (1 - x))


def logodds(s, r, eps):
    s = min(max(s, 1e-12), 1 - 1e-12)
    r = min(max(r, eps), 1 - eps)
    return 1 / (1 + math.exp(-(logit(s) + logit(r)) / 2))


def combine(variant, s, p):
    r, j = float(p[CENTRE]), float(p.mean())
    if variant.startswith("logit"):
        return logodds(s, r, 10 ** -int(variant[5:]))
    return {"r": r, "avg": (s + r) / 2, "geo": (s * r) ** 0.5, "min": min(s, r),
            "j": j, "javg": (s + j) / 2}[variant]


def main():
    model, scan, setdir, variant, out = sys.argv[1:6]
    peer = PeerModel(model)
    with open(out, "w") as f:
        for line in open(scan):
            rec = json.loads(line)
            photo = Image.open(os.path.join(setdir, os.path.basename(rec["image"]))).convert("L")
            img = Image.new("L", (photo.width + 2 * PAD, photo.height + 2 * PAD), round(255 * peer.mean))
            img.paste(photo, (PAD, PAD))
            crops = []
            for d in rec["detections"]:
                x0, y0, x1, y1 = (c + PAD for c in d["box"])
                px = (x1 - x0) / peer.window
                for dx, dy in SHIFTS:
                    box = (x0 + dx * px, y0 + dy * px, x1 + dx * px, y1 + dy * px)
                    crops.append(peer.crop(img, box))
            if crops:
                p = peer.scores(crops).reshape(-1, len(SHIFTS))
                for d, pd in zip(rec["detections"], p):
                    d["score"] = round(combine(variant, d["score"], pd), 4)
                rec["detections"].sort(key=lambda d: -d["score"])
            f.write(json.dumps(rec) + "\n")


if __name__ == "__main__":
    main()
