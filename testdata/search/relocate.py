#!/usr/bin/python3
"""Ways to let the verifier frame a box before it scores it, compared
offline on the same boxes: the selection step of rule 46
(models/SEARCH.md). Chooses nothing by itself.

usage: relocate.py VERIFIER SCANDIR SETDIR...

SCANDIR holds each set's scan as SET.jsonl, made with the defaults (the
pair and VERIFIER at equal weight, --threshold 0.05); VERIFIER is that
verifier's converted file, run in PyTorch as peermodel.py says, each box
shown with the context its input spec stores. For each box scored 0.3 or
more the verifier's class probabilities are read on a grid of views (the
box's centre moved by SHIFTS of its side each way, its sides scaled by
exp(SCALES)); each variant reads the part of the grid it names. The scan's own score s is recovered as
score^2 / p(box). A variant takes p(dress) from the view the verifier
finds most item-like (1 - p(no item), its last class): on a garment the
scan's box is the most dress-like of many windows, and the view that
frames the item best should show it as what it is. Each variant is scored
by recall at <= 0.1 FP/image, pooled and per family of sets (the set
name's letters), as verifier_views.py scores its variants (no second NMS).
"""
import itertools
import math
import sys

import numpy as np
import torch

from peermodel import PeerModel
from verifier_views import DRESS, FLOOR, boxes, probabilities, score_all

SHIFTS = (-0.15, -0.075, -0.05, 0, 0.05, 0.075, 0.15)
SCALES = (-0.24, -0.12, 0, 0.12, 0.24)  # logs of the side's factor
VIEWS = [(0, 0, 0)] + [v for v in itertools.product(SHIFTS, SHIFTS, SCALES) if v != (0, 0, 0)]


def at_views(peer, img, box):
    """Class probabilities, mirror averaged, at each of VIEWS of box."""
    return probabilities(peer, img, box, [(dx, dy, math.exp(ls)) for dx, dy, ls in VIEWS])


def grid(shifts, scales):
    """The indices of VIEWS with both shifts in shifts and the scale in scales."""
    return [VIEWS.index((dx, dy, ls)) for dx in shifts for dy in shifts for ls in scales]


def pick(p, idx, share=False):
    """p(dress) at the most item-like of the views idx (or, with share,
    p(dress) / p(any item) there)."""
    item = 1 - p[idx, -1]
    j = idx[int(np.argmax(item))]
    if share:
        return float(p[j, DRESS] / max(1 - p[j, -1], 1e-9))
    return float(p[j, DRESS])


def soft(p, idx, k):
    """p(dress) over views idx, each weighted by its item-ness to the k."""
    w = (1 - p[idx, -1]) ** k
    return float((w * p[idx, DRESS]).sum() / max(w.sum(), 1e-12))


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    torch.set_grad_enabled(False)
    peer = PeerModel(sys.argv[1])
    kept, truth = boxes(peer, sys.argv[2], sys.argv[3:], at_views)
    near, far = grid((-0.075, 0, 0.075), (-0.12, 0, 0.12)), grid((-0.15, -0.075, 0, 0.075, 0.15), SCALES)
    shifted = grid((-0.15, -0.075, 0, 0.075, 0.15), (0,))
    near_shifts, scales = grid((-0.075, 0, 0.075), (0,)), grid((0,), (-0.12, 0, 0.12))
    seven = [VIEWS.index(v) for v in [(0, 0, 0), (-0.05, 0, 0), (0.05, 0, 0), (0, -0.05, 0), (0, 0.05, 0), (0, 0, -0.12), (0, 0, 0.12)]]
    small = grid((-0.05, 0, 0.05), (-0.12, 0, 0.12))
    variants = {
        "the scan as it is": None,
        "the box alone (the defaults again)": lambda p: float(p[0, DRESS]),
        "most item-like of 3x3x3 (0.075, 0.12)": lambda p: pick(p, near),
        "most item-like of 5x5x5 (0.15, 0.24)": lambda p: pick(p, far),
        "most item-like of 5x5 shifts (0.15)": lambda p: pick(p, shifted),
        "dress share there, 3x3x3": lambda p: pick(p, near, True),
        "dress share there, 5x5x5": lambda p: pick(p, far, True),
        "item-weighted mean, 3x3x3, k 8": lambda p: soft(p, near, 8),
        "item-weighted mean, 5x5x5, k 8": lambda p: soft(p, far, 8),
        "mean of 3x3x3": lambda p: float(p[near, DRESS].mean()),
        "least of 3x3x3": lambda p: float(p[near, DRESS].min()),
        "least of the 7 views": lambda p: float(p[seven, DRESS].min()),
        "mean of the 7 views": lambda p: float(p[seven, DRESS].mean()),
        "least of 3x3 shifts (0.075)": lambda p: float(p[near_shifts, DRESS].min()),
        "mean of 3x3 shifts (0.075)": lambda p: float(p[near_shifts, DRESS].mean()),
        "least of 3 scales (0.12)": lambda p: float(p[scales, DRESS].min()),
        "least of 3x3x3 at shift 0.05": lambda p: float(p[small, DRESS].min()),
        "25th percentile of 3x3x3": lambda p: float(np.percentile(p[near, DRESS], 25)),
        "mean of the lower half of 3x3x3": lambda p: float(np.sort(p[near, DRESS])[:13].mean()),
    }
    families = sorted({fam for fam, _ in truth.values()})
    print(f"{len(truth)} images, {len(kept)} boxes scored >= {FLOOR}, {len(VIEWS)} views each; "
          f"recall at <= 0.1 FP/image, pooled then " + ", ".join(families))
    for label, v in variants.items():
        # Each box's score becomes sqrt(s variant(p)); None keeps the scan's.
        rescored = (lambda score, s, p: score) if v is None else (lambda score, s, p, v=v: math.sqrt(s * v(p)))
        figures = [score_all(rescored, kept, truth, fam) for fam in [None] + families]
        print(f"  {label:40s} " + "  ".join(f"{x:.4f}" for x in figures))


if __name__ == "__main__":
    main()
