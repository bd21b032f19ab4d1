#!/usr/bin/env python3
"""The recall at <= 0.1 false positives per image that one view of each
raw item (28x28, light on black, as `eval classify` scores it) would give
in scenes with the given sets' mix of classes: a false positive per image
is each class's rate of being called a dress times its items per scene.
It is what a detector that localised perfectly could reach if the scenes
painted items without their photographs showing through.

usage: item_bound.py MODEL SPLIT SCENEDIR...

SPLIT is `eval classify`'s: val (the held-out train items) or t10k. The
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
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    model, split = sys.argv[1:3]
    rate = per_image(sys.argv[3:])
    binary = os.environ.get("FC2CONV", "fc2conv")
    best = None
    for i in range(1, 100):
        t = i / 100
        out = subprocess.check_output([binary, "eval", "classify", "--model", model, "--split", split,
                                       "--threshold", str(t), "--json"])
        r = json.loads(out)
        fp = sum(n * called for c, (n, called) in enumerate(zip(rate, r["called_dress"])) if c != 3)
        if fp <= 0.1 and (best is None or r["recall"] > best[2]):
            best = (t, fp, r["recall"])
    if best is None:
        sys.exit("no threshold gives <= 0.1 FP/image")
    print("%s items: threshold %.2f, %.3f FP/image, recall %.4f" % (split, *best))


if __name__ == "__main__":
    main()
