#!/usr/bin/python3
"""Builds testdata/photos-extra, testdata/photos-more and
testdata/photos-plus: more training photographs, from Debian.

usage: /usr/bin/python3 testdata/extraphotos.py [--more | --plus] [OUTDIR]

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

With --plus it builds testdata/photos-plus instead (session 61): 19
photographs from two packages none of the others came from:

- lomiri-wallpapers-16.04 20.04.0-2, its 14 photographs (a bridge, a
  dragonfly, a fig, brushes, a room, mountains, a pattern of light, a
  bird, dogs at a window, a clock, a stream, a valley, dandelions, a
  sunset; umang is a gradient and is left out), each CC-BY-4.0,
  CC-BY-SA-4.0 or CC0-1.0 with its author as debian/copyright lists;
- palapeli-data 4:22.12.3-1, the five photographs of its puzzle
  collection (a castle, a bridge at night, citrus slices, a bee, a
  chameleon), GPL-2+ (debian/copyright's "Files: *").
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
LOMIRI16 = "lomiri-wallpapers-16.04=20.04.0-2"
PALAPELI = "palapeli-data=4:22.12.3-1"
PLUS_SOURCES = [("lomiri16-" + n.split("_by_")[0].lower().replace("_", ""), LOMIRI16, "usr/share/backgrounds/" + n) for n in (
    "Bridge_by_Sander_Klootwijk.jpg", "Dragonfly_by_Bolly.jpg", "Picture_0B_by_freespace.jpg",
    "Picture_1A_by_freespace.jpg", "Wine_by_Jakkub_Mede.jpg", "aitzgorri_by_Aitzol_Berasategi.jpg",
    "analogpattern_by_Peter_Nerlich.jpg", "free_by_Peter_Nerlich.jpg",
    "friends_by_Aitzol_Berasategi.jpg", "greentock_by_Peter_Nerlich.jpg",
    "life_by_Aitzol_Berasategi.jpg", "picosdeeuropa_by_Aitzol_Berasategi.jpg",
    "seeding_by_Clements_Engelhardt.jpg", "sunset_by_Aitzol_Berasategi.jpg")] + [
    ("palapeli-" + n, PALAPELI, "usr/share/palapeli/collection/%s.jpg" % n) for n in (
        "castle-maintenon", "cincinnati-bridge", "citrus-fruits", "european-honey-bee",
        "panther-chameleon-female")]
MODES = {  # flag: (sources, default dir, SPLIT.txt header)
    None: (SOURCES, "photos-extra",
           "# More training photographs (testdata/extraphotos.py), from Debian:\n"
           "# kde-*: plasma-workspace-wallpapers 4:5.27.5-2, LGPL-3 (each wallpaper's metadata.json);\n"
           "# mate-*: mate-backgrounds 1.26.0-1 nature set, GPL-2+ (debian/copyright).\n"),
    "--more": (MORE_SOURCES, "photos-more",
               "# Still more training photographs (testdata/extraphotos.py --more), from Debian:\n"
               "# cv-*: opencv-doc 4.6.0+dfsg-12, OpenCV's sample images, Apache-2.0 AND BSD-3-Clause (debian/copyright);\n"
               "# lomiri-*: lomiri-wallpapers-20.04 20.04.0-2, CC-BY-SA-3.0, Aury88 and Lukas Baubkus (debian/copyright).\n"),
    "--plus": (PLUS_SOURCES, "photos-plus",
               "# Training photographs from two more packages (testdata/extraphotos.py --plus), from Debian:\n"
               "# lomiri16-*: lomiri-wallpapers-16.04 20.04.0-2, CC-BY-4.0, CC-BY-SA-4.0 or CC0-1.0, each file's author in debian/copyright;\n"
               "#   by Sander Klootwijk (bridge), Bolly (dragonfly), Trevor Freespace (picture0b, picture1a), Jakub Mede (wine),\n"
               "#   Aitzol Berasategi (aitzgorri, friends, life, picosdeeuropa, sunset), Peter Nerlich (analogpattern, free,\n"
               "#   greentock), Clemens Engelhardt (seeding);\n"
               "# palapeli-*: palapeli-data 4:22.12.3-1, the puzzle collection, GPL-2+ (debian/copyright).\n"),
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
    flag = args[0] if args[:1] and args[0] in MODES else None
    if flag:
        args = args[1:]
    if len(args) > 1 or args[:1] and args[0].startswith("-"):
        sys.exit(__doc__)
    sources, default, header = MODES[flag]
    out = args[0] if args else os.path.join(os.path.dirname(__file__), default)
    os.makedirs(out, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        roots = unpack(tmp, sources)
        lines = []
        for name, pkg, path in sources:
            save_grey(Image.open(os.path.join(roots[pkg], path)), os.path.join(out, name + ".jpg"))
            lines.append("train %s.jpg" % name)
    with open(os.path.join(out, "SPLIT.txt"), "w") as f:
        f.write(header + "# 8-bit grey, longest side 640 px, JPEG quality 90. Training only.\n")
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
