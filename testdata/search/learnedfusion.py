#!/usr/bin/python3
"""A learned fusion of the scan's score and the verifier's views: an
offline diagnostic (models/SEARCH.md, "Class biases and a learned fusion
of the verifier's views"). It chooses nothing by itself.

usage: learnedfusion.py compare FIT.pkl -- HELD.pkl
       learnedfusion.py fit OUT.json FIT.pkl...
       learnedfusion.py write FUSION.json OUTDIR SETS_DIR HELD.pkl...

The .pkl files are classbias.py extract's: each box's scan score and the
verifier's logits at its 27 views, mirrored and not. The defaults score a
box sqrt(scan score * the least view's p(dress)). A fusion is a logistic
regression over readings of the same box, fitted on FIT's boxes (a box is
positive when it overlaps a dress at IoU >= 0.5), L2 1e-3 on standardised
features, LBFGS from zero (deterministic):

  scan     log-odds of the scan's score
  least, mean, most, spread
           of the views' p(dress) in log-odds (mirror averaged)
  box      the box itself's p(dress) in log-odds
  no item  the views' mean p(no item), log-odds
  other    the views' mean p(likeliest other garment), log-odds
  side     log of the box's side over 28 pixels

compare: each set of features below fitted on FIT, read on FIT and on
HELD; recall at <= 0.1 FP/image against the defaults' score, boxes kept
by NMS at 0.3 as the scan keeps them.

fit: the fusion of FEATURES fitted on FIT (pooled), written to OUT.json
with its weights on the features as they are (the standardisation
folded in).

write: both arms rescored from HELD's readings, each box kept by NMS at
0.3, as OUTDIR/defaults/SET.jsonl and OUTDIR/fused/SET.jsonl (scan
records for testdata/search/pool.sh and `fc2conv eval detect`; image
sizes from SETS_DIR/SET/truth.jsonl).
"""
import json
import os
import sys

import numpy as np
import torch

from classbias import load, prepare, recalls, softmax, verified
from ladder import iou, jsonl
from recentre import VIEWS27, nms
from verifier_views import DRESS

NO_ITEM = 10
EPS = 1e-6
BOX = VIEWS27.index((0, 0, 1))  # the box itself among extract's views
NAMES = ["scan", "least", "mean", "most", "spread", "box", "no item", "other", "side"]
# The fusion rule 78 judges: the views' readings and the scan's, not the
# box's size (a prior on where the scene generator puts its items, which
# photographs we do not have need not share).
FEATURES = ["scan", "least", "mean", "most", "spread", "box"]
SUBSETS = {
    "scan, least (the defaults' family)": ["scan", "least"],
    "scan, mean": ["scan", "mean"],
    "scan, least, mean": ["scan", "least", "mean"],
    "scan, least, mean, most": ["scan", "least", "mean", "most"],
    "the views' readings (FEATURES)": FEATURES,
    "+ no item, other": FEATURES + ["no item", "other"],
    "+ no item, other, side": NAMES,
}


def logit(p):
    p = np.clip(p, EPS, 1 - EPS)
    return np.log(p / (1 - p))


def features(images, z, s, names=NAMES):
    prob = softmax(z).mean(2)  # box, view, class: mirror averaged
    lp = logit(prob[:, :, DRESS])
    others = np.delete(prob, [DRESS, NO_ITEM], axis=2).max(2)
    side = np.array([np.log((b[0][2] - b[0][0]) / 28) for *_, boxes in images for b in boxes])
    all_ = {"scan": logit(s), "least": lp.min(1), "mean": lp.mean(1), "most": lp.max(1), "spread": lp.std(1),
            "box": lp[:, BOX], "no item": logit(prob[:, :, NO_ITEM].mean(1)), "other": logit(others.mean(1)),
            "side": side}
    return np.stack([all_[n] for n in names], 1)


def labels(images):
    return np.array([float(any(iou(b[0], t) >= 0.5 for t in truth)) for _, _, truth, boxes in images for b in boxes])


def fitted(x, y):
    """Weights and bias of the logistic regression on x's raw columns."""
    mu, sd = x.mean(0), x.std(0) + EPS
    xt = torch.tensor((x - mu) / sd, dtype=torch.float64)
    yt = torch.tensor(y, dtype=torch.float64)
    w = torch.zeros(x.shape[1] + 1, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([w], max_iter=500, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(xt @ w[:-1] + w[-1], yt) + 1e-3 * (w[:-1] ** 2).sum()
        loss.backward()
        return loss
    opt.step(closure)
    w = w.detach().numpy()
    return w[:-1] / sd, float(w[-1] - (w[:-1] * mu / sd).sum())


def fused(images, z, s, fusion):
    x = features(images, z, s, fusion["features"])
    return 1 / (1 + np.exp(-(x @ np.array(fusion["weights"]) + fusion["bias"])))


def fusion_of(images, names):
    z, s = prepare(images)
    w, b = fitted(features(images, z, s, names), labels(images))
    return {"features": names, "weights": [float(v) for v in w], "bias": b}


def compare(fit, held):
    pz, hz = prepare(fit), prepare(held)
    print(f"fit {len(fit)} images, held {len(held)}; recall at <= 0.1 FP/image, fused − defaults")
    for label, names in SUBSETS.items():
        f = fusion_of(fit, names)
        gains = [recalls(im, fused(im, *zs, f))[0] - recalls(im, verified(*zs))[0] for im, zs in ((fit, pz), (held, hz))]
        print(f"  {label:38s} on fit {gains[0]:+.4f}, on held {gains[1]:+.4f}", flush=True)


def write(fusion, outdir, setsdir, images):
    z, s = prepare(images)
    arms = {"defaults": verified(z, s), "fused": fused(images, z, s, fusion)}
    for arm, score in arms.items():
        print(f"{arm}: recall at <= 0.1 FP/image {recalls(images, score)[0]:.4f} over {len(images)} images")
        records, k = {}, 0
        for name, image, _, boxes in images:
            kept = nms([{"box": b[0], "score": float(score[k + i]), "scan_score": b[1]} for i, b in enumerate(boxes)])
            k += len(boxes)
            records.setdefault(name, []).append((image, kept))
        os.makedirs(os.path.join(outdir, arm), exist_ok=True)
        for name, recs in records.items():
            size = {t["image"]: (t["width"], t["height"]) for t in jsonl(os.path.join(setsdir, name, "truth.jsonl"))}
            with open(os.path.join(outdir, arm, name + ".jsonl"), "w") as f:
                for image, kept in recs:
                    w, h = size[image]
                    f.write(json.dumps({"image": image, "width": w, "height": h, "detections": kept}) + "\n")


def main():
    a = sys.argv[1:]
    if len(a) == 4 and a[0] == "compare" and a[2] == "--":
        compare(load([a[1]]), load([a[3]]))
    elif len(a) >= 3 and a[0] == "fit":
        f = fusion_of(load(a[2:]), FEATURES)
        f["fitted_on"] = [os.path.basename(p) for p in a[2:]]
        with open(a[1], "w") as out:
            json.dump(f, out, indent=1)
        print(json.dumps(f))
    elif len(a) >= 5 and a[0] == "write":
        with open(a[1]) as f:
            fusion = json.load(f)
        write(fusion, a[2], a[3], load(a[4:]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
