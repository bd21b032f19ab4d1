#!/usr/bin/python3
"""Recall and false positives per image of a dress scan, photograph by photograph.

usage: python3 testdata/search/byphoto.py THRESHOLD SCANDIR SETDIR...

Each SETDIR is an `fc2conv scenes` folder (truth.jsonl names each scene's
photograph); its scan is SCANDIR/NAME.jsonl, NAME being the SETDIR's base
name (as testdata/search/valeval.sh and the model card's scan commands
write them). Detections scored at or above THRESHOLD are matched to the
dresses greedily, best score first, each to the unmatched dress it
overlaps most at IoU >= 0.5, as `fc2conv eval detect` does; the rest are
false positives. Prints one line per photograph and one for all, so that
a recall figure can be traced to the backgrounds that cost it. Standard
library only; nothing here is used by the Go code or its tests.
"""
import collections
import json
import os
import sys


def iou(a, b):
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    threshold, scandir, sets = float(sys.argv[1]), sys.argv[2], sys.argv[3:]
    # photo -> [scenes, dresses, found, false positives]
    stats = collections.defaultdict(lambda: [0, 0, 0, 0])
    for setdir in sets:
        name = os.path.basename(setdir.rstrip("/"))
        truth = {}
        with open(os.path.join(setdir, "truth.jsonl")) as f:
            for line in f:
                rec = json.loads(line)
                truth[os.path.basename(rec["image"])] = rec
        with open(os.path.join(scandir, name + ".jsonl")) as f:
            for line in f:
                rec = json.loads(line)
                if "detections" not in rec:
                    continue
                t = truth[os.path.basename(rec["image"])]
                st = stats[t["photo"]]
                st[0] += 1
                dresses = [o["box"] for o in t["objects"] if o["class"] == 3]
                st[1] += len(dresses)
                free = set(range(len(dresses)))
                dets = [d for d in rec["detections"] or [] if d["score"] >= threshold]
                for d in sorted(dets, key=lambda d: -d["score"]):
                    best, best_iou = None, 0.5
                    for i in free:
                        v = iou(d["box"], dresses[i])
                        if v >= best_iou:
                            best, best_iou = i, v
                    if best is None:
                        st[3] += 1
                    else:
                        free.discard(best)
                        st[2] += 1
    total = [0, 0, 0, 0]
    for photo, st in sorted(stats.items()):
        print(f"{photo:24s} scenes {st[0]:5d}  recall {st[2] / max(1, st[1]):.3f}  FP/image {st[3] / max(1, st[0]):.3f}")
        total = [a + b for a, b in zip(total, st)]
    print(f"{'all':24s} scenes {total[0]:5d}  recall {total[2] / max(1, total[1]):.3f}  FP/image {total[3] / max(1, total[0]):.3f}")


if __name__ == "__main__":
    main()
