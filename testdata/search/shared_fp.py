#!/usr/bin/env python3
"""Which items of one kind draw false positives from several models.

usage: shared_fp.py [--sheet PNG] LABEL THRESHOLD DIR...

Each DIR is a valeval.sh folder (truth.jsonl and scan.jsonl, pooled) of
the same scenes scanned by a different model. An item of kind LABEL (as
the scenes' truth names it, e.g. Coat) counts for a model when a
detection scored >= THRESHOLD lies mostly over it and overlaps no dress
(detect_errors.py's rule). Prints each model's count, how many items any
model hits, and how many models hit each of those items: whether the
garments taken for dresses are the same few for every model (a shared
bias) or different ones (noise an ensemble would average away). With --sheet, writes the items
every model hits, cut from their scenes (the image paths in the scans)
and enlarged, to PNG (needs PIL).
"""
import json
import os
import sys
from collections import Counter

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import detect_errors as de  # noqa: E402


def sheet(path, folder, keys):
    """Writes the boxes of keys ((image, object index)) as one row of tiles."""
    from PIL import Image
    truth = de.load(os.path.join(folder, "truth.jsonl"), "objects")
    paths = {}
    with open(os.path.join(folder, "scan.jsonl")) as f:
        for line in f:
            rec = json.loads(line)
            name, where = os.path.basename(rec["image"]), os.path.dirname(rec["image"])
            # valeval.sh prefixes the pooled names with the set's; the file has none.
            paths[name] = os.path.join(where, name.split("_", 1)[1])
    side = 112
    out = Image.new("L", (side * len(keys), side), 0)
    for n, (img, i) in enumerate(sorted(keys)):
        box = tuple(int(round(v)) for v in truth[img][i]["box"])
        out.paste(Image.open(paths[img]).convert("L").crop(box).resize((side, side)), (n * side, 0))
    out.save(path)


def items_hit(folder, label, threshold):
    truth = de.load(os.path.join(folder, "truth.jsonl"), "objects")
    scans = de.load(os.path.join(folder, "scan.jsonl"), "detections")
    hit = set()
    for img, dets in scans.items():
        objs = truth.get(img, [])
        for d in dets:
            if d["score"] < threshold:
                continue
            i, _ = de.garment(d["box"], objs)
            if i is not None and de.label_of(objs[i]) == label:
                hit.add((img, i))
    total = sum(de.label_of(o) == label for objs in truth.values() for o in objs)
    return hit, total


def main():
    args = sys.argv[1:]
    out = None
    if args[:1] == ["--sheet"] and len(args) > 1:
        out, args = args[1], args[2:]
    if len(args) < 3:
        sys.exit(__doc__)
    label, threshold, folders = args[0], float(args[1]), args[2:]
    hits = []
    for f in folders:
        hit, total = items_hit(f, label, threshold)
        hits.append(hit)
        print("%s: %d of %d %s items" % (f, len(hit), total, label))
    union = set().union(*hits)
    models = Counter(k for h in hits for k in h)
    print("any model: %d items; hit by every one of the %d models: %d" %
          (len(union), len(folders), sum(n == len(folders) for n in models.values())))
    print("items by number of models hitting them: " +
          ", ".join("%d: %d" % kv for kv in sorted(Counter(models.values()).items())))
    if out:
        every = [k for k, n in models.items() if n == len(folders)]
        if every:
            sheet(out, folders[-1], every)
            print("wrote %s: %d items" % (out, len(every)))


if __name__ == "__main__":
    main()
