#!/usr/bin/python3
"""Sorts a dress scan's false positives by what they land on.

usage: python3 testdata/detect_errors.py TRUTH.jsonl SCAN.jsonl [THRESHOLD ...]

TRUTH is `fc2conv scenes` ground truth, SCAN a `fc2conv scan` jsonl output
(scan with a low --threshold, e.g. 0.05). Detections are matched to dresses
greedily, best score first, at IoU >= 0.5, as `fc2conv eval detect` does.
Each unmatched detection is one of:

  duplicate      IoU >= 0.5 with a dress already matched
  part-of-dress  IoU 0.1-0.5 with a dress: a window on part of a larger
                 dress, or a box much larger than one
  garment:LABEL  most of the box (>30% of its area) over another item
  background     none of these: the photograph itself

For each threshold (default 0.5 0.7 0.9) it prints the true positives and
the false positives of each kind scored at or above it, and for each kind
of garment how many of the scenes' items of that kind draw one and how
well those boxes frame them (IoU with the item: a whole garment taken for
a dress frames it, a window on part of one does not). Standard library
only; nothing here is used by the Go code or its tests.
"""
import json
import os
import sys

DRESS = 3


def load(path, key):
    out = {}
    with open(path) as f:
        for line in f:
            rec = json.loads(line)
            if key in rec:
                out[os.path.basename(rec["image"])] = rec[key] or []
    return out


def area(b):
    return max(0, b[2] - b[0]) * max(0, b[3] - b[1])


def inter(a, b):
    return area([max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])])


def iou(a, b):
    i = inter(a, b)
    u = area(a) + area(b) - i
    return i / u if u > 0 else 0.0


def label_of(o):
    return o.get("label", str(o["class"]))


def garment(box, objects):
    """Returns the other item more than 30% of box lies over (the one it
    covers most), and their IoU; None if there is none or if box overlaps
    a dress at IoU >= 0.1 (then it is a box on a dress, not a garment)."""
    if any(o["class"] == DRESS and iou(box, o["box"]) >= 0.1 for o in objects):
        return None, 0.0
    cover, best = 0.0, None
    for i, o in enumerate(objects):
        if o["class"] != DRESS:
            c = inter(box, o["box"]) / max(1e-9, area(box))
            if c > cover:
                cover, best = c, i
    if cover <= 0.3:
        return None, 0.0
    return best, iou(box, objects[best]["box"])


def kind(box, objects, matched, image):
    """Returns "TP" (and marks the dress matched) or the kind of error."""
    best, best_i = 0.0, None
    for i, o in enumerate(objects):
        if o["class"] == DRESS:
            v = iou(box, o["box"])
            if v > best:
                best, best_i = v, i
    if best >= 0.5:
        if (image, best_i) in matched:
            return "duplicate"
        matched.add((image, best_i))
        return "TP"
    if best >= 0.1:
        return "part-of-dress"
    i, _ = garment(box, objects)
    if i is None:
        return "background"
    return "garment:" + label_of(objects[i])


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    truth = load(sys.argv[1], "objects")
    scans = load(sys.argv[2], "detections")
    thresholds = [float(t) for t in sys.argv[3:]] or [0.5, 0.7, 0.9]
    dets = sorted(((d["score"], img, d["box"]) for img, ds in scans.items() for d in ds),
                  key=lambda d: -d[0])
    matched, rows = set(), []
    for score, img, box in dets:
        rows.append((score, kind(box, truth.get(img, []), matched, img)))
    dresses = sum(o["class"] == DRESS for objs in truth.values() for o in objs)
    print("%d images, %d dresses, %d detections" % (len(truth), dresses, len(dets)))
    for t in thresholds:
        counts = {}
        for score, k in rows:
            if score >= t:
                counts[k] = counts.get(k, 0) + 1
        tp = counts.pop("TP", 0)
        fps = ", ".join("%s %d" % kv for kv in sorted(counts.items(), key=lambda kv: -kv[1]))
        print("score >= %g: TP %d; FP %d (%s)" % (t, tp, sum(counts.values()), fps or "none"))
        framing(truth, dets, t)


def framing(truth, dets, t):
    """Prints, per garment label, the items with a false positive over them
    scored >= t, of all such items, and the IoU range of the best boxes."""
    items = {}
    for objs in truth.values():
        for o in objs:
            if o["class"] != DRESS:
                items[label_of(o)] = items.get(label_of(o), 0) + 1
    hit = {}
    for score, img, box in dets:
        if score < t:
            continue
        objs = truth.get(img, [])
        i, v = garment(box, objs)
        if i is not None:
            hit[(img, i)] = max(hit.get((img, i), 0.0), v)
    for label in sorted(items):
        ious = [v for (img, i), v in hit.items() if label_of(truth[img][i]) == label]
        if ious:
            print("  %s: %d of %d items, IoU %.2f-%.2f" % (label, len(ious), items[label], min(ious), max(ious)))


if __name__ == "__main__":
    main()
