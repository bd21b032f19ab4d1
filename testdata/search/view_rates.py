#!/usr/bin/env python3
"""How often the classifier calls each kind of item a dress, view by view:
the item's truth box cut at a window size and position of the kinds a scan
takes, resampled to the window and scored (mirror averaged, as the scan is).

usage: view_rates.py MODEL SCENEDIR THRESHOLD [MAX_ITEMS]

MODEL is a converted model (.safetensors, FCN form), run in PyTorch as
peermodel.py says; SCENEDIR an `fc2conv scenes`
folder (truth.jsonl and the PNGs). For each item and each size (the item
at 0.8, 0.894, 1, 1.118 and 1.25 of the window: one pyramid level spans
0.894-1.118, the next reaches 0.72 and 1.4) and each shift (0 or 2 window
pixels, half the stride, in each direction) it prints, per class, the share
of items scored >= THRESHOLD centred and at the worst of the nine shifts.
Outside the image a crop reads black.
"""
import json
import os
import sys
from collections import defaultdict

from PIL import Image

from peermodel import PeerModel

SIZES = [0.8, 0.894, 1.0, 1.118, 1.25]
SHIFTS = [(dx, dy) for dy in (-2, 0, 2) for dx in (-2, 0, 2)]
PAD = 200  # black past the edges, wider than any window here
KINDS = ["Dress", "Coat", "Shirt", "T-shirt/top", "Pullover"]


def main():
    if len(sys.argv) not in (4, 5):
        sys.exit(__doc__)
    model, scenes, threshold = sys.argv[1], sys.argv[2], float(sys.argv[3])
    limit = int(sys.argv[4]) if len(sys.argv) == 5 else None
    peer = PeerModel(model)
    centred, worst, items = defaultdict(int), defaultdict(int), defaultdict(int)
    with open(os.path.join(scenes, "truth.jsonl")) as f:
        records = [json.loads(line) for line in f]
    for rec in records:
        photo = Image.open(os.path.join(scenes, rec["image"])).convert("L")
        img = Image.new("L", (photo.width + 2 * PAD, photo.height + 2 * PAD), 0)
        img.paste(photo, (PAD, PAD))
        for o in rec["objects"]:
            label = o.get("label")
            if label not in KINDS or (limit and items[label, 1.0] >= limit):
                continue
            x0, y0, x1, y1 = o["box"]
            cx, cy, side = (x0 + x1) / 2 + PAD, (y0 + y1) / 2 + PAD, x1 - x0
            crops = []
            for r in SIZES:
                w = side / r
                px = w / peer.window
                for dx, dy in SHIFTS:
                    box = (cx - w / 2 + dx * px, cy - w / 2 + dy * px, cx + w / 2 + dx * px, cy + w / 2 + dy * px)
                    crops.append(peer.crop(img, box))
            p = peer.scores(crops).reshape(len(SIZES), len(SHIFTS))
            for k, r in enumerate(SIZES):
                items[label, r] += 1
                centred[label, r] += p[k, SHIFTS.index((0, 0))] >= threshold
                worst[label, r] += p[k].max() >= threshold
    print("called dress at >= %g: centred / best of 9 shifts (0 or 2 window px), per item size in the window" % threshold)
    print("%-12s %s" % ("", "  ".join("%11s" % ("%.3f" % r) for r in SIZES)))
    for label in KINDS:
        n = items[label, 1.0]
        if n:
            print("%-12s %s  (%d items)" % (label, "  ".join(
                "%5.3f %5.3f" % (centred[label, r] / n, worst[label, r] / n) for r in SIZES), n))


if __name__ == "__main__":
    main()
