"""The form every background photograph of this project is stored in.

Shared by testdata/valphotos.py, testdata/extraphotos.py and
testdata/printphotos.py.
"""
import os

from PIL import Image

LONGEST_SIDE = 640


def save_grey(im, path):
    """Saves im as testdata/photos stores its photographs: 8-bit grey (BT.601
    luma; transparent areas composited on white), downscaled with Lanczos so
    the longest side is at most 640 px, JPEG quality 90."""
    if im.mode == "RGBA":
        bg = Image.new("RGBA", im.size, (255, 255, 255, 255))
        bg.alpha_composite(im)
        im = bg
    im = im.convert("L")
    s = LONGEST_SIDE / max(im.size)
    if s < 1:
        im = im.resize((round(im.size[0] * s), round(im.size[1] * s)), Image.LANCZOS)
    im.save(path, quality=90)


def write_eval_split(out, names, comment):
    """Writes OUTDIR/SPLIT.txt listing each NAME.jpg as "eval", after the
    comment line, so `fc2conv scenes --photo-split eval` uses them all."""
    with open(os.path.join(out, "SPLIT.txt"), "w") as f:
        f.write("# %s\n" % comment)
        f.write("\n".join("eval %s.jpg" % n for n in names) + "\n")
