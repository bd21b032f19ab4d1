#!/usr/bin/env python3
"""How far can a 28x28 classifier go on items painted on photographs when
that is all it learns? A diagnostic for issue 22's recall target, outside
our training, the painted twin of ceiling.py: PyTorch, the items of
paintcrops (each scene item of `fc2conv scenes`-style scenes on the
training photographs, cut at its truth box and resampled to 28x28; train
items only, the held-out split left out), ten classes, random mirror,
Adam 1e-3 with a cosine decay, batch 128. Then every item of the given
validation scene sets is scored once at its truth box, as oracle.py's
`centre` does, and written as a scan for `fc2conv eval detect`; the
network's weights go to OUTDIR/model.pt.

usage: painted_ceiling.py CROPS.bin ARCH EPOCHS OUTDIR SCENEDIR...

CROPS.bin: from `go run ./testdata/search/paintcrops N CROPS.bin` (one
label byte and 784 pixel bytes per crop; label 10, "no item", from its
-background, makes an eleventh class). ARCH as ceiling.py's.
"""
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

from ceiling import net
from oracle import SHIFTS, SIZES, write_scans  # its loader turns autograd off on import


def load(path, side=28):
    """paintcrops' crops of side x side pixels, normalised, and their labels."""
    raw = np.fromfile(path, np.uint8).reshape(-1, 1 + side * side)
    x = torch.tensor((raw[:, 1:].reshape(-1, 1, side, side) / 255.0 - 0.5) / 0.5, dtype=torch.float32)
    return x, torch.tensor(raw[:, 0], dtype=torch.long)


def p_dress(model, x):
    with torch.no_grad():
        return ((F.softmax(model(x), 1) + F.softmax(model(torch.flip(x, [3])), 1)) / 2)[:, 3].numpy()


def fit(model, x, y, epochs, after_epoch, lr=1e-3, loss_of=None, more_params=()):
    """Trains model on (x, y): random mirror, Adam at lr (1e-3 unless
    told) with a cosine decay, batch 128; after_epoch(epoch, seconds, last
    loss) is called after each epoch, the model in eval mode. loss_of(xb,
    b, flip), when given, is a batch's loss in place of the cross entropy
    (xb the batch, mirrored where flip, b its indices into x), and
    more_params are trained beside the model's."""
    if loss_of is None:
        def loss_of(xb, b, _):
            return F.cross_entropy(model(xb), y[b])
    opt = torch.optim.Adam(list(model.parameters()) + list(more_params), lr)
    steps = epochs * ((len(y) + 127) // 128)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    for epoch in range(epochs):
        start, model = time.time(), model.train()
        for b in torch.randperm(len(y)).split(128):
            xb = x[b]
            flip = torch.rand(len(b)) < 0.5
            xb[flip] = torch.flip(xb[flip], [3])
            loss = loss_of(xb, b, flip)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        model.eval()
        after_epoch(epoch, time.time() - start, loss.item())


def main():
    if len(sys.argv) < 6:
        sys.exit(__doc__)
    crops, arch, epochs, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    torch.set_grad_enabled(True)
    torch.manual_seed(1)
    x, y = load(crops)
    model = net(arch, int(y.max()) + 1)
    fit(model, x, y, epochs,
        lambda epoch, secs, loss: print(f"epoch {epoch + 1}/{epochs} loss {loss:.4f} {secs:.0f} s", flush=True))
    os.makedirs(out, exist_ok=True)
    torch.save(model.state_dict(), os.path.join(out, "model.pt"))
    write_scans(lambda crops: p_dress(model, (torch.from_numpy(np.stack(crops))[:, None] / 255 - 0.5) / 0.5),
                SIZES["centre"], SHIFTS["centre"], 28, 128, out, sys.argv[5:])


if __name__ == "__main__":
    main()
