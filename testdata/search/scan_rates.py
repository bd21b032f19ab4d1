#!/usr/bin/env python3
"""How often a scan calls each kind of item a dress: the scan's own
per-class rates, to set beside `fc2conv eval classify`'s single centred view.

usage: scan_rates.py TRUTH.jsonl SCAN.jsonl THRESHOLD

TRUTH is `fc2conv scenes` ground truth, SCAN a `fc2conv scan` jsonl output
(scanned with a low --threshold). A dress counts when a detection scored
>= THRESHOLD frames it at IoU >= 0.5; any other item when such a detection
lies mostly over it and overlaps no dress (detect_errors.py's rule). On
scenes of held-out items on a black photograph this asks what the scan's
many views (window positions, pyramid levels) do to the classifier's
errors, apart from photographs.
"""
import os
import sys
from collections import Counter

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import detect_errors as de  # noqa: E402


def called(det, k, objs):
    """Whether detection det counts as calling item k of objs a dress."""
    o = objs[k]
    if o["class"] == de.DRESS:
        return de.iou(det["box"], o["box"]) >= 0.5
    return de.garment(det["box"], objs)[0] == k


def calls(truth_path, scan_path, t):
    """Yields each truth item of the scenes and whether a detection scored
    >= t calls it a dress."""
    truth = de.load(truth_path, "objects")
    scans = de.load(scan_path, "detections")
    for img, objs in truth.items():
        dets = [d for d in scans.get(img, []) if d["score"] >= t]
        for k, o in enumerate(objs):
            yield o, any(called(d, k, objs) for d in dets)


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    t = float(sys.argv[3])
    items, hits = Counter(), Counter()
    for o, hit in calls(sys.argv[1], sys.argv[2], t):
        label = de.label_of(o)
        items[label] += 1
        hits[label] += hit
    print("called dress at >= %g, per class:" % t)
    for label in sorted(items):
        print("  %-12s %.4f  (%d of %d)" % (label, hits[label] / items[label], hits[label], items[label]))


if __name__ == "__main__":
    main()
