#!/usr/bin/python3
"""Recall and false positives per image of a dress scan, photograph by photograph.

usage: python3 testdata/search/byphoto.py THRESHOLD SCANDIR SETDIR...

Each SETDIR is an `fc2conv scenes` folder (truth.jsonl names each scene's
photograph); its scan is SCANDIR/NAME.jsonl, NAME being the SETDIR's base
name (as testdata/search/valeval.sh and the model card's scan commands
write them). Detections scored at or above THRESHOLD are matched to the
dresses as `fc2conv eval detect` does (phase.match); the rest are false
positives. Prints one line per photograph and one for all, so that
a recall figure can be traced to the backgrounds that cost it. Standard
library only; nothing here is used by the Go code or its tests.
"""
import collections
import sys

from phase import match, set_scans


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    threshold, scandir, sets = float(sys.argv[1]), sys.argv[2], sys.argv[3:]
    # photo -> [scenes, dresses, found, false positives]
    stats = collections.defaultdict(lambda: [0, 0, 0, 0])
    for _, t, rec in set_scans(scandir, sets):
        st = stats[t["photo"]]
        found, left = match(rec["detections"] or [], t["objects"], threshold)
        st[0] += 1
        st[1] += sum(o["class"] == 3 for o in t["objects"])
        st[2] += len(found)
        st[3] += len(left)
    total = [0, 0, 0, 0]
    for photo, st in sorted(stats.items()):
        print(f"{photo:24s} scenes {st[0]:5d}  recall {st[2] / max(1, st[1]):.3f}  FP/image {st[3] / max(1, st[0]):.3f}")
        total = [a + b for a, b in zip(total, st)]
    print(f"{'all':24s} scenes {total[0]:5d}  recall {total[2] / max(1, total[1]):.3f}  FP/image {total[3] / max(1, total[0]):.3f}")


if __name__ == "__main__":
    main()
