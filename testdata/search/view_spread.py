#!/usr/bin/python3
"""Whether the verifier's views all reject a missed dress, or a few do.

usage: python3 testdata/search/view_spread.py TRUTH.jsonl MIN.jsonl MEAN.jsonl THRESHOLD

MIN is a scan with the verifier's least over its views (the defaults'
`--verifier-views 27 --verifier-pool min`), MEAN the same scenes scanned
with `--verifier-pool mean`; both carry `verifier_p` (session 45).
At THRESHOLD on MIN, detections are matched to dresses as `fc2conv eval
detect` does (phase.match_detections). For the dresses
found, the false positives and the missed dresses' best boxes, each box
is looked up in MEAN (the box there with the same scan score and IoU
≥ 0.9) and the least and the mean of its views' p are compared: a low
least with a high mean means a few views reject the box, a low mean
that most do. Also prints the missed dresses by photograph. Standard
library only; nothing here is used by the Go code or its tests.
"""
import collections
import statistics
import sys

from phase import iou, match_detections
from stages import load, missed, records


def twin(d, others):
    best = None
    for o in others:
        if abs(o["scan_score"] - d["scan_score"]) < 1e-9 and iou(o["box"], d["box"]) >= 0.9:
            if best is None or iou(o["box"], d["box"]) > iou(best["box"], d["box"]):
                best = o
    return best


def report(name, pairs):
    pairs = [(d, m) for d, m in pairs if m is not None]
    if not pairs:
        print(f"{name}: none found in MEAN")
        return
    lo = [d["verifier_p"] for d, _ in pairs]
    me = [m["verifier_p"] for _, m in pairs]
    print(f"{name}: {len(pairs)} looked up; least p median {statistics.median(lo):.3f}, mean p median {statistics.median(me):.3f}; "
          f"mean p ≥ 0.5: {sum(x >= 0.5 for x in me)}, mean p < 0.2: {sum(x < 0.2 for x in me)}")


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    truth_records = records(sys.argv[1])
    truth = {image: r.get("objects") or [] for image, r in truth_records.items()}
    photos = {image: r.get("photo", "?") for image, r in truth_records.items()}
    low, mean, t = load(sys.argv[2], "detections"), load(sys.argv[3], "detections"), float(sys.argv[4])
    found, fps, lost = [], [], []
    by_photo = collections.Counter()
    for image, objs in truth.items():
        dets, twins = low.get(image, []), mean.get(image, [])
        matched, left = match_detections(dets, objs, t)
        found += [(d, twin(d, twins)) for d, _ in matched]
        fps += [(d, twin(d, twins)) for d in left]
        for _, best in missed(dets, objs, matched):
            by_photo[photos[image]] += 1
            if best:
                lost.append((best, twin(best, twins)))
    report("dresses found", found)
    report("false positives", fps)
    report("missed dresses, their best box", lost)
    print("missed dresses by photograph:", ", ".join(f"{k} {n}" for k, n in by_photo.most_common()))


if __name__ == "__main__":
    main()
