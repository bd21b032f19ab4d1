#!/usr/bin/python3
"""Pin the shipped model's heatmap to PyTorch's.

Reads models/dress-fcn.safetensors (the embedded, fully convolutional
model), builds the same network from PyTorch's own layers, runs it on a
fixed crop of testdata/samples/scene_000.png and writes
testdata/torch/shipped.golden.safetensors with

  input   (1,H,W)  the preprocessed crop: grey (BT.601 luma for colour
                   images; the sample is already grey), scaled to [0,1] and
                   normalised with the model's mean and std, so Go runs on
                   exactly these numbers and no resize or decoding is involved
  output  (K,R,Q)  PyTorch's heatmap on it (the model's softmax)
  logits  (K,R,Q)  the input of that softmax, which the saturated softmax
                   cannot hide

and, in the metadata, the crop, the source image and the model file's
SHA-256, so a changed model is told apart from a changed engine.

Run from the repo root (reads models/, writes only testdata/torch/):

    /usr/bin/python3 testdata/torch/shipped.py

Needs torch, numpy and PIL (Debian's python3-torch, python3-numpy, python3-pil).
"""
import hashlib
import json
import os
import struct
import sys

import numpy as np
import torch
import torch.nn as tnn
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen import np32, write_safetensors  # noqa: E402  (also sets torch single-threaded, no grad)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODEL = "models/dress-fcn.safetensors"
IMAGE = "testdata/samples/scene_000.png"
# 96×160 (h×w) around the only garment in it, the dress at x 671–703,
# y 67–99 of scene_000, pasted over printed text: a heatmap of 18×34 cells
# whose dress scores run from about 0 to 0.93.
CROP_Y, CROP_X, CROP_H, CROP_W = 30, 600, 96, 160
OUT = os.path.join(ROOT, "testdata", "torch", "shipped.golden.safetensors")


def read_model(path):
    """The architecture document and the F32 tensors of an fc2conv model file."""
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    header = json.loads(b[8:8 + n])
    doc = json.loads(header.pop("__metadata__")["fc2conv"])
    data = b[8 + n:]
    tensors = {}
    for name, e in header.items():
        assert e["dtype"] == "F32", (name, e["dtype"])
        s, t = e["data_offsets"]
        tensors[name] = torch.from_numpy(np.frombuffer(data[s:t], "<f4").reshape(e["shape"]).copy())
    return doc, tensors, hashlib.sha256(b).hexdigest()


def build(doc, tensors):
    """The fully convolutional network as PyTorch layers, with dense weights
    as stored (an ensemble's block-diagonal convs stay one dense conv)."""
    mods = []
    for l in doc["layers"]:
        name, ty = l["name"], l["type"]
        if ty == "conv2d":
            m = tnn.Conv2d(l["in_channels"], l["out_channels"], tuple(l["kernel"]), tuple(l["stride"]),
                           tuple(l["padding"]))
            m.weight.copy_(tensors[name + ".weight"])
            m.bias.copy_(tensors[name + ".bias"])
        elif ty == "maxpool2d":
            m = tnn.MaxPool2d(tuple(l["kernel"]), tuple(l["stride"]), tuple(l["padding"]))
        elif ty == "avgpool2d":
            m = tnn.AvgPool2d(tuple(l["kernel"]), tuple(l["stride"]), tuple(l["padding"]),
                              count_include_pad=l["count_include_pad"])
        elif ty == "batchnorm":
            m = tnn.BatchNorm2d(l["num_features"], eps=l["eps"])
            for ours, theirs in (("weight", "weight"), ("bias", "bias"), ("running_mean", "running_mean"),
                                 ("running_var", "running_var")):
                getattr(m, theirs).copy_(tensors[name + "." + ours])
        elif ty == "relu":
            m = tnn.ReLU()
        elif ty == "sigmoid":
            m = tnn.Sigmoid()
        elif ty == "softmax":
            m = tnn.Softmax(dim=1)
        else:
            sys.exit("%s: layer %s of type %s is not expected in a fully convolutional model" % (MODEL, name, ty))
        mods.append(m)
    return tnn.Sequential(*mods).eval()


def grey(path):
    """Grey levels 0..255 as float32: BT.601 luma for colour images."""
    im = Image.open(path)
    if im.mode == "L":
        return np.asarray(im, np.float32)
    rgb = np.asarray(im.convert("RGB"), np.float32)
    return (np.float32(0.299) * rgb[..., 0] + np.float32(0.587) * rgb[..., 1]
            + np.float32(0.114) * rgb[..., 2]).astype(np.float32)


def main():
    doc, tensors, digest = read_model(os.path.join(ROOT, MODEL))
    net = build(doc, tensors)
    spec = doc["input"]
    assert spec["channels"] == 1, "the crop is grey: a 1-channel model is expected"
    g = grey(os.path.join(ROOT, IMAGE))
    crop = g[CROP_Y:CROP_Y + CROP_H, CROP_X:CROP_X + CROP_W]
    assert crop.shape == (CROP_H, CROP_W), crop.shape
    mean, std = np.float32(spec["mean"][0]), np.float32(spec["std"][0])
    x = torch.from_numpy(((crop / np.float32(255) - mean) / std).astype(np.float32))[None]

    head = net[-1] if isinstance(net[-1], (tnn.Softmax, tnn.Sigmoid)) else None
    body = net[:-1] if head is not None else net
    logits = body(x[None])[0]
    out = net(x[None])[0]
    assert head is None or (head(logits[None])[0] == out).all()

    meta = {"model": MODEL, "model_sha256": digest, "image": IMAGE,
            "crop": "y=%d x=%d h=%d w=%d" % (CROP_Y, CROP_X, CROP_H, CROP_W),
            "torch": torch.__version__}
    tensors = [("input", np32(x)), ("output", np32(out))]
    if head is not None:
        tensors.append(("logits", np32(logits)))
    size = write_safetensors(OUT, tensors, meta)
    pos = doc.get("positive", 0)
    print("shipped: input %s -> output %s, class %d in [%.4g, %.4g], logits in [%.3g, %.3g]; %d bytes" % (
        "x".join(map(str, x.shape)), "x".join(map(str, out.shape)), pos, out[pos].min().item(),
        out[pos].max().item(), logits.min().item(), logits.max().item(), size))


if __name__ == "__main__":
    main()
