"""The form every background photograph of this project is stored in.

Shared by testdata/valphotos.py and testdata/extraphotos.py.
"""
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
