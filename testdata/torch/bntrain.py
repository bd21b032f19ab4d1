#!/usr/bin/python3
"""Generate testdata/torch/bntrain*.safetensors: a small batch-normed network
in PyTorch's train mode, for graph's trained batch norm (issue 22).

  bntrain.safetensors         the model before the step, in fc2conv's format
                              (random weights, gamma, beta and running stats)
  bntrain.golden.safetensors  plain F32 tensors:
                                input (N,C,H,W), target (N,2) one-hot labels,
                                output (N,2) softmax of the train-mode forward,
                                loss (1,) mean cross-entropy,
                                grad.<layer>.<param> the loss's gradients,
                                running.<layer>.running_mean / running_var after
                                the forward (momentum 0.1)

Run from the repo root: /usr/bin/python3 testdata/torch/bntrain.py
Needs torch and numpy; reuses gen.py's safetensors and model writers.
"""
import os
import sys
from collections import OrderedDict

import torch
import torch.nn as tnn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen import OUT_DIR, np32, randomize_bn, write_model, write_safetensors  # noqa: E402

torch.set_num_threads(1)
torch.set_grad_enabled(True)  # gen.py turns it off


def main():
    g = torch.Generator().manual_seed(22)
    torch.manual_seed(22)
    net = tnn.Sequential(OrderedDict([
        ("conv", tnn.Conv2d(2, 3, 2)),
        ("bn1", tnn.BatchNorm2d(3)),
        ("relu1", tnn.ReLU()),
        ("flat", tnn.Flatten()),
        ("fc1", tnn.Linear(27, 4)),
        ("bn2", tnn.BatchNorm1d(4)),
        ("relu2", tnn.ReLU()),
        ("fc2", tnn.Linear(4, 2)),
        ("softmax", tnn.Softmax(dim=1)),
    ]))
    with torch.no_grad():
        randomize_bn(net, g)
    window = (2, 4, 4)
    write_model(os.path.join(OUT_DIR, "bntrain.safetensors"), net, window, labels=["not dress", "dress"], positive=1)

    n = 6
    x = torch.randn(n, *window, generator=g)
    labels = torch.tensor([0, 1, 1, 0, 1, 0])
    net.train()
    logits = net[:-1](x)
    out = torch.softmax(logits, dim=1)
    loss = F.cross_entropy(logits, labels)
    loss.backward()

    tensors = [("input", np32(x)), ("target", np32(F.one_hot(labels, 2).float())),
               ("output", np32(out)), ("loss", np32(loss.reshape(1)))]
    for name, p in net.named_parameters():
        tensors.append(("grad." + name, np32(p.grad)))
    for name in ("bn1", "bn2"):
        m = getattr(net, name)
        tensors += [("running.%s.running_mean" % name, np32(m.running_mean)),
                    ("running.%s.running_var" % name, np32(m.running_var))]
    write_safetensors(os.path.join(OUT_DIR, "bntrain.golden.safetensors"), tensors)
    print("bntrain: loss %.6f, %d tensors" % (loss.item(), len(tensors)))


if __name__ == "__main__":
    main()
