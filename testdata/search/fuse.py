#!/usr/bin/env python3
"""Re-runs the detector's last steps offline on raw heatmaps, with and
without score fusion, so that a change to them can be scored on validation
scenes without rescanning.

usage: fuse.py SCAN.jsonl OUT.jsonl [--tau T] [--thr 0.05]

SCAN.jsonl and RAWDIR come from one `fc2conv scan --threshold 0.05
--raw RAWDIR --out SCAN.jsonl` run with the detector's other defaults
(pyramid 1.25, NMS 0.3, voting 0.4, 100 boxes). The script follows
detect's rule: windows scoring at least half the threshold are
candidates; NMS keeps the best first among those at or above the
threshold; each kept box moves to the score-weighted mean of the
candidates overlapping it at IoU >= 0.4 scoring at least half as much.
Without --tau it must give the scan's own detections (it prints the
largest difference). With --tau, each kept detection's score becomes the
mean score of every window, at every level, whose box overlaps the kept
window's at IoU >= tau: score fusion.
"""
import argparse
import json

import numpy as np

NMS_IOU, VOTE_IOU, VOTE_SHARE, LIMIT, FACTOR = 0.3, 0.4, 0.5, 100, 1.25
WIN, STEP = 28, 4


def levels(recs):
    """The heatmaps of one image, largest scale first, with exact scales:
    the record rounds them, and the default pyramid is 1, 1/1.25, ..."""
    out = []
    k = 1.0
    for hf in recs:
        assert abs(hf["scale"] - k) < 1e-4 and hf["step"] == STEP, hf
        out.append((k, np.load(hf["file"]).astype(np.float64)))
        k /= FACTOR
    return out


def boxes_of(scale, rows, cols):
    i, j = np.meshgrid(np.arange(rows), np.arange(cols), indexing="ij")
    x = (j * STEP) / scale
    y = (i * STEP) / scale
    return np.stack([x, y, x + WIN / scale, y + WIN / scale], axis=-1).reshape(-1, 4)


def iou(b, bs):
    iw = np.minimum(b[2], bs[:, 2]) - np.maximum(b[0], bs[:, 0])
    ih = np.minimum(b[3], bs[:, 3]) - np.maximum(b[1], bs[:, 1])
    inter = np.where((iw > 0) & (ih > 0), iw * ih, 0.0)
    union = (b[2] - b[0]) * (b[3] - b[1]) + (bs[:, 2] - bs[:, 0]) * (bs[:, 3] - bs[:, 1]) - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def detect(lv, thr, tau):
    allb, alls = [], []
    for scale, hm in lv:
        allb.append(boxes_of(scale, *hm.shape))
        alls.append(hm.reshape(-1))
    allb, alls = np.concatenate(allb), np.concatenate(alls)
    cand = alls >= thr * VOTE_SHARE
    cb, cs = allb[cand], alls[cand]
    rep = np.nonzero(cs >= thr)[0]
    order = rep[np.argsort(-cs[rep], kind="stable")]
    kept = []
    for n in order:
        if len(kept) >= LIMIT:
            break
        if all(iou(cb[k], cb[n : n + 1])[0] <= NMS_IOU for k in kept):
            kept.append(n)
    dets = []
    for k in kept:
        s = cs[k]
        m = (cs >= VOTE_SHARE * s) & (iou(cb[k], cb) >= VOTE_IOU)
        w = cs[m]
        box = (cb[m] * w[:, None]).sum(0) / w.sum()
        score = s
        if tau is not None:
            score = alls[iou(cb[k], allb) >= tau].mean()
        dets.append({"box": [round(float(v), 2) for v in box], "score": round(float(score), 4)})
    return dets


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("scan")
    ap.add_argument("out")
    ap.add_argument("--tau", type=float)
    ap.add_argument("--thr", type=float, default=0.05)
    a = ap.parse_args()
    worst = 0.0
    with open(a.scan) as f, open(a.out, "w") as g:
        for line in f:
            rec = json.loads(line)
            dets = detect(levels(rec["heatmaps"]), a.thr, a.tau)
            if a.tau is None:
                old = rec["detections"]
                if len(old) != len(dets):
                    worst = float("inf")
                for o, d in zip(old, dets):
                    worst = max(worst, abs(o["score"] - d["score"]), *(abs(p - q) for p, q in zip(o["box"], d["box"])))
            g.write(json.dumps({"image": rec["image"], "width": rec["width"], "height": rec["height"], "detections": dets}) + "\n")
    if a.tau is None:
        print(f"largest difference from the scan: {worst:g}")


if __name__ == "__main__":
    main()
