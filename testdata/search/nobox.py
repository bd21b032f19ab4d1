#!/usr/bin/python3
"""The dresses a scan leaves with no box at IoU >= 0.5, each scored at its
own truth box by both stages: is the first stage misplacing them, or do
both networks reject them wherever the box is? A diagnostic
(models/SEARCH.md, "A box regressor before the verifier"); it chooses
nothing.

usage: nobox.py MEMBERS VERIFIER TRUTH.jsonl SCAN.jsonl SETSDIR

TRUTH and SCAN are pooled as valeval.sh pools them (each image named
SET_scene_NNN.png); SETSDIR holds the sets (SETSDIR/SET/scene_NNN.png).
MEMBERS and VERIFIER are converted models run in PyTorch as peermodel.py
says: the members once at the box, the verifier by the least of its 27
views (recentre.py), both mirror averaged. Prints one line per such dress
(image, side, best IoU of any box, members' p, verifier's p) and how many
score below 0.35 on both.
"""
import os
import re
import sys

import numpy as np
import torch

from ladder import iou, jsonl
from peermodel import PeerModel
from recentre import least27
from verifier_views import DRESS, padded, windows

LOW = 0.35


def main():
    if len(sys.argv) != 6:
        sys.exit(__doc__)
    torch.set_grad_enabled(False)
    members, verifier = PeerModel(sys.argv[1]), PeerModel(sys.argv[2])
    truth = {t["image"]: t for t in jsonl(sys.argv[3])}
    rows = []
    for rec in jsonl(sys.argv[4]):
        name = os.path.basename(rec["image"])
        m = re.match(r"(.+?)_(scene_.*)", name)
        if not m or name not in truth:
            sys.exit(f"nobox.py: {sys.argv[4]}: {name} is not a pooled scene of {sys.argv[3]}")
        img = None
        for o in truth[name]["objects"]:
            if o["class"] != DRESS:
                continue
            best = max((iou(d["box"], o["box"]) for d in rec["detections"]), default=0)
            if best >= 0.5:
                continue
            if img is None:
                img = padded(verifier, os.path.join(sys.argv[5], m.group(1), m.group(2)))
            x = windows(members, img, o["box"], [(0, 0, 1)])
            pm = float(((members.net(x) + members.net(torch.flip(x, [3]))) / 2)[0, members.positive, 0, 0])
            rows.append((name, o["box"][2] - o["box"][0], best, pm, least27(verifier, img, o["box"])))
    for name, side, best, pm, pv in sorted(rows, key=lambda r: r[1]):
        print(f"{name:24s} side {side:5.1f}  best IoU {best:.2f}  members {pm:.3f}  verifier {pv:.3f}")
    pm, pv = np.array([r[3] for r in rows]), np.array([r[4] for r in rows])
    low = int(((pm < LOW) & (pv < LOW)).sum())
    print(f"{len(rows)} dresses without a box at IoU >= 0.5; {low} score below {LOW} on both stages at their truth box "
          f"(medians: members {np.median(pm):.3f}, verifier {np.median(pv):.3f})")


if __name__ == "__main__":
    main()
