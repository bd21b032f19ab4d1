#!/usr/bin/env python3
"""What the false positives at a threshold lie on.

usage: fpclass.py DIR THRESHOLD

DIR is a valeval.sh output folder (truth.jsonl and scan.jsonl, pooled).
Detections scoring at least THRESHOLD are matched to dresses best first,
each dress once, at IoU >= 0.5, as eval detect counts them; each one left
over is a false positive, named by the truth object it overlaps most if
that IoU is at least 0.3 ("Dress": a box on a dress that does not frame
it, or a second box on one), else "none" (the photograph alone).
"""
import sys
from collections import Counter

from phase import iou, scans


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    d, thr = sys.argv[1], float(sys.argv[2])
    counts = Counter()
    for r, objects in scans(d):
        dresses = [o["box"] for o in objects if o["class"] == 3]
        used = set()
        for det in sorted(r["detections"], key=lambda x: -x["score"]):
            if det["score"] < thr:
                continue
            free = [i for i, b in enumerate(dresses) if i not in used and iou(det["box"], b) >= 0.5]
            if free:
                used.add(max(free, key=lambda i: iou(det["box"], dresses[i])))
                continue
            best = max(objects, key=lambda o: iou(det["box"], o["box"]), default=None)
            label = best["label"] if best and iou(det["box"], best["box"]) >= 0.3 else "none"
            counts[label] += 1
    print(f"{sum(counts.values())} false positives at {thr}:", ", ".join(f"{k} {n}" for k, n in counts.most_common()))


if __name__ == "__main__":
    main()
