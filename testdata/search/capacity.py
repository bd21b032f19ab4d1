#!/usr/bin/python3
"""Is the verifier's reading of painted garments a limit of its size? A
diagnostic (models/SEARCH.md, "A wider verifier at the truth boxes"); it
chooses nothing.

usage: capacity.py [--side N] [--context K] [--twins] [--lr R] train CROPS.bin ARCH EPOCHS OUT.pt
       capacity.py [--side N] [--context K] --twins [--twin-weight S] [--lr R] train-twins CROPS.bin ARCH EPOCHS OUT.pt
       capacity.py [--side N] [--context K] eval ARCH MODEL.pt SCANDIR OUTDIR SETDIR...
       capacity.py [--side N] [--context K] eval-with VERIFIER ARCH MODEL.pt SCANDIR OUTDIR SETDIR...

--side N (default 28): the network reads N x N windows, each box still
shown with the verifier's context 9/7, so at 36 an item's box spans 28
pixels, a Fashion-MNIST item's own, where at 28 it spans 22 ("Does the
verifier see too few pixels?" in models/SEARCH.md); CROPS.bin must be
paintcrops' -side N. --context K (default 9/7) shows each box with K
times its side around it, as paintcrops' -context K cut CROPS.bin.

train: CROPS.bin is paintcrops' output cut as a verifier's crops are
(-jitter 0.05 -scale-jitter 0.12 -background 1 -context 9/7 -print 0.2:
items at jittered boxes with the verifier's context, background boxes as
"no item"), eleven classes; ARCH as ceiling.py's (bn3s, the verifier's
shape; bn3; wide, about 8x its work). Random mirror, Adam at --lr R
(1e-3 unless told, as every network before session 67) with a cosine
decay, batch 128, one thread, seed 1; a twentieth is held out
and its dress-against-the-rest AUC printed after each epoch.

--twins: CROPS.bin is paintcrops' -clean output, each crop followed by
its clean twin (the same cut with black under the items). train reads
the crops alone, as without --twins, so that both commands train on the
same bytes. train-twins trains the same network on the same stream
(the same initial weights, batches and mirrors) with a second target
during training only ("A verifier taught where its item is" in
models/SEARCH.md): a 1x1 convolution reads the maps after the first pool
and is fitted, by mean squared error, to the clean twin averaged over
the 2x2 pixels each map pixel is centred on, in [0, 1]; its loss is
weighted so that it starts level with the class loss (ln 11 over the
twins' mean square), times --twin-weight S (1 by default). The head is
dropped when the network is saved, so eval reads it as any other.

eval: the network in the verifier's place in recentre.py's pipeline on
the boxes of SCANDIR's scans (scored 0.1 or more there): each box scored
sqrt(scan_score * the least of its 27 views), NMS at 0.3, written as
OUTDIR/asis/SET.jsonl (at the scan's box) and OUTDIR/truth/SET.jsonl
(at the truth box of any item it overlaps at IoU >= 0.3, recentre.py's
oracle), for `fc2conv eval detect`. eval-with puts the network and the
converted VERIFIER in its place together, each shown every view through
its own window (--side and --context are the network's), their
probabilities averaged view by view before the least (as `fc2conv
ensemble` averages members).
Comparing two ARCHs trained alike
on the same boxes says what width gives; neither is compared with the
shipped verifier, whose recipe (mining, raw items, garment weights) is
not this one.
"""
import sys

import numpy as np
import torch
import torch.nn.functional as F

from ceiling import auc, net
from painted_ceiling import fit, load
from peermodel import PeerModel, crop
from verifier_views import DRESS
from recentre import VIEWS27, detection, least27, rescore, truth_box
from verifier_views import probabilities

CONTEXT = 9 / 7


def p_all(model, x):
    with torch.no_grad():
        return (F.softmax(model(x), 1) + F.softmax(model(torch.flip(x, [3])), 1)) / 2


