#!/usr/bin/env python3
"""How often items are called a dress, by the photograph under them.

usage: background_rates.py DIR THRESHOLD

DIR is a valeval.sh output folder (truth.jsonl and scan.jsonl, pooled);
the scenes' PNGs are read from where its scan says they are (valeval.sh
names them SET_scene_N.png in the set's folder, which holds scene_N.png).
Detections scoring at least THRESHOLD are matched to dresses best first,
each dress once, at IoU >= 0.5, as eval detect counts them. For each
photograph, and for each band of the photograph's mean brightness in a
ring just outside an item's box (an eighth of its side wide), it prints
the share of dresses found and the share of other garments a false
positive lands on (IoU >= 0.3 with it). Needs numpy and PIL.
"""
import json
import os
import re
import sys
from collections import defaultdict

import numpy as np
from PIL import Image

from phase import match, scans

BANDS = [0, 0.1, 0.25, 0.4, 0.55, 0.7, 1.01]


def ring_mean(img, box):
    x0, y0, x1, y1 = (int(v) for v in box)
    h, w = img.shape
    m = max(2, (x1 - x0) // 8)
    outer = img[max(0, y0 - m):min(h, y1 + m), max(0, x0 - m):min(w, x1 + m)]
    inner = img[y0:y1, x0:x1]
    n = outer.size - inner.size
    return float((outer.sum() - inner.sum()) / n) if n > 0 else 0.0


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    d, thr = sys.argv[1], float(sys.argv[2])
    photos = {}
    with open(d + "/truth.jsonl") as f:
        for r in map(json.loads, f):
            photos[r["image"]] = r.get("photo", "?")
    by_photo = defaultdict(lambda: [0, 0, 0, 0])  # dresses, found, others, called dress
    by_band = defaultdict(lambda: [0, 0, 0, 0])
    for r, objects in scans(d):
        name = r["image"].rsplit("/", 1)[-1]
        path = os.path.join(os.path.dirname(r["image"]), re.sub(r"^.*?_(scene_)", r"\1", name))
        img = np.asarray(Image.open(path).convert("L"), dtype=np.float64) / 255
        found, left = match(r["detections"], objects, thr)
        called = {i for i in left if i is not None and objects[i]["class"] != 3}
        for i, o in enumerate(objects):
            bg = ring_mean(img, o["box"])
            band = next(k for k in range(len(BANDS) - 1) if bg < BANDS[k + 1])
            for table, key in ((by_photo, photos.get(name, "?")), (by_band, band)):
                row = table[key]
                if o["class"] == 3:
                    row[0] += 1
                    row[1] += i in found
                else:
                    row[2] += 1
                    row[3] += i in called
    print("%-24s %7s %7s %7s %12s" % ("photograph", "dresses", "found", "others", "called dress"))
    for key in sorted(by_photo):
        a, b, c, e = by_photo[key]
        print("%-24s %7d %7.3f %7d %12.4f" % (key, a, b / max(a, 1), c, e / max(c, 1)))
    print("%-24s %7s %7s %7s %12s" % ("background brightness", "dresses", "found", "others", "called dress"))
    for key in sorted(by_band):
        a, b, c, e = by_band[key]
        print("%-24s %7d %7.3f %7d %12.4f" % ("%.2f-%.2f" % (BANDS[key], BANDS[key + 1]), a, b / max(a, 1), c, e / max(c, 1)))


if __name__ == "__main__":
    main()
