#!/usr/bin/python3
"""Builds testdata/photos-extra: more training photographs, from Debian.

usage: /usr/bin/python3 testdata/extraphotos.py [OUTDIR]

The 16 training photographs of testdata/photos are few, and the detector
fires on photographs busier than any of them. This adds 22 photographs
from two Debian packages of desktop wallpapers (fetched with
`apt-get download`, unpacked with `dpkg-deb -x`; nothing is installed):

- plasma-workspace-wallpapers 4:5.27.5-2 (KDE), the photographs among
  them, each under LGPL-3 as its metadata.json states;
- mate-backgrounds 1.26.0-1, the "nature" set, GPL-2+ as its
  debian/copyright states (copyright holders in its AUTHORS file).

Each is converted to 8-bit grey with PIL's luma, downscaled so the
longest side is 640 px, and saved as JPEG quality 90, as testdata/photos.
All are listed as "train" in SPLIT.txt: they are for training patches
and mining scenes (`fc2conv train --more-photos`), never for evaluation.
Needs python3-pil, apt-get and dpkg-deb.
"""
import os
import subprocess
import sys
import tempfile

from PIL import Image

from photoprep import save_grey

KDE = "plasma-workspace-wallpapers=4:5.27.5-2"
MATE = "mate-backgrounds=1.26.0-1"
SOURCES = [  # (name, package, path in the package)
    ("kde-bythewater", KDE, "usr/share/wallpapers/BytheWater/contents/images/1920x1080.jpg"),
    ("kde-coldripple", KDE, "usr/share/wallpapers/ColdRipple/contents/images/1920x1080.jpg"),
    ("kde-colorfulcups", KDE, "usr/share/wallpapers/ColorfulCups/contents/images/2560x1600.jpg"),
    ("kde-darkesthour", KDE, "usr/share/wallpapers/DarkestHour/contents/images/1920x1080.jpg"),
    ("kde-eveningglow", KDE, "usr/share/wallpapers/EveningGlow/contents/images/1920x1080.jpg"),
    ("kde-fallenleaf", KDE, "usr/share/wallpapers/FallenLeaf/contents/images/1920x1080.jpg"),
    ("kde-kite", KDE, "usr/share/wallpapers/Kite/contents/images/1920x1080.jpg"),
    ("kde-onestandsout", KDE, "usr/share/wallpapers/OneStandsOut/contents/images/1920x1080.jpg"),
    ("kde-path", KDE, "usr/share/wallpapers/Path/contents/images/1920x1080.jpg"),
    ("kde-summer1am", KDE, "usr/share/wallpapers/summer_1am/contents/images/1920x1080.jpg"),
] + [("mate-" + n.lower(), MATE, "usr/share/backgrounds/mate/nature/%s.jpg" % n) for n in (
    "Aqua", "Blinds", "Dune", "FreshFlower", "Garden", "GreenMeadow", "LadyBird",
    "RainDrops", "Storm", "TwoWings", "Wood", "YellowFlower")]


def unpack(tmp):
    roots = {}
    for pkg in sorted({p for _, p, _ in SOURCES}):
        subprocess.run(["apt-get", "download", "-qq", pkg], cwd=tmp, check=True)
        deb = [f for f in os.listdir(tmp) if f.startswith(pkg.split("=")[0]) and f.endswith(".deb")][0]
        root = os.path.join(tmp, pkg.split("=")[0])
        subprocess.run(["dpkg-deb", "-x", os.path.join(tmp, deb), root], check=True)
        roots[pkg] = root
    return roots


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "photos-extra")
    os.makedirs(out, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        roots = unpack(tmp)
        lines = []
        for name, pkg, path in SOURCES:
            save_grey(Image.open(os.path.join(roots[pkg], path)), os.path.join(out, name + ".jpg"))
            lines.append("train %s.jpg" % name)
    with open(os.path.join(out, "SPLIT.txt"), "w") as f:
        f.write("# More training photographs (testdata/extraphotos.py), from Debian:\n"
                "# kde-*: plasma-workspace-wallpapers 4:5.27.5-2, LGPL-3 (each wallpaper's metadata.json);\n"
                "# mate-*: mate-backgrounds 1.26.0-1 nature set, GPL-2+ (debian/copyright).\n"
                "# 8-bit grey, longest side 640 px, JPEG quality 90. Training only.\n")
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