def load_twins(path, side):
    """paintcrops -clean's crops (normalised as load's), their labels and
    their clean twins in [0, 1]."""
    raw = np.fromfile(path, np.uint8).reshape(-1, 1 + 2 * side * side)
    px = raw[:, 1:1 + side * side].reshape(-1, 1, side, side)
    clean = raw[:, 1 + side * side:].reshape(-1, 1, side, side)
    x = torch.tensor((px / 255.0 - 0.5) / 0.5, dtype=torch.float32)
    return x, torch.tensor(raw[:, 0], dtype=torch.long), torch.tensor(clean / 255.0, dtype=torch.float32)


def train(path, arch, epochs, out, side=28, twins=False, taught=False, scale=1.0, lr=1e-3):
    torch.set_grad_enabled(True)  # the peer loaders import with it off
    torch.set_num_threads(1)
    torch.manual_seed(1)
    if twins:
        x, y, clean = load_twins(path, side)
    else:
        x, y = load(path, side)
    held = torch.arange(len(y)) % 20 == 0
    xv, yv = x[held], y[held]
    model = net(arch, 11, side)

    def report(epoch, secs, _):
        p = torch.cat([p_all(model, c) for c in xv.split(1024)])[:, DRESS].numpy()
        print(f"epoch {epoch + 1}: held-out dress AUC {auc(p, (yv == DRESS).numpy()):.5f}, {secs:.0f} s", flush=True)
    if taught:
        fit_twins(model, x[~held], y[~held], clean[~held], epochs, report, scale, lr)
    else:
        fit(model, x[~held], y[~held], epochs, report, lr)
    torch.save(model.state_dict(), out)


def first_pool(model, window):
    """The index in model (a ceiling.net) of its first max-pool, how many
    maps it reads, and where its map pixels sit in a window of that side:
    pixel j's block of input pixels starts at origin + j * step, is step
    pixels wide, and there are side of them a row."""
    centre, step, maps, side = 0.0, 1, 0, window
    for i, layer in enumerate(model):
        if isinstance(layer, torch.nn.MaxPool2d):
            centre, step = centre + 0.5 * step, step * 2
            return i, maps, round(centre - (step - 1) / 2), step, side // 2
        if isinstance(layer, torch.nn.Conv2d):
            trim = (layer.kernel_size[0] - 1) // 2 - layer.padding[0]
            centre += trim * step
            side -= 2 * trim
            maps = layer.out_channels
    sys.exit("capacity.py: the network has no pool")


def fit_twins(model, x, y, clean, epochs, after_epoch, scale=1.0, lr=1e-3):
    """painted_ceiling.fit with the clean-twin head beside the class loss
    (train-twins in the usage), so the same stream of batches and
    mirrors; scale multiplies the twin loss's weight."""
    cut, maps, origin, step, side = first_pool(model, x.shape[-1])
    with torch.random.fork_rng():  # the head's weights draw nothing from the stream
        torch.manual_seed(2)
        head = torch.nn.Conv2d(maps, 1, 1)
    span = side * step  # the map's pixels' blocks, end to end
    if origin + span > x.shape[-1]:
        sys.exit("capacity.py: the first pool's maps reach past the window")
    target = F.avg_pool2d(clean[:, :, origin:origin + span, origin:origin + span], step)
    weight = scale * float(np.log(11) / (target ** 2).mean())
    print(f"twin loss weight {weight:.3f}", flush=True)
    last = {}

    def loss_of(xb, b, flip):
        tb = target[b]
        tb[flip] = torch.flip(tb[flip], [3])
        maps = model[:cut + 1](xb)
        last["twin"] = F.mse_loss(head(maps), tb)  # the same shape, or mse_loss broadcasts and warns
        return F.cross_entropy(model[cut + 1:](maps), y[b]) + weight * last["twin"]

    def report(epoch, secs, loss):
        print(f"  twin loss {last['twin'].item():.5f}", flush=True)
        after_epoch(epoch, secs, loss)
    fit(model, x, y, epochs, report, lr, loss_of, head.parameters())


