#!/usr/bin/python3
"""Builds testdata/photos-extra and testdata/photos-more: more training
photographs, from Debian.

usage: /usr/bin/python3 testdata/extraphotos.py [--more] [OUTDIR]

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

With --more it builds testdata/photos-more instead (session 29): 32
photographs of streets, buildings, faces, animals, fruit, plants, aerial
views, circuit boards, a painting and clutter, where the 22 above are
mostly landscapes and close-ups:

- opencv-doc 4.6.0+dfsg-12, the sample images of OpenCV's examples
  (Apache-2.0 AND BSD-3-Clause, its debian/copyright's "Files: *");
  box_in_scene and lena are left out because the wider held-out family
  of testdata/valphotos.py holds them (as "table" and "lenna");
- lomiri-wallpapers-20.04 20.04.0-2, its two photographs (CC-BY-SA-3.0,
  Aury88 and Lukas Baubkus, debian/copyright).
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


OPENCV = "opencv-doc=4.6.0+dfsg-12"
LOMIRI = "lomiri-wallpapers-20.04=20.04.0-2"
CV = "usr/share/doc/opencv-doc/examples/"
MORE_SOURCES = [("cv-" + n.split(".")[0].lower(), OPENCV, CV + "data/" + n) for n in (
    "aero1.jpg", "aero3.jpg", "aloeL.jpg", "apple.jpg", "baboon.jpg", "basketball1.png",
    "board.jpg", "building.jpg", "butterfly.jpg", "chicky_512.png", "ela_original.jpg",
    "fruits.jpg", "graf1.png", "home.jpg", "leuvenA.jpg", "messi5.jpg", "orange.jpg",
    "rubberwhale1.png", "smarties.png", "squirrel_cls.jpg", "starry_night.jpg", "stuff.jpg")] + [
    ("cv-scenetext%02d" % i, OPENCV, CV + "text/scenetext%02d.jpg" % i)
    for i in range(1, 7)] + [
    ("cv-plant", OPENCV, CV + "alphamat/input_images/plant.jpg"),
    ("cv-robin", OPENCV, CV + "hfs/data/000.jpg"),
    ("lomiri-infinitesea", LOMIRI, "usr/share/backgrounds/Infinite-Sea_by_Aury88.jpg"),
    ("lomiri-kleiber", LOMIRI, "usr/share/backgrounds/Kleiber_by_Lukas_Baubkus.jpg"),
]
HEADERS = {
    False: "# More training photographs (testdata/extraphotos.py), from Debian:\n"
           "# kde-*: plasma-workspace-wallpapers 4:5.27.5-2, LGPL-3 (each wallpaper's metadata.json);\n"
           "# mate-*: mate-backgrounds 1.26.0-1 nature set, GPL-2+ (debian/copyright).\n",
    True: "# Still more training photographs (testdata/extraphotos.py --more), from Debian:\n"
          "# cv-*: opencv-doc 4.6.0+dfsg-12, OpenCV's sample images, Apache-2.0 AND BSD-3-Clause (debian/copyright);\n"
          "# lomiri-*: lomiri-wallpapers-20.04 20.04.0-2, CC-BY-SA-3.0, Aury88 and Lukas Baubkus (debian/copyright).\n",
}


def unpack(tmp, sources):
    roots = {}
    for pkg in sorted({p for _, p, _ in sources}):
        subprocess.run(["apt-get", "download", "-qq", pkg], cwd=tmp, check=True)
        deb = [f for f in os.listdir(tmp) if f.startswith(pkg.split("=")[0]) and f.endswith(".deb")][0]
        root = os.path.join(tmp, pkg.split("=")[0])
        subprocess.run(["dpkg-deb", "-x", os.path.join(tmp, deb), root], check=True)
        roots[pkg] = root
    return roots


def main():
    args = sys.argv[1:]
    more = args[:1] == ["--more"]
    if more:
        args = args[1:]
    if len(args) > 1 or args[:1] and args[0].startswith("-"):
        sys.exit(__doc__)
    sources = MORE_SOURCES if more else SOURCES
    default = "photos-more" if more else "photos-extra"
    out = args[0] if args else os.path.join(os.path.dirname(__file__), default)
    os.makedirs(out, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        roots = unpack(tmp, sources)
        lines = []
        for name, pkg, path in sources:
            save_grey(Image.open(os.path.join(roots[pkg], path)), os.path.join(out, name + ".jpg"))
            lines.append("train %s.jpg" % name)
    with open(os.path.join(out, "SPLIT.txt"), "w") as f:
        f.write(HEADERS[more] + "# 8-bit grey, longest side 640 px, JPEG quality 90. Training only.\n")
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
