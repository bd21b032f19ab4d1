#!/usr/bin/python3
"""Where recall at <= 0.1 FP/image goes between a classifier scored at the
truth boxes and the scan: a diagnostic that chooses nothing.

usage: ladder.py SCANDIR ORACLE[,ORACLE2] SETDIR...

SCANDIR holds a scan of each set as SET.jsonl (a valeval.sh folder, scanned
at --threshold 0.05); ORACLE an oracle.py folder of the same sets (every
truth item scored once at its truth box, `centre`). With two oracle folders,
separated by a comma, an item's truth-box score is the geometric mean of
the two, as the detector combines the members and the verifier.

Each scan detection is sorted as `fc2conv eval detect` matches it (greedy,
best score first, IoU >= 0.5 with a dress): a dress found, a second or
partial box on a dress (IoU >= 0.1 with one), a box on another garment
(more than 30% of its area over one) or a box on the photograph alone.
The ladder then starts from the truth boxes alone (each dress and each
other garment scored once) and adds one source of loss at a time: the
boxes on the photograph, the second and partial boxes, the scan's boxes on
garments in place of their truth-box scores, and last the scan's boxes on
dresses, which is the scan. Two crossed rungs say which side of the
search over windows costs more. Standard library only.
"""
import json
import sys

DRESS = 3


def iou(a, b):
    x0, y0, x1, y1 = max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])
    i = max(0, x1 - x0) * max(0, y1 - y0)
    return i / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - i)


def cover(d, o):
    """The fraction of box d's area over box o."""
    x0, y0, x1, y1 = max(d[0], o[0]), max(d[1], o[1]), min(d[2], o[2]), min(d[3], o[3])
    return max(0, x1 - x0) * max(0, y1 - y0) / ((d[2] - d[0]) * (d[3] - d[1]))


def jsonl(path):
    with open(path) as f:
        return [json.loads(line) for line in f]


def events(scandir, oracles, sets):
    """(score, is a dress found) for each source, and the image and dress counts."""
    ev = {k: [] for k in ("dress_truth", "garment_truth", "dress_scan", "garment_scan", "photo", "dress_box")}
    images = dresses = 0
    for s in sets:
        name = s.rstrip("/").split("/")[-1]
        truth = jsonl(f"{s}/truth.jsonl")
        scan = {r["image"].split("/")[-1]: r for r in jsonl(f"{scandir}/{name}.jsonl")}
        truthbox = [jsonl(f"{o}/{name}.jsonl") for o in oracles]
        for i, t in enumerate(truth):
            images += 1
            objs = t["objects"]
            scores = [1.0] * len(objs)
            for o in truthbox:
                assert o[i]["image"] == t["image"], f"{name}: oracle and truth out of step"
                scores = [a * d["score"] for a, d in zip(scores, o[i]["detections"])]
            scores = [a ** (1 / len(oracles)) for a in scores]
            for obj, sc in zip(objs, scores):
                ev["dress_truth" if obj["class"] == DRESS else "garment_truth"].append((sc, obj["class"] == DRESS))
            boxes = [o["box"] for o in objs if o["class"] == DRESS]
            others = [o["box"] for o in objs if o["class"] != DRESS]
            dresses += len(boxes)
            used = set()
            for d in sorted(scan[t["image"]]["detections"], key=lambda d: -d["score"]):
                best, hit = 0.5, -1
                for j, b in enumerate(boxes):
                    v = iou(d["box"], b)
                    if j not in used and v >= best:
                        best, hit = v, j
                if hit >= 0:
                    used.add(hit)
                    ev["dress_scan"].append((d["score"], True))
                elif any(iou(d["box"], b) >= 0.1 for b in boxes):
                    ev["dress_box"].append((d["score"], False))
                elif any(cover(d["box"], b) > 0.3 for b in others):
                    ev["garment_scan"].append((d["score"], False))
                else:
                    ev["photo"].append((d["score"], False))
    return ev, images, dresses


def recall(ev, images, dresses, max_fp=0.1):
    """Recall at the lowest threshold with at most max_fp false positives per image."""
    ev = sorted(ev, key=lambda e: -e[0])
    fp = tp = i = 0
    while i < len(ev):
        j = i
        while j < len(ev) and ev[j][0] == ev[i][0]:
            j += 1
        more = sum(1 for e in ev[i:j] if not e[1])
        if fp + more > max_fp * images:
            break
        fp, tp, i = fp + more, tp + (j - i - more), j
    return tp / dresses


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    ev, images, dresses = events(sys.argv[1], sys.argv[2].split(","), sys.argv[3:])
    rungs = [
        ("truth boxes: each dress and each other garment once", ["dress_truth", "garment_truth"]),
        ("+ the scan's boxes on the photograph alone", ["dress_truth", "garment_truth", "photo"]),
        ("+ its second and partial boxes on dresses", ["dress_truth", "garment_truth", "photo", "dress_box"]),
        ("garments: the scan's boxes for the truth boxes", ["dress_truth", "garment_scan", "photo", "dress_box"]),
        ("dresses: the scan's boxes too (the scan)", ["dress_scan", "garment_scan", "photo", "dress_box"]),
        ("crossed: truth-box dresses, the scan's garment boxes only", ["dress_truth", "garment_scan"]),
        ("crossed: the scan's dresses, truth-box garments only", ["dress_scan", "garment_truth"]),
    ]
    print(f"{images} images, {dresses} dresses; recall at <= 0.1 FP/image:")
    for name, keys in rungs:
        print(f"  {recall([e for k in keys for e in ev[k]], images, dresses):.4f}  {name}")


if __name__ == "__main__":
    main()
