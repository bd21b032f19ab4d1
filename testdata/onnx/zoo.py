#!/usr/bin/python3
"""Whole classifiers of torchvision's architectures (written out here:
Debian has no torchvision) end to end through fc2conv, at sizes no
fixture has: NAME is resnet18 (residual blocks) or googlenet (Inception
modules, concatenations).

  zoo.py gen NAME DIR [WINDOW]
      builds the network (random weights, random batch-norm statistics,
      eval mode, two classes), exports DIR/NAME.onnx on a WINDOW x WINDOW
      RGB window (default 128: a 4x4 map before the global pool), and writes
      DIR/img.png (a 512x384 RGB image) and DIR/torch_fcn.npy: PyTorch's own
      fully convolutional form (the global pool as a 4x4 average pool of
      stride 1, the Linear as a 1x1 conv) on that image, class 1.
  zoo.py check DIR RAWDIR
      compares the raw heatmap `fc2conv scan --raw RAWDIR` wrote for
      img.png with torch_fcn.npy.
  zoo.py time NAME DIR THREADS
      times PyTorch's FCN pass on the image (median of 5 after a warm-up).

The README's ONNX section has the commands and the figures measured.
Needs torch, numpy, onnx and PIL (Debian's python3-torch, python3-onnx,
python3-pil).
"""
import os
import sys
import time

import numpy as np
import torch
import torch.nn as tnn


def _fixtures():
    """gen.py of this folder, loaded under a name of its own (it imports
    testdata/torch/gen.py as gen)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        "onnxgen", os.path.join(os.path.dirname(os.path.abspath(__file__)), "gen.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


_fx = _fixtures()
BasicBlock, BasicConv, Inception = _fx.BasicBlock, _fx.BasicConv, _fx.Inception  # torchvision's

torch.set_grad_enabled(False)


def resnet18():
    layers = [tnn.Conv2d(3, 64, 7, 2, 3, bias=False), tnn.BatchNorm2d(64), tnn.ReLU(), tnn.MaxPool2d(3, 2, 1)]
    cin = 64
    for cout, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
        layers += [BasicBlock(cin, cout, stride), BasicBlock(cout, cout)]
        cin = cout
    return layers, 512


def googlenet():
    """torchvision's GoogLeNet without its auxiliary heads (eval mode has
    none) and its dropout: a 7x7 stem, nine Inception modules between
    ceil-mode max pools, 1024 features."""
    pool = lambda k: tnn.MaxPool2d(k, 2, ceil_mode=True)
    layers = [BasicConv(3, 64, 7, stride=2, padding=3), pool(3), BasicConv(64, 64, 1),
              BasicConv(64, 192, 3, padding=1), pool(3),
              Inception(192, 64, 96, 128, 16, 32, 32), Inception(256, 128, 128, 192, 32, 96, 64), pool(3),
              Inception(480, 192, 96, 208, 16, 48, 64), Inception(512, 160, 112, 224, 24, 64, 64),
              Inception(512, 128, 128, 256, 24, 64, 64), Inception(512, 112, 144, 288, 32, 64, 64),
              Inception(528, 256, 160, 320, 32, 128, 128), pool(2),
              Inception(832, 256, 160, 320, 32, 128, 128), Inception(832, 384, 192, 384, 48, 128, 128)]
    return layers, 1024


ARCHS = {"resnet18": resnet18, "googlenet": googlenet}


def build(name):
    torch.manual_seed(18)
    layers, features = ARCHS[name]()
    feat = tnn.Sequential(*layers)
    g = torch.Generator().manual_seed(19)
    for m in feat.modules():
        if isinstance(m, tnn.BatchNorm2d):
            n = m.num_features
            m.running_mean.copy_(torch.randn(n, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(n, generator=g) + 0.5)
            m.weight.copy_(torch.rand(n, generator=g) * 0.5 + 0.5)
            m.bias.copy_(torch.randn(n, generator=g) * 0.1)
    fc = tnn.Linear(features, 2)
    return feat.eval(), fc.eval()


def fcn(feat, fc, window):
    side = window // 32
    conv = tnn.Conv2d(fc.in_features, 2, 1)
    conv.weight.copy_(fc.weight.view(2, fc.in_features, 1, 1))
    conv.bias.copy_(fc.bias)
    return tnn.Sequential(feat, tnn.AvgPool2d(side, stride=1), conv, tnn.Softmax(dim=1)).eval()


def image(d):
    from PIL import Image
    x = np.asarray(Image.open(os.path.join(d, "img.png")).convert("RGB"), np.float32) / 255.0
    return torch.from_numpy(x).permute(2, 0, 1)[None].contiguous()


def gen(name, d, window=128):
    from PIL import Image
    os.makedirs(d, exist_ok=True)
    feat, fc = build(name)
    net = tnn.Sequential(feat, tnn.AdaptiveAvgPool2d(1), tnn.Flatten(), fc, tnn.Softmax(dim=1)).eval()
    torch.onnx.export(net, torch.zeros(1, 3, window, window), os.path.join(d, name + ".onnx"),
                      input_names=["input"], output_names=["output"], opset_version=13,
                      dynamic_axes={"input": {0: "N"}, "output": {0: "N"}})
    px = np.random.RandomState(18).randint(0, 256, size=(384, 512, 3), dtype=np.uint8)
    Image.fromarray(px).save(os.path.join(d, "img.png"))
    heat = fcn(feat, fc, window)(image(d))[0, 1].numpy()
    np.save(os.path.join(d, "torch_fcn.npy"), heat)
    print("%s.onnx: window %dx%d, heatmap %dx%d on img.png (512x384)" % (name, window, window, heat.shape[1], heat.shape[0]))


def check(d, raw):
    import glob
    want = np.load(os.path.join(d, "torch_fcn.npy"))
    got = np.load(glob.glob(os.path.join(raw, "img-*-s1.npy"))[0])
    assert got.shape == want.shape, (got.shape, want.shape)
    print("fc2conv scan vs PyTorch FCN on img.png (%dx%d heatmap): max abs diff %.3g" % (
        want.shape[1], want.shape[0], np.abs(got - want).max()))


def timeit(name, d, threads, window=128):
    torch.set_num_threads(int(threads))
    feat, fc = build(name)
    f, x = fcn(feat, fc, window), image(d)
    f(x)
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        f(x)
        times.append(time.perf_counter() - t0)
    print("PyTorch FCN pass on 512x384, %s thread(s): median %.1f ms" % (threads, 1000 * sorted(times)[2]))


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "gen":
        gen(args[0], args[1], *map(int, args[2:]))
    elif cmd == "check":
        check(*args)
    elif cmd == "time":
        timeit(*args)
    else:
        sys.exit(__doc__)
