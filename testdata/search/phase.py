#!/usr/bin/env python3
"""Recall of dresses by where their size falls between pyramid levels.

usage: phase.py THRESHOLD DIR...

Each DIR is a valeval.sh output folder (truth.jsonl and scan.jsonl,
pooled). A dress of side s px meets the 28 px window exactly at a level
when log_1.25(s/28) is whole; its fractional part, the phase, says how far
between two levels it falls (0.5: seen at 1.118 of the window at one level
and 0.894 at the next). A dress counts as found when a detection scoring
at least THRESHOLD overlaps its box at IoU >= 0.5, as eval detect counts
it. Prints, per fifth of the phase and per 20 px of size, how many dresses
there are and the share found.
"""
import json
import math
import os
import sys
from collections import defaultdict

WINDOW, STEP = 28, 1.25


def iou(a, b):
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0


def match_detections(detections, objects, thr):
    """Matches the detections scoring at least thr to the dresses among
    objects as eval detect counts them: best score first, each dress once,
    at IoU >= 0.5, a detection taking the free dress it overlaps most.
    Returns the matched (detection, dress index in objects) pairs and the
    detections left over, each best score first."""
    found, matched, left = set(), [], []
    for det in sorted((x for x in detections if x["score"] >= thr), key=lambda x: -x["score"]):
        free = [i for i, o in enumerate(objects) if o["class"] == 3 and i not in found and iou(det["box"], o["box"]) >= 0.5]
        if free:
            i = max(free, key=lambda i: iou(det["box"], objects[i]["box"]))
            found.add(i)
            matched.append((det, i))
        else:
            left.append(det)
    return matched, left


def match(detections, objects, thr):
    """match_detections, as indices: the matched dresses' indices in
    objects, and for each detection left over (best score first) the index
    of the object it overlaps most if that IoU is at least 0.3, else None
    (the photograph alone)."""
    matched, left = match_detections(detections, objects, thr)
    return {i for _, i in matched}, [nearest(det["box"], objects) for det in left]


def nearest(box, objects):
    """The index of the object box overlaps most if that IoU is at least
    0.3, else None (the photograph alone)."""
    best = max(range(len(objects)), key=lambda i: iou(box, objects[i]["box"]), default=None)
    return best if best is not None and iou(box, objects[best]["box"]) >= 0.3 else None


def scans(d, with_photo=False):
    """Yields each scan record of a valeval.sh folder with its image's
    truth objects, and with_photo the photograph its scene was painted on."""
    with open(d + "/truth.jsonl") as f:
        truth = {r["image"]: r for r in map(json.loads, f)}
    with open(d + "/scan.jsonl") as f:
        for r in map(json.loads, f):
            t = truth[r["image"].rsplit("/", 1)[-1]]
            yield (r, t["objects"], t.get("photo")) if with_photo else (r, t["objects"])


def set_scans(scandir, sets):
    """Yields (set name, truth record, scan record) for every scene scanned
    whole, each SETDIR in sets being a scenes folder and its scan
    SCANDIR/NAME.jsonl, NAME the SETDIR's base name (as valeval.sh and
    rulescans.sh write them)."""
    for setdir in sets:
        name = os.path.basename(setdir.rstrip("/"))
        with open(os.path.join(setdir, "truth.jsonl")) as f:
            truth = {os.path.basename(r["image"]): r for r in map(json.loads, f)}
        with open(os.path.join(scandir, name + ".jsonl")) as f:
            for rec in map(json.loads, f):
                if "detections" in rec:
                    yield name, truth[os.path.basename(rec["image"])], rec


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    thr = float(sys.argv[1])
    by_phase = defaultdict(lambda: [0, 0])
    by_size = defaultdict(lambda: [0, 0])
    for d in sys.argv[2:]:
        for r, objects in scans(d):
            for o in objects:
                if o["class"] != 3:
                    continue
                side = o["box"][2] - o["box"][0]
                phase = (math.log(side / WINDOW) / math.log(STEP)) % 1
                found = any(x["score"] >= thr and iou(x["box"], o["box"]) >= 0.5 for x in r["detections"])
                for table, key in ((by_phase, int(phase * 5)), (by_size, side // 20 * 20)):
                    table[key][0] += 1
                    table[key][1] += found
    print("phase      dresses  recall")
    for k in sorted(by_phase):
        n, hit = by_phase[k]
        print(f"{k / 5:.1f}-{(k + 1) / 5:.1f}  {n:8d}  {hit / n:.3f}")
    print("size px    dresses  recall")
    for k in sorted(by_size):
        n, hit = by_size[k]
        print(f"{k:3d}-{k + 19:<3d}   {n:8d}  {hit / n:.3f}")


if __name__ == "__main__":
    main()
