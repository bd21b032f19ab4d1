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

from phase import match, scans


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    d, thr = sys.argv[1], float(sys.argv[2])
    counts = Counter()
    for r, objects in scans(d):
        for i in match(r["detections"], objects, thr)[1]:
            counts[objects[i]["label"] if i is not None else "none"] += 1
    print(f"{sum(counts.values())} false positives at {thr}:", ", ".join(f"{k} {n}" for k, n in counts.most_common()))


if __name__ == "__main__":
    main()
