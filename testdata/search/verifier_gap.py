#!/usr/bin/env python3
"""Where a detector loses against a classifier scored at the truth boxes.

usage: verifier_gap.py TRUTH SCAN THRESHOLD ORACLE ORACLE_THRESHOLD

TRUTH and SCAN are a valeval.sh folder's pooled truth.jsonl and scan.jsonl,
THRESHOLD the scan's operating point (eval detect's "lowest threshold with
<= 0.1 FP/image"); ORACLE is oracle.py's scan.jsonl of the same scenes (one
score per truth item, in truth order) and ORACLE_THRESHOLD its operating
point. Prints the dresses each misses, and the scan's false positives at
THRESHOLD by what they sit on: an item at IoU >= 0.5 (its label), part of
a dress ("dress-part") or of another item ("overlap-LABEL", IoU 0.1 to
0.5), or the photograph alone. For the false positives on a garment at its
own box it also counts how many the oracle rejects at that garment's truth
box (scores below ORACLE_THRESHOLD): those are the ones a verifier that
framed the box as the truth does would remove.
"""
import json
import sys
from collections import Counter


def load(path):
    return {r["image"].split("/")[-1]: r for r in map(json.loads, open(path))}


def iou(a, b):
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    i = ix * iy
    return i / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - i)


def main():
    truth, scan = load(sys.argv[1]), load(sys.argv[2])
    thr = float(sys.argv[3])
    oracle, othr = load(sys.argv[4]), float(sys.argv[5])
    dresses = both = scan_only = oracle_only = 0
    fps = Counter()
    garments = rejected = 0
    for name, t in truth.items():
        objs = t["objects"]
        dets = scan.get(name, {"detections": []})["detections"]
        scores = oracle[name]["detections"]
        for k, o in enumerate(objs):
            if o["class"] != 3:
                continue
            dresses += 1
            best = max([d["score"] for d in dets if iou(d["box"], o["box"]) >= 0.5] or [0])
            missed, omissed = best < thr, scores[k]["score"] < othr
            both += missed and omissed
            scan_only += missed and not omissed
            oracle_only += omissed and not missed
        for d in dets:
            if d["score"] < thr:
                continue
            overlap, k = max([(iou(d["box"], o["box"]), k) for k, o in enumerate(objs)] or [(0, -1)])
            if overlap >= 0.5:
                if objs[k]["class"] != 3:
                    fps[objs[k]["label"]] += 1
                    garments += 1
                    rejected += scores[k]["score"] < othr
            elif overlap > 0.1:
                fps["dress-part" if objs[k]["class"] == 3 else "overlap-" + objs[k]["label"]] += 1
            else:
                fps["photograph"] += 1
    print(f"{dresses} dresses; missed by both {both}, by the scan only {scan_only}, by the oracle only {oracle_only}")
    print(f"scan's false positives at {thr}: {sum(fps.values())}")
    for label, n in fps.most_common():
        print(f"  {label}: {n}")
    print(f"of the {garments} on a garment at its own box, the oracle scores {rejected} below {othr} at the garment's truth box")


if __name__ == "__main__":
    main()
