#!/usr/bin/env python3
"""The recall at <= 0.1 false positives per image that one view of each
raw item (28x28, light on black, as `eval classify` scores it) would give
in scenes with the given sets' mix of classes: a false positive per image
is each class's rate of being called a dress times its items per scene.
It is what a detector that localised perfectly could reach if the scenes
painted items without their photographs showing through.

usage: item_bound.py [--as-scene K] MODEL SPLIT SCENEDIR...

SPLIT is `eval classify`'s: val (the held-out train items) or t10k.
--as-scene K scores each item as `eval classify --as-scene K` does:
painted at K times its size on a black photograph and brought back with
the pyramid's filter, as a scene's item is seen without its photograph. The
binary is $FC2CONV (default: fc2conv on PATH). Thresholds are swept in
steps of 0.01.
"""
import json
import os
import subprocess
import sys
from collections import Counter

CLASSES = 10


def per_image(scenedirs):
    counts, images = Counter(), 0
    for d in scenedirs:
        with open(os.path.join(d, "truth.jsonl")) as f:
            for line in f:
                images += 1
                counts.update(o["class"] for o in json.loads(line)["objects"])
    return [counts[c] / images for c in range(CLASSES)]


def main():
    args, extra = sys.argv[1:], []
    if args[:1] == ["--as-scene"] and len(args) > 1:
        extra, args = ["--as-scene", args[1]], args[2:]
    if len(args) < 3:
        sys.exit(__doc__)
    model, split = args[:2]
    rate = per_image(args[2:])
    binary = os.environ.get("FC2CONV", "fc2conv")
    best = None
    for i in range(1, 100):
        t = i / 100
        out = subprocess.check_output([binary, "eval", "classify", "--model", model, "--split", split,
                                       "--threshold", str(t), "--json"] + extra)
        r = json.loads(out)
        fp = sum(n * called for c, (n, called) in enumerate(zip(rate, r["called_dress"])) if c != 3)
        if fp <= 0.1 and (best is None or r["recall"] > best[2]):
            best = (t, fp, r["recall"])
    if best is None:
        sys.exit("no threshold gives <= 0.1 FP/image")
    print("%s items%s: threshold %.2f, %.3f FP/image, recall %.4f" % (split, " ".join([""] + extra), *best))


if __name__ == "__main__":
    main()
