"""A converted model (.safetensors, FCN form) run in PyTorch by
../shared/bench/dress_peer.py's loader, scoring windows as the scan does:
cut from an image and resampled to the model's window (PIL, bilinear,
antialiased when shrinking, as the pyramid's filter), normalised by the
model's input spec, and mirror averaged. Shared by the offline
diagnostics here (rescore.py, view_rates.py)."""
import os
import sys

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../../shared/bench"))
from dress_peer import build, load  # noqa: E402


def crop(img, box, window):
    """The window-by-window resampling of a grey image under box (x0, y0,
    x1, y1, continuous), as the scan's pyramid sees it."""
    return np.asarray(img.resize((window, window), Image.BILINEAR, box=box), np.float32)


class PeerModel:
    def __init__(self, path):
        torch.set_grad_enabled(False)
        torch.set_num_threads(1)
        meta, tensors = load(path)
        self.net = build(meta, tensors)
        spec = meta["input"]
        self.window, self.mean, self.std = spec["width"], spec["mean"][0], spec["std"][0]
        # A verifier's window shows its box with this much around it
        # (nn.InputSpec.Context); callers that crop boxes scale them by it.
        self.context = spec.get("context", 1.0)
        self.positive = meta.get("positive", 1)

    def crop(self, img, box):
        """The window under box (x0, y0, x1, y1, continuous) of a grey image."""
        return crop(img, box, self.window)

    def scores(self, crops):
        """p(positive) of each crop, mirror averaged, as a numpy array."""
        x = (torch.from_numpy(np.stack(crops))[:, None] / 255 - self.mean) / self.std
        net, pos = self.net, self.positive
        return ((net(x)[:, pos, 0, 0] + net(torch.flip(x, [3]))[:, pos, 0, 0]) / 2).numpy()
