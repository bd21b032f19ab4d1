#!/usr/bin/env python3
"""What painting items on photographs costs a scan, at a matched rate of
other items called dress: the scan's dress recall against the recall the
same detector reaches on raw items (`fc2conv eval classify`) while calling
no larger share of the other items a dress. A diagnostic; it chooses
nothing.

usage: scene_gap.py TRUTH.jsonl SCAN.jsonl THRESHOLD RAW.json...

TRUTH and SCAN as scan_rates.py's (a scan at a low --threshold; items
counted by its rule). Each RAW.json is `fc2conv eval classify --json`
at some --threshold, on the split the scenes' items come from (t10k for
test scenes, val for validation ones). Prints the scan's dress recall and
its share of other items called dress at THRESHOLD, each raw point, and
the gap to the raw point with the highest recall whose share is no
larger. Sweep the raw thresholds finely enough that one lies near the
scan's share.
"""
import json
import sys

from scan_rates import calls, de


def scene_rates(truth_path, scan_path, t):
    """The scan's dress recall and its share of other items called dress."""
    dresses = found = others = false = 0
    for o, hit in calls(truth_path, scan_path, t):
        if o["class"] == de.DRESS:
            dresses, found = dresses + 1, found + hit
        else:
            others, false = others + 1, false + hit
    return found / dresses, false / others, (found, dresses, false, others)


def main():
    if len(sys.argv) < 5:
        sys.exit(__doc__)
    recall, share, (found, dresses, false, others) = scene_rates(sys.argv[1], sys.argv[2], float(sys.argv[3]))
    print("scan at >= %s: dress recall %.4f (%d of %d), other items called dress %.4f (%d of %d)"
          % (sys.argv[3], recall, found, dresses, share, false, others))
    best = None
    for path in sys.argv[4:]:
        with open(path) as f:
            r = json.load(f)
        rate = r["fp"] / (r["fp"] + r["tn"])
        print("raw items at >= %.4g: recall %.4f, other items called dress %.4f (%d of %d)"
              % (r["threshold"], r["recall"], rate, r["fp"], r["fp"] + r["tn"]))
        if rate <= share and (best is None or r["recall"] > best[1]):
            best = (r["threshold"], r["recall"])
    if best is None:
        sys.exit("no raw point calls as few other items a dress as the scan; add higher thresholds")
    print("the scan's recall - raw items' at >= %.4g (no larger share): %+.4f" % (best[0], recall - best[1]))


if __name__ == "__main__":
    main()
