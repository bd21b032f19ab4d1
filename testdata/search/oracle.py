#!/usr/bin/env python3
"""What the classifier could reach if the detector localised perfectly:
one detection per truth item of each scene, boxed at its truth box and
scored from the views a scan could take of it, written as a scan that
`fc2conv eval detect` scores. With no windows on the photograph alone and
no second boxes, its recall at <= 0.1 FP/image bounds what pooling the
scan's views could give.

usage: oracle.py MODEL VIEWS OUTDIR SCENEDIR...

MODEL is a converted model (.safetensors, FCN form), run in PyTorch as
peermodel.py says. VIEWS:
  centre  the item's truth box alone, resampled to the window (the item
          filling it, as training's centred positives at scale 1)
  max     the best of the views one pyramid level takes near the item:
          the box at 0.894, 1 and 1.118 of its size, each shifted by 0
          or 2 window pixels (half the stride) in each direction (27)
For each SCENEDIR (an `fc2conv scenes` folder) it writes OUTDIR/SET.jsonl,
and OUTDIR/truth.jsonl and OUTDIR/scan.jsonl pooled with the scene names
prefixed by the set's, as valeval.sh does. Outside the image a crop reads
the mean pixel, as the scan's padding does.
"""
import json
import os
import sys

from PIL import Image

from peermodel import PeerModel, crop

SIZES = {"centre": [1.0], "max": [0.894, 1.0, 1.118]}
SHIFTS = {"centre": [(0, 0)], "max": [(dx, dy) for dy in (-2, 0, 2) for dx in (-2, 0, 2)]}
PAD = 200  # past any view here


def views(box, sizes, shifts, window):
    x0, y0, x1, y1 = box
    cx, cy, side = (x0 + x1) / 2, (y0 + y1) / 2, max(x1 - x0, y1 - y0)
    for s in sizes:
        half, px = side * s / 2, side * s / window
        for dx, dy in shifts:
            x, y = cx + dx * px + PAD, cy + dy * px + PAD
            yield (x - half, y - half, x + half, y + half)


def write_scans(score, sizes, shifts, window, pad_value, out, scenedirs):
    """Scores every truth item of each scene set by score(crops) (one
    value per crop) over its views, keeps each item's best, and writes
    OUTDIR/SET.jsonl and the pooled truth.jsonl and scan.jsonl."""
    n = len(sizes) * len(shifts)
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "truth.jsonl"), "w") as truth_all, \
            open(os.path.join(out, "scan.jsonl"), "w") as scan_all:
        for scenes in scenedirs:
            name = os.path.basename(os.path.normpath(scenes))
            with open(os.path.join(scenes, "truth.jsonl")) as f, \
                    open(os.path.join(out, name + ".jsonl"), "w") as per_set:
                for line in f:
                    rec = json.loads(line)
                    photo = Image.open(os.path.join(scenes, rec["image"])).convert("L")
                    img = Image.new("L", (photo.width + 2 * PAD, photo.height + 2 * PAD), pad_value)
                    img.paste(photo, (PAD, PAD))
                    crops = [crop(img, b, window)
                             for o in rec["objects"] for b in views(o["box"], sizes, shifts, window)]
                    scores = score(crops).reshape(-1, n).max(axis=1) if crops else []
                    dets = [{"box": o["box"], "score": round(float(s), 4)}
                            for o, s in zip(rec["objects"], scores)]
                    scan = {"image": rec["image"], "detections": dets}
                    per_set.write(json.dumps(scan) + "\n")
                    rec["image"] = name + "_" + rec["image"]
                    scan["image"] = rec["image"]
                    truth_all.write(json.dumps(rec) + "\n")
                    scan_all.write(json.dumps(scan) + "\n")


def main():
    if len(sys.argv) < 5 or sys.argv[2] not in SIZES:
        sys.exit(__doc__)
    model, kind, out = sys.argv[1:4]
    peer = PeerModel(model)
    write_scans(peer.scores, SIZES[kind], SHIFTS[kind], peer.window, round(255 * peer.mean), out, sys.argv[4:])


if __name__ == "__main__":
    main()