class TorchVerifier:
    """A trained ceiling.net, shown boxes as peermodel.PeerModel shows a
    converted verifier: grey windows with CONTEXT, mirror averaged by the
    caller, outputs as N x classes x 1 x 1 probabilities."""

    def __init__(self, arch, path, side=28, context=CONTEXT):
        self.model = net(arch, 11, side)
        self.model.load_state_dict(torch.load(path))
        self.model.eval()
        self.window, self.mean, self.std, self.context, self.positive = side, 0.5, 0.5, context, DRESS

    def net(self, x):
        return F.softmax(self.model(x), 1)[:, :, None, None]

    def crop(self, img, box):
        return crop(img, box, self.window)


class Averaged:
    """Two verifiers shown the same boxes, each through its own window
    (side and context), their probabilities averaged view by view."""

    def __init__(self, a, b):
        self.a, self.b = a, b
        self.mean, self.positive = a.mean, a.positive
        if (b.mean, b.positive) != (a.mean, a.positive):
            sys.exit("capacity.py: the two verifiers pad or score differently")

    def least27(self, img, box):
        p = (probabilities(self.a, img, box, VIEWS27) + probabilities(self.b, img, box, VIEWS27)) / 2
        return float(p[:, self.positive].min())


def least(peer, img, box):
    """The least p(positive) over the scan's 27 views of box."""
    return peer.least27(img, box) if isinstance(peer, Averaged) else least27(peer, img, box)


def evaluate(arch, path, scandir, outdir, sets, verifier=None, side=28, context=CONTEXT):
    torch.set_grad_enabled(False)
    torch.set_num_threads(1)
    peer = TorchVerifier(arch, path, side, context)
    if verifier:
        peer = Averaged(PeerModel(verifier), peer)

    def variants(img, d, truth):
        s0, box = d["scan_score"], d["box"]
        bt = truth_box(box, truth)
        return {"asis": detection(box, s0, least(peer, img, box)), "truth": detection(bt, s0, least(peer, img, bt))}
    rescore(peer, scandir, outdir, sets, variants)


def main():
    a = sys.argv[1:]
    side, context, twins, scale, lr = 28, CONTEXT, False, 1.0, 1e-3
    while a and a[0] in ("--side", "--context", "--twins", "--twin-weight", "--lr"):
        if a[0] == "--twins":
            twins, a = True, a[1:]
            continue
        if len(a) < 2:
            sys.exit(__doc__)
        if a[0] == "--twin-weight":
            scale = float(a[1])
        elif a[0] == "--lr":
            lr = float(a[1])
        elif a[0] == "--side":
            side = int(a[1])
        else:
            context = float(a[1])
        a = a[2:]
    if not 8 <= side <= 112:
        sys.exit(f"capacity.py: --side {side}: want 8 to 112")
    if not 1 <= context <= 3:
        sys.exit(f"capacity.py: --context {context}: want 1 to 3")
    if not 0 < scale <= 100:
        sys.exit(f"capacity.py: --twin-weight {scale}: want more than 0, at most 100")
    if not 0 < lr < 1:
        sys.exit(f"capacity.py: --lr {lr}: want more than 0, below 1")
    if len(a) == 5 and a[0] == "train":
        train(a[1], a[2], int(a[3]), a[4], side, twins, lr=lr)
    elif len(a) == 5 and a[0] == "train-twins" and twins:
        train(a[1], a[2], int(a[3]), a[4], side, twins, taught=True, scale=scale, lr=lr)
    elif len(a) >= 6 and a[0] == "eval":
        evaluate(a[1], a[2], a[3], a[4], a[5:], side=side, context=context)
    elif len(a) >= 7 and a[0] == "eval-with":
        evaluate(a[2], a[3], a[4], a[5], a[6:], verifier=a[1], side=side, context=context)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
