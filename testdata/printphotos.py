#!/usr/bin/python3
"""Builds held-out photographs of print for model selection (not committed).

usage: /usr/bin/python3 testdata/printphotos.py [--blocky] OUTDIR

Letters the size of the window are the test photographs' commonest false
positive: a dark "u" or "n" on white is a dress's silhouette, inverted.
Training can draw synthetic print (fc2conv train --print, rendered with the
Go fonts). Whether that helps on print it never saw is checked on scenes
built from these six pages, set in other typefaces (DejaVu, Liberation and
Lato, from Debian's fonts-dejavu-core, fonts-liberation2 and fonts-lato)
with the words of the GPL-3 text, at sizes from body text to headlines,
dark on light and light on dark. They are not the test photographs.

OUTDIR gets the six pages (8-bit grey, 640×400, JPEG quality 90, as
testdata/photos) and a SPLIT.txt listing them as "eval", so that

  fc2conv scenes --items val --photos OUTDIR --photo-split eval ...

builds scenes from held-out items on them. Needs python3-pil.

With --blocky the six pages are hard-edged instead, as a thresholded scan
shows print (for fc2conv train --print-blocky): each is set without
antialiasing at 1/k of its size (k = 1, 2, 3, 1, 2, 3) and magnified k
times by nearest neighbour, with other words (seed 8), named blocky-*.
"""
import os
import random
import sys

from PIL import Image, ImageDraw, ImageFont

from photoprep import save_grey, write_eval_split

FONTS = "/usr/share/fonts/truetype/"
# name, font file, sizes in px, ink, paper
PAGES = [
    ("sans-bold-large", "dejavu/DejaVuSans-Bold.ttf", (44, 60), 0, 255),
    ("serif-body", "liberation2/LiberationSerif-Regular.ttf", (20, 28), 20, 240),
    ("lato-bold-inverse", "lato/Lato-Bold.ttf", (32, 48), 250, 10),
    ("mono-grey", "dejavu/DejaVuSansMono.ttf", (16, 24), 60, 200),
    ("sans-mixed", "liberation2/LiberationSans-Bold.ttf", (18, 72), 10, 230),
    ("serif-bold-inverse", "dejavu/DejaVuSerif-Bold.ttf", (26, 40), 230, 40),
]
WIDTH, HEIGHT = 640, 400
# The Debian package each font directory comes from, for the error below.
FONT_PACKAGES = {"dejavu": "fonts-dejavu-core", "liberation2": "fonts-liberation2", "lato": "fonts-lato"}


def check_fonts():
    """Exits naming the packages to install if a font is missing, before any
    page is written: a half-built family would select on other pages."""
    missing = sorted({FONT_PACKAGES[f.split("/")[0]] for _, f, *_ in PAGES if not os.path.exists(FONTS + f)})
    if missing:
        sys.exit("printphotos.py: fonts missing under %s; install Debian's %s" % (FONTS, " ".join(missing)))


def words():
    with open("/usr/share/common-licenses/GPL-3") as f:
        return [w for w in f.read().split() if w.isalpha()]


def page(font_file, sizes, ink, paper, vocab, rng, k=0):
    """Sets one page. k ≥ 1 sets it without antialiasing at 1/k of its size
    and type sizes, then magnifies it k times by nearest neighbour."""
    if not k:
        return setting(font_file, sizes, ink, paper, vocab, rng, (WIDTH, HEIGHT), False)
    small_sizes = [max(4, s // k) for s in sizes]
    small = setting(font_file, small_sizes, ink, paper, vocab, rng, (-(-WIDTH // k), -(-HEIGHT // k)), True)
    return small.resize((small.width * k, small.height * k), Image.NEAREST).crop((0, 0, WIDTH, HEIGHT))


def setting(font_file, sizes, ink, paper, vocab, rng, size, aliased):
    width, height = size
    im = Image.new("L", size, paper)
    d = ImageDraw.Draw(im)
    if aliased:
        d.fontmode = "1"
    y = rng.randint(-10, 10)
    while y < height:
        px = rng.randint(*sizes)
        font = ImageFont.truetype(FONTS + font_file, px)
        x = rng.randint(-20, 10)
        while x < width:
            w = rng.choice(vocab)
            d.text((x, y), w, fill=ink, font=font)
            x += d.textlength(w + " ", font=font)
        y += int(px * rng.uniform(1.1, 1.5))
    return im


def main():
    args = sys.argv[1:]
    blocky = args[:1] == ["--blocky"]
    if blocky:
        args = args[1:]
    if len(args) != 1 or args[0].startswith("-"):
        sys.exit(__doc__)
    out = args[0]
    check_fonts()
    os.makedirs(out, exist_ok=True)
    rng = random.Random(8 if blocky else 7)
    vocab = words()
    names = []
    for i, (name, font, sizes, ink, paper) in enumerate(PAGES):
        k = 1 + i % 3 if blocky else 0
        name = "blocky-" + name if blocky else name
        save_grey(page(font, sizes, ink, paper, vocab, rng, k), os.path.join(out, name + ".jpg"))
        names.append(name)
    kind = "blocky print" if blocky else "print"
    write_eval_split(out, names, "held-out %s for model selection (testdata/printphotos.py)" % kind)


if __name__ == "__main__":
    main()
