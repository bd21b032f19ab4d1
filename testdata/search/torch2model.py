#!/usr/bin/env python3
"""Writes a network trained by ceiling.py or painted_ceiling.py (its
state dict, model.pt) as an fc2conv model file, ten classes (eleven when
it learnt "no item" too) with Dress positive and a softmax head, pixels scaled as our members' are, so that
`fc2conv convert` and `scan` can run it (a diagnostic; nothing ships).

usage: torch2model.py ARCH MODEL.pt OUT.safetensors
"""
import json
import os
import sys
from collections import OrderedDict

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../torch"))
from ceiling import net  # noqa: E402
from gen import layer_doc, np32, write_safetensors  # noqa: E402

LABELS = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    arch, weights, out = sys.argv[1:]
    state = torch.load(weights)
    classes = len(next(reversed(state.values())))  # the last layer's bias
    model = net(arch, classes)
    model.load_state_dict(state)
    model = torch.nn.Sequential(*model, torch.nn.Softmax(1)).eval()
    doc = OrderedDict(version=1)
    doc["input"] = OrderedDict(channels=1, height=28, width=28, mean=[0.5], std=[0.5])
    doc["labels"], doc["positive"], doc["threshold"] = (LABELS + ["no item"])[:classes], 3, 0.5
    doc["layers"], tensors = [], []
    for i, m in enumerate(model):
        d, params = layer_doc("l%d" % i, m)
        doc["layers"].append(d)
        tensors += [("l%d.%s" % (i, p), np32(t)) for p, t in params]
    write_safetensors(out, tensors, {"fc2conv": json.dumps(doc, separators=(",", ":")), "format": "pt"})


if __name__ == "__main__":
    main()
