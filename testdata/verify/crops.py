#!/usr/bin/python3
"""Fixture for detect's verifier crops (TestCropBoxMatchesPIL): PIL cuts
boxes out of a grey image and resamples them to 28x28 with its bilinear
filter (antialiased when shrinking), in float mode so that no rounding
hides a difference, the way testdata/search/rescore.py showed the idea
worked. Outside the image reads the mean pixel 127.5 (mean 0.5), as the
scan's padding does. Writes image.png and crops.json here.

usage: /usr/bin/python3 testdata/verify/crops.py
"""
import json
import os

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
WIN = 28
PAD = 200
BOXES = [
    [5, 7, 33, 35],            # one source pixel per window pixel
    [3.25, 4.5, 59.75, 44.0],  # shrinking, fractional corners
    [10.4, 12.1, 24.4, 26.1],  # enlarging
    [-12.5, -6.0, 30.0, 36.5],  # partly outside, top left
    [40.0, 20.0, 90.0, 70.0],  # partly outside, bottom right
    [0, 0, 64, 48],            # the whole image, squeezed
]


def main():
    rng = np.random.default_rng(3)
    grey = rng.integers(0, 256, (48, 64), dtype=np.uint8)
    Image.fromarray(grey, "L").save(os.path.join(HERE, "image.png"))
    padded = np.full((48 + 2 * PAD, 64 + 2 * PAD), 127.5, np.float32)
    padded[PAD:PAD + 48, PAD:PAD + 64] = grey
    img = Image.fromarray(padded, "F")
    crops = []
    for b in BOXES:
        box = tuple(c + PAD for c in b)
        out = np.asarray(img.resize((WIN, WIN), Image.BILINEAR, box=box), np.float32) / 255
        crops.append({"box": b, "pixels": [round(float(v), 6) for v in out.ravel()]})
    with open(os.path.join(HERE, "crops.json"), "w") as f:
        json.dump({"window": WIN, "crops": crops}, f)


if __name__ == "__main__":
    main()
