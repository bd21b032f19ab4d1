#!/usr/bin/env python3
"""NMS again after box voting, offline, on a valeval.sh folder's scans.

usage: renms.py IN_DIR OUT_DIR IOU [CONTAIN | merge | mergehalf]

Reads IN_DIR/scan.jsonl and truth.jsonl (pooled, from valeval.sh), keeps
each record's detections best first, dropping any whose IoU with a kept
one exceeds IOU (the detector's --nms, 0.3 by default) and, when CONTAIN
is given, any whose intersection with a kept one covers at least CONTAIN
of its own area; with "merge" a box so dropped is merged into the first
kept one it overlaps, which becomes the score-weighted mean of the boxes
merged into it (score and scale kept); with "mergehalf" only a box
scoring at least half as much as that kept one is merged, the others are
dropped (the form a detector can use whatever its threshold). Writes OUT_DIR/scan.jsonl and a
copy of truth.jsonl, to be scored with `fc2conv eval detect`. The
detector votes after its NMS, and two boxes kept on one object can
converge; this asks whether a second NMS on the voted boxes removes them.
"""
import json
import os
import shutil
import sys

from phase import iou


def covered(a, b):
    """The share of box a's area that box b covers."""
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    own = (a[2] - a[0]) * (a[3] - a[1])
    return ix * iy / own if own > 0 else 0


def main():
    if len(sys.argv) not in (4, 5):
        sys.exit(__doc__)
    src, dst, thr = sys.argv[1], sys.argv[2], float(sys.argv[3])
    mode = sys.argv[4] if len(sys.argv) == 5 else ""
    merge, half = mode in ("merge", "mergehalf"), mode == "mergehalf"
    contain = float(mode) if mode and not merge else None
    os.makedirs(dst, exist_ok=True)
    shutil.copy(os.path.join(src, "truth.jsonl"), os.path.join(dst, "truth.jsonl"))
    dropped = 0
    with open(os.path.join(src, "scan.jsonl")) as f, open(os.path.join(dst, "scan.jsonl"), "w") as out:
        for r in map(json.loads, f):
            kept, merged = [], []  # merged[i]: (weight, weighted box sum) of kept[i]
            # Python's sort is stable: ties keep the record's order, as NMS does.
            for d in sorted(r["detections"], key=lambda x: -x["score"]):
                hit = next((i for i, k in enumerate(kept) if iou(d["box"], k["box"]) > thr or (contain is not None and covered(d["box"], k["box"]) >= contain)), None)
                if hit is None:
                    kept.append(dict(d))
                    merged.append((d["score"], [d["score"] * v for v in d["box"]]))
                    continue
                dropped += 1
                if merge and not (half and d["score"] < 0.5 * kept[hit]["score"]):
                    w, acc = merged[hit]
                    w, acc = w + d["score"], [a + d["score"] * v for a, v in zip(acc, d["box"])]
                    merged[hit] = (w, acc)
                    # Later boxes are compared with the merged box, as they would be in the detector.
                    kept[hit]["box"] = [a / w for a in acc]
            r["detections"] = kept
            out.write(json.dumps(r) + "\n")
    print(f"dropped {dropped} detections", file=sys.stderr)


if __name__ == "__main__":
    main()
