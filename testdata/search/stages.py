#!/usr/bin/python3
"""Which stage of a verified dress scan finds, misses and lets through what.

usage: python3 testdata/search/stages.py TRUTH.jsonl SCAN.jsonl THRESHOLD

SCAN is an `fc2conv scan` output with a verifier (detections carry
`scan_score` and `verifier_p`, session 45), TRUTH the `fc2conv scenes`
ground truth. At THRESHOLD (say the operating point `eval detect
--max-fp 0.1` prints) detections are matched to dresses greedily, best
score first, at IoU ≥ 0.5, as `eval detect` does (phase.match_detections). Prints the medians of
the two stages for the dresses found, the false positives and the
missed dresses' best boxes (IoU ≥ 0.5 with them), how many of each the
verifier scores below the scan, and what the false positives land on.
Standard library only; nothing here is used by the Go code or its tests.
"""
import collections
import json
import statistics
import sys

from phase import iou, match_detections


def records(path):
    """Each JSONL record of path by its image's file name."""
    with open(path) as f:
        return {r["image"].split("/")[-1]: r for r in map(json.loads, f)}


def load(path, key):
    return {image: r.get(key) or [] for image, r in records(path).items()}


def missed(dets, objs, matched):
    """Yields each dress among objs that matched (match_detections) leaves
    out, with the best-scored of dets at IoU >= 0.5 with it, or None."""
    hit = {i for _, i in matched}
    for i, o in enumerate(objs):
        if o["class"] == 3 and i not in hit:
            yield o, max((d for d in dets if iou(d["box"], o["box"]) >= 0.5), key=lambda d: d["score"], default=None)


def summary(name, dets):
    s = [d["scan_score"] for d in dets]
    p = [d["verifier_p"] for d in dets]
    if not dets:
        print(f"{name}: none")
        return
    print(f"{name}: {len(dets)}, scan median {statistics.median(s):.3f}, verifier median {statistics.median(p):.3f}, "
          f"verifier below the scan {sum(a < b for a, b in zip(p, s))}, scan ≥ 0.9 {sum(x >= 0.9 for x in s)}, "
          f"verifier ≥ 0.5 {sum(x >= 0.5 for x in p)}")


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    truth, scan, t = load(sys.argv[1], "objects"), load(sys.argv[2], "detections"), float(sys.argv[3])
    found, fps, lost, unboxed = [], [], [], 0
    for image, objs in truth.items():
        dets = scan.get(image, [])
        if any("verifier_p" not in d for d in dets):
            sys.exit(f"stages.py: {sys.argv[2]}: {image} has a detection without verifier_p (scanned without a verifier, or before session 45)")
        matched, left = match_detections(dets, objs, t)
        found += [d for d, _ in matched]
        for d in left:
            under = max(objs, key=lambda o: iou(d["box"], o["box"]), default=None)
            fps.append((d, under["label"] if under and iou(d["box"], under["box"]) > 0.1 else "photograph"))
        for _, best in missed(dets, objs, matched):
            if best:
                lost.append(best)
            else:
                unboxed += 1
    summary("dresses found", found)
    summary("false positives", [d for d, _ in fps])
    summary("missed dresses, their best box", lost)
    print(f"missed dresses with no box at IoU ≥ 0.5: {unboxed}")
    print("false positives on:", ", ".join(f"{k} {n}" for k, n in collections.Counter(k for _, k in fps).most_common()))


if __name__ == "__main__":
    main()
