#!/usr/bin/env python3
"""What the false positives at a threshold lie on.

usage: fpclass.py DIR THRESHOLD

DIR is a valeval.sh output folder (truth.jsonl and scan.jsonl, pooled).
Detections scoring at least THRESHOLD are matched to dresses best first,
each dress once, at IoU >= 0.5, as eval detect counts them; each one left
over is a false positive, named by the truth object it overlaps most if
that IoU is at least 0.3 ("Dress": a box on a dress that does not frame
it, or a second box on one), else "none" (the photograph alone). The
ones on the photograph alone are then counted by the photograph their
scene was painted on (truth.jsonl's "photo"), with how many of them are
boxes wider than 100 px, larger than any item `fc2conv scenes` paints.
"""
import sys
from collections import Counter

from phase import match_detections, nearest, scans


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    d, thr = sys.argv[1], float(sys.argv[2])
    counts, photos, wide = Counter(), Counter(), 0
    for r, objects, photo in scans(d, with_photo=True):
        for det in match_detections(r["detections"], objects, thr)[1]:
            i = nearest(det["box"], objects)
            counts[objects[i]["label"] if i is not None else "none"] += 1
            if i is None:
                photos[photo] += 1
                wide += det["box"][2] - det["box"][0] > 100
    print(f"{sum(counts.values())} false positives at {thr}:", ", ".join(f"{k} {n}" for k, n in counts.most_common()))
    print(f"on the photograph alone, {wide} wider than 100 px, by photograph:", ", ".join(f"{k} {n}" for k, n in photos.most_common()))


if __name__ == "__main__":
    main()
