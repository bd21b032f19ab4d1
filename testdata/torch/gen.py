#!/usr/bin/python3
"""Generate the PyTorch golden fixtures in testdata/torch/.

For each small model NAME it writes:

  NAME.safetensors         the FC model in fc2conv's model-file format
                           (safetensors with the architecture JSON under the
                           "fc2conv" metadata key).
  NAME.golden.safetensors  plain F32 safetensors with
                             window_input  (C,H,W)   input of exactly the window size
                             window_output (K,)      FC model output on it
                             large_input   (C,H2,W2) input larger than the window
                             large_output  (K,R,Q)   PyTorch's own FCN rewrite on it
                             sliding_output (K,R,Q)  unpadded models only: the FC
                                                     model run crop by crop with the
                                                     total stride (naive sliding window)

Models: chw_softmax, unpadded_sigmoid, hwc_keras, seed (the seed network of
shared/bench/seednet.py, same seed and layer order, hence the same weights),
avgpool_padded (average pools with padding, one counting the pads in the
divisor as PyTorch does by default, one not, as ONNX does by default),
avgpool_unpadded (average pools without padding, so it has a sliding output),
asym_pad (convolutions padded differently before and after the map: PyTorch's
ZeroPad2d then an unpadded or padded Conv2d, written as padding/padding_end),
ceil_maxpool and ceil_avgpool (ceil_mode pools whose last window overhangs
the map, with and without padding, both divisor rules) and grown_mixed (all
of these with batch norm, dropout and a two-layer head).

Everything is seeded, single-threaded and deterministic. Run from the repo root:

    /usr/bin/python3 testdata/torch/gen.py            # every model
    /usr/bin/python3 testdata/torch/gen.py NAME...    # only these

Another torch build can round the outputs differently in the last bit
(goldens then change by about 1e-7 while the models stay byte-identical),
so regenerate only the models you change.

Needs torch and numpy only (the safetensors files are written by hand).
"""
import json
import os
import struct
import sys
from collections import OrderedDict

import numpy as np
import torch
import torch.nn as tnn

torch.set_grad_enabled(False)
torch.set_num_threads(1)

OUT_DIR = os.path.dirname(os.path.abspath(__file__))
TOL = 1e-5


class FlattenHWC(tnn.Module):
    """Keras-style flatten: channels-last order."""

    def forward(self, x):
        return x.permute(0, 2, 3, 1).flatten(1)


class AsymConv(tnn.Module):
    """ZeroPad2d((left, right, top, bottom)) then a Conv2d: a convolution
    padded differently before and after the map (fc2conv's padding_end)."""

    def __init__(self, pad, conv):
        super().__init__()
        self.pad, self.conv = tnn.ZeroPad2d(pad), conv

    def forward(self, x):
        return self.conv(self.pad(x))


# ---------------------------------------------------------------- safetensors

def write_safetensors(path, tensors, metadata=None):
    """tensors: list of (name, float32 ndarray) written in that order."""
    header = OrderedDict()
    if metadata is not None:
        header["__metadata__"] = metadata
    off, blobs = 0, []
    for name, arr in tensors:
        a = np.ascontiguousarray(arr, dtype="<f4")
        b = a.tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        off += len(b)
        blobs.append(b)
    head = json.dumps(header, separators=(",", ":")).encode("utf-8")
    head += b" " * ((-(8 + len(head))) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(head)))
        f.write(head)
        for b in blobs:
            f.write(b)
    return os.path.getsize(path)


def np32(t):
    return t.detach().cpu().numpy().astype(np.float32)


# ---------------------------------------------------------------- model file

def pair(v):
    return [v, v] if isinstance(v, int) else list(v)


def layer_doc(name, m):
    """Architecture-document entry and parameter tensors of one layer."""
    if isinstance(m, tnn.Conv2d):
        assert m.groups == 1 and m.dilation == (1, 1) and m.bias is not None and m.padding_mode == "zeros"
        doc = {"name": name, "type": "conv2d", "in_channels": m.in_channels, "out_channels": m.out_channels,
               "kernel": pair(m.kernel_size), "stride": pair(m.stride), "padding": pair(m.padding)}
        return doc, [("weight", m.weight), ("bias", m.bias)]
    if isinstance(m, AsymConv):
        doc, params = layer_doc(name, m.conv)
        left, right, top, bottom = m.pad.padding
        ph, pw = doc["padding"]
        doc["padding"], doc["padding_end"] = [ph + top, pw + left], [ph + bottom, pw + right]
        return doc, params
    if isinstance(m, tnn.MaxPool2d):
        assert pair(m.dilation) == [1, 1]
        doc = {"name": name, "type": "maxpool2d", "kernel": pair(m.kernel_size),
               "stride": pair(m.stride), "padding": pair(m.padding)}
        if m.ceil_mode:
            doc["ceil_mode"] = True
        return doc, []
    if isinstance(m, tnn.AvgPool2d):
        assert m.divisor_override is None
        doc = {"name": name, "type": "avgpool2d", "kernel": pair(m.kernel_size), "stride": pair(m.stride),
               "padding": pair(m.padding), "count_include_pad": m.count_include_pad}
        if m.ceil_mode:
            doc["ceil_mode"] = True
        return doc, []
    if isinstance(m, tnn.Linear):
        return {"name": name, "type": "dense", "in_features": m.in_features, "out_features": m.out_features}, \
            [("weight", m.weight), ("bias", m.bias)]
    if isinstance(m, (tnn.BatchNorm1d, tnn.BatchNorm2d)):
        return {"name": name, "type": "batchnorm", "num_features": m.num_features, "eps": m.eps}, \
            [("weight", m.weight), ("bias", m.bias), ("running_mean", m.running_mean), ("running_var", m.running_var)]
    if isinstance(m, tnn.Flatten):
        assert m.start_dim == 1 and m.end_dim == -1
        return {"name": name, "type": "flatten", "order": "CHW"}, []
    if isinstance(m, FlattenHWC):
        return {"name": name, "type": "flatten", "order": "HWC"}, []
    if isinstance(m, tnn.Dropout):
        return {"name": name, "type": "dropout", "rate": m.p}, []
    if isinstance(m, tnn.ReLU):
        return {"name": name, "type": "relu"}, []
    if isinstance(m, tnn.Sigmoid):
        return {"name": name, "type": "sigmoid"}, []
    if isinstance(m, tnn.Softmax):
        assert m.dim == 1
        return {"name": name, "type": "softmax"}, []
    raise TypeError("unsupported layer %s: %r" % (name, m))


def write_model(path, net, window, labels=None, positive=0):
    c, h, w = window
    doc = OrderedDict(version=1)
    doc["input"] = OrderedDict(channels=c, height=h, width=w, mean=[0.0] * c, std=[1.0] * c)
    if labels:
        doc["labels"] = list(labels)
    doc["positive"] = positive
    doc["layers"] = []
    tensors = []
    for name, m in net.named_children():
        d, params = layer_doc(name, m)
        doc["layers"].append(d)
        tensors += [(name + "." + p, np32(t)) for p, t in params]
    meta = {"fc2conv": json.dumps(doc, separators=(",", ":")), "format": "pt"}
    return write_safetensors(path, tensors, meta)


# ---------------------------------------------------------------- FCN rewrite

def to_fcn(net, window):
    """PyTorch's own fully convolutional rewrite of an FC-head Sequential."""
    c, h, w = window
    x = torch.zeros(1, c, h, w)
    layers, feat, flat_order = [], None, None
    for name, m in net.named_children():
        if isinstance(m, (tnn.Flatten, FlattenHWC)):
            feat = x.shape[1:]  # (C, h, w) of the last feature map
            flat_order = "HWC" if isinstance(m, FlattenHWC) else "CHW"
        elif isinstance(m, tnn.Linear):
            if flat_order is not None and feat is not None:
                fc, fh, fw = feat
                conv = tnn.Conv2d(fc, m.out_features, (fh, fw))
                if flat_order == "CHW":
                    wt = m.weight.view(m.out_features, fc, fh, fw)
                else:
                    wt = m.weight.view(m.out_features, fh, fw, fc).permute(0, 3, 1, 2)
                feat = None
            else:
                conv = tnn.Conv2d(m.in_features, m.out_features, 1)
                wt = m.weight.view(m.out_features, m.in_features, 1, 1)
            conv.weight.copy_(wt)
            conv.bias.copy_(m.bias)
            layers.append((name, conv))
        elif isinstance(m, tnn.BatchNorm1d):
            bn = tnn.BatchNorm2d(m.num_features, eps=m.eps)
            for p in ("weight", "bias", "running_mean", "running_var"):
                getattr(bn, p).copy_(getattr(m, p))
            layers.append((name, bn))
        elif isinstance(m, tnn.Dropout):
            pass
        else:
            layers.append((name, m))
        x = m(x)
    return tnn.Sequential(OrderedDict(layers)).eval()


# ---------------------------------------------------------------- fixtures

def randomize_bn(net, gen):
    for m in net.modules():
        if isinstance(m, (tnn.BatchNorm1d, tnn.BatchNorm2d)):
            n = m.num_features
            m.running_mean.copy_(torch.randn(n, generator=gen) * 0.5)
            m.running_var.copy_(torch.rand(n, generator=gen) * 1.5 + 0.5)
            m.weight.copy_(torch.rand(n, generator=gen) + 0.5)
            m.bias.copy_(torch.randn(n, generator=gen) * 0.2)


# The layers that slide a window over the map.
WINDOWED = (tnn.Conv2d, tnn.MaxPool2d, tnn.AvgPool2d)


def total_stride(net):
    sh = sw = 1
    for m in net.children():
        if isinstance(m, (tnn.Flatten, FlattenHWC)):
            break
        if isinstance(m, WINDOWED):
            s = pair(m.stride)
            sh, sw = sh * s[0], sw * s[1]
    return sh, sw


def is_padded(net):
    """Padding, or a ceil-mode pool (whose overhang, like padding, sees
    the neighbours on a larger input): then no naive sliding output."""
    return any(isinstance(m, AsymConv) or isinstance(m, WINDOWED) and any(pair(m.padding)) or
               getattr(m, "ceil_mode", False) for m in net.children())


def ceil_overhangs(net, shape):
    """How many ceil-mode pools keep a last window past the padded map on an
    input of this shape (the case the ceil fixtures are about)."""
    x, n = torch.zeros(1, *shape), 0
    for m in net.children():
        if isinstance(m, (tnn.Flatten, FlattenHWC)):
            break
        if getattr(m, "ceil_mode", False):
            m.ceil_mode = False
            floor = m(x).shape
            m.ceil_mode = True
            n += m(x).shape != floor
        x = m(x)
    return n


def make(name, net, window, large, input_fn, labels=None, positive=0):
    net.eval()
    c, h, w = window
    fcn = to_fcn(net, window)
    win_in = input_fn(window)
    win_out = net(win_in[None])[0]
    fcn_win = fcn(win_in[None])[0]
    assert fcn_win.shape[1:] == (1, 1), fcn_win.shape
    d = (fcn_win[:, 0, 0] - win_out).abs().max().item()
    assert d <= TOL, "%s: FCN on the window differs from the FC model by %g" % (name, d)

    big_in = input_fn(large)
    big_out = fcn(big_in[None])[0]
    golden = [("window_input", np32(win_in)), ("window_output", np32(win_out)),
              ("large_input", np32(big_in)), ("large_output", np32(big_out))]
    note = ""
    if not is_padded(net):
        sh, sw = total_stride(net)
        k, r, q = big_out.shape
        slide = torch.empty(k, r, q)
        for i in range(r):
            for j in range(q):
                crop = big_in[:, i * sh:i * sh + h, j * sw:j * sw + w]
                assert crop.shape == (c, h, w)
                slide[:, i, j] = net(crop[None])[0]
        ds = (slide - big_out).abs().max().item()
        assert ds <= TOL, "%s: naive sliding window differs from the FCN by %g" % (name, ds)
        golden.append(("sliding_output", np32(slide)))
        note = " sliding-vs-fcn=%.2g stride=%dx%d" % (ds, sh, sw)

    ms = write_model(os.path.join(OUT_DIR, name + ".safetensors"), net, window, labels, positive)
    gs = write_safetensors(os.path.join(OUT_DIR, name + ".golden.safetensors"), golden)
    print("%-17s window %s -> %s  large %s -> %s  out[%.3g,%.3g] fcn-vs-fc=%.2g%s  model %dB golden %dB" % (
        name, "x".join(map(str, window)), tuple(win_out.shape), "x".join(map(str, large)),
        "x".join(map(str, big_out.shape)), big_out.min().item(), big_out.max().item(), d, note, ms, gs))


def flat_size(feat, window):
    return feat(torch.zeros(1, *window)).numel()


def chw_softmax():
    torch.manual_seed(11)
    net = tnn.Sequential(OrderedDict([
        ("conv1", tnn.Conv2d(1, 4, 3, padding=1)), ("relu1", tnn.ReLU()), ("pool1", tnn.MaxPool2d(2)),
        ("conv2", tnn.Conv2d(4, 6, 3, padding=1)), ("bn1", tnn.BatchNorm2d(6)), ("relu2", tnn.ReLU()),
        ("pool2", tnn.MaxPool2d(2)), ("flatten", tnn.Flatten()),
        ("fc1", tnn.Linear(6 * 4 * 3, 10)), ("bn2", tnn.BatchNorm1d(10)), ("relu3", tnn.ReLU()),
        ("drop", tnn.Dropout(0.5)), ("fc2", tnn.Linear(10, 3)), ("softmax", tnn.Softmax(dim=1)),
    ]))
    g = torch.Generator().manual_seed(12)
    randomize_bn(net, g)
    make("chw_softmax", net, (1, 16, 12), (1, 40, 32),
         lambda s: torch.randn(*s, generator=g), labels=["background", "dress", "other"], positive=1)


def unpadded_sigmoid():
    torch.manual_seed(21)
    window = (3, 21, 17)
    feat = [("conv1", tnn.Conv2d(3, 5, (3, 2))), ("relu1", tnn.ReLU()), ("pool1", tnn.MaxPool2d(2, stride=2)),
            ("conv2", tnn.Conv2d(5, 8, 3, stride=1)), ("relu2", tnn.ReLU()),
            ("pool2", tnn.MaxPool2d((2, 1), stride=(2, 1)))]
    n = flat_size(tnn.Sequential(OrderedDict(feat)), window)  # 8*3*6 = 144
    net = tnn.Sequential(OrderedDict(feat + [
        ("flatten", tnn.Flatten()), ("fc1", tnn.Linear(n, 12)), ("relu3", tnn.ReLU()),
        ("fc2", tnn.Linear(12, 6)), ("relu4", tnn.ReLU()), ("fc3", tnn.Linear(6, 1)), ("sigmoid", tnn.Sigmoid()),
    ]))
    # Default init shrinks activations through three dense layers; widen the
    # last one so the sigmoid's input spans a useful range.
    net.fc3.weight.mul_(4.0)
    g = torch.Generator().manual_seed(22)
    make("unpadded_sigmoid", net, window, (3, 41, 33), lambda s: torch.randn(*s, generator=g))


def hwc_keras():
    torch.manual_seed(31)
    net = tnn.Sequential(OrderedDict([
        ("conv1", tnn.Conv2d(2, 4, 3)), ("relu1", tnn.ReLU()), ("pool1", tnn.MaxPool2d(2)),
        ("flatten", FlattenHWC()), ("fc1", tnn.Linear(5 * 5 * 4, 7)), ("relu2", tnn.ReLU()),
        ("fc2", tnn.Linear(7, 2)), ("softmax", tnn.Softmax(dim=1)),
    ]))
    net.fc2.weight.mul_(3.0)
    g = torch.Generator().manual_seed(32)
    make("hwc_keras", net, (2, 12, 12), (2, 20, 18), lambda s: torch.randn(*s, generator=g),
         labels=["no", "yes"], positive=1)


def seed():
    # Same construction order as shared/bench/seednet.py under torch.manual_seed(5),
    # so the parameters are identical to that script's seed.pt.
    torch.manual_seed(5)
    layers, c = [], 3
    for i, w in enumerate([16, 32, 64, 64, 128], 1):
        layers += [("conv%d" % i, tnn.Conv2d(c, w, 3, padding=1)), ("relu%d" % i, tnn.ReLU()),
                   ("pool%d" % i, tnn.MaxPool2d(2))]
        c = w
    layers += [("flatten", tnn.Flatten()), ("fc1", tnn.Linear(128 * 4 * 2, 256)), ("relu6", tnn.ReLU()),
               ("fc2", tnn.Linear(256, 1)), ("sigmoid", tnn.Sigmoid())]
    net = tnn.Sequential(OrderedDict(layers))
    g = torch.Generator().manual_seed(6)
    # Image-like inputs in [0, 1), as seednet.py feeds the network.
    make("seed", net, (3, 128, 64), (3, 160, 96), lambda s: torch.rand(*s, generator=g), labels=["dress"])


def avgpool_padded():
    # Both divisor rules, each with padding; after a ReLU the padded zeros
    # pull the border averages down only where they count.
    torch.manual_seed(41)
    net = tnn.Sequential(OrderedDict([
        ("conv1", tnn.Conv2d(2, 4, 3, padding=1)), ("relu1", tnn.ReLU()),
        ("pool1", tnn.AvgPool2d(3, stride=2, padding=1, count_include_pad=True)),
        ("conv2", tnn.Conv2d(4, 6, 3, padding=1)), ("relu2", tnn.ReLU()),
        ("pool2", tnn.AvgPool2d((3, 2), stride=(2, 1), padding=1, count_include_pad=False)),
        ("flatten", tnn.Flatten()), ("fc1", tnn.Linear(6 * 4 * 6, 8)), ("relu3", tnn.ReLU()),
        ("fc2", tnn.Linear(8, 3)), ("softmax", tnn.Softmax(dim=1)),
    ]))
    net.fc2.weight.mul_(3.0)
    g = torch.Generator().manual_seed(42)
    make("avgpool_padded", net, (2, 14, 10), (2, 30, 22), lambda s: torch.randn(*s, generator=g),
         labels=["a", "b", "c"], positive=2)


def avgpool_unpadded():
    torch.manual_seed(51)
    net = tnn.Sequential(OrderedDict([
        ("conv1", tnn.Conv2d(3, 5, 3)), ("relu1", tnn.ReLU()), ("pool1", tnn.AvgPool2d(2)),
        ("conv2", tnn.Conv2d(5, 6, (3, 2))), ("relu2", tnn.ReLU()),
        ("pool2", tnn.AvgPool2d((3, 2), stride=(1, 2))),
        ("flatten", FlattenHWC()), ("fc1", tnn.Linear(4 * 2 * 6, 5)), ("relu3", tnn.ReLU()),
        ("fc2", tnn.Linear(5, 1)), ("sigmoid", tnn.Sigmoid()),
    ]))
    net.fc2.weight.mul_(4.0)
    g = torch.Generator().manual_seed(52)
    make("avgpool_unpadded", net, (3, 18, 14), (3, 34, 30), lambda s: torch.randn(*s, generator=g))


def asym_pad():
    # ZeroPad2d((left, right, top, bottom)) before an unpadded conv, and
    # before a conv with its own padding (the two add up).
    torch.manual_seed(61)
    feat = [("conv1", AsymConv((0, 1, 1, 2), tnn.Conv2d(2, 4, 3))), ("relu1", tnn.ReLU()),
            ("pool1", tnn.MaxPool2d(2)),
            ("conv2", AsymConv((2, 0, 0, 1), tnn.Conv2d(4, 6, (2, 3), stride=2, padding=(1, 0)))),
            ("relu2", tnn.ReLU())]
    window = (2, 13, 11)
    n = flat_size(tnn.Sequential(OrderedDict(feat)), window)  # 6*5*3 = 90
    net = tnn.Sequential(OrderedDict(feat + [
        ("flatten", tnn.Flatten()), ("fc1", tnn.Linear(n, 8)), ("relu3", tnn.ReLU()),
        ("fc2", tnn.Linear(8, 1)), ("sigmoid", tnn.Sigmoid()),
    ]))
    net.fc2.weight.mul_(12.0)
    g = torch.Generator().manual_seed(62)
    make("asym_pad", net, window, (2, 29, 27), lambda s: torch.randn(*s, generator=g))


def ceil_maxpool():
    torch.manual_seed(71)
    feat = [("conv1", tnn.Conv2d(1, 4, 3)), ("relu1", tnn.ReLU()),
            ("pool1", tnn.MaxPool2d(2, ceil_mode=True)),
            ("conv2", tnn.Conv2d(4, 5, 3, padding=1)), ("relu2", tnn.ReLU()),
            ("pool2", tnn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True))]
    window, large = (1, 15, 13), (1, 37, 30)
    n = flat_size(tnn.Sequential(OrderedDict(feat)), window)  # 5*4*4 = 80
    net = tnn.Sequential(OrderedDict(feat + [
        ("flatten", FlattenHWC()), ("fc1", tnn.Linear(n, 6)), ("relu3", tnn.ReLU()),
        ("fc2", tnn.Linear(6, 3)), ("softmax", tnn.Softmax(dim=1)),
    ]))
    assert ceil_overhangs(net, window) == 2 and ceil_overhangs(net, large) == 2
    net.fc2.weight.mul_(8.0)
    g = torch.Generator().manual_seed(72)
    make("ceil_maxpool", net, window, large, lambda s: torch.randn(*s, generator=g),
         labels=["x", "y", "z"], positive=1)


def ceil_avgpool():
    # Ceil mode without padding, with padding counted (PyTorch divides by
    # the window clipped to the padded map, not counting the overhang) and
    # with padding not counted.
    torch.manual_seed(81)
    feat = [("conv1", tnn.Conv2d(3, 4, 3)), ("relu1", tnn.ReLU()),
            ("pool1", tnn.AvgPool2d(2, ceil_mode=True)),
            ("conv2", tnn.Conv2d(4, 5, 2)), ("relu2", tnn.ReLU()),
            ("pool2", tnn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True, count_include_pad=True)),
            ("conv3", tnn.Conv2d(5, 6, 1)), ("relu3", tnn.ReLU()),
            ("pool3", tnn.AvgPool2d((2, 3), stride=2, padding=1, ceil_mode=True, count_include_pad=False))]
    window, large = (3, 15, 16), (3, 39, 40)
    n = flat_size(tnn.Sequential(OrderedDict(feat)), window)
    net = tnn.Sequential(OrderedDict(feat + [
        ("flatten", tnn.Flatten()), ("fc1", tnn.Linear(n, 2)), ("softmax", tnn.Softmax(dim=1)),
    ]))
    assert ceil_overhangs(net, window) == 3 and ceil_overhangs(net, large) == 3, (
        ceil_overhangs(net, window), ceil_overhangs(net, large))
    net.fc1.weight.mul_(3.0)
    g = torch.Generator().manual_seed(82)
    make("ceil_avgpool", net, window, large, lambda s: torch.randn(*s, generator=g),
         labels=["no", "yes"], positive=1)


def grown_mixed():
    # A classifier with every new setting together, batch norm and dropout.
    torch.manual_seed(91)
    feat = [("conv1", AsymConv((1, 0, 0, 1), tnn.Conv2d(3, 6, 3, padding=1))), ("bn1", tnn.BatchNorm2d(6)),
            ("relu1", tnn.ReLU()), ("pool1", tnn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True)),
            ("conv2", AsymConv((0, 2, 1, 0), tnn.Conv2d(6, 8, 3))), ("relu2", tnn.ReLU()),
            ("pool2", tnn.AvgPool2d(2, ceil_mode=True, count_include_pad=False))]
    window, large = (3, 24, 17), (3, 52, 45)
    n = flat_size(tnn.Sequential(OrderedDict(feat)), window)
    net = tnn.Sequential(OrderedDict(feat + [
        ("flatten", FlattenHWC()), ("drop", tnn.Dropout(0.3)), ("fc1", tnn.Linear(n, 12)),
        ("bn2", tnn.BatchNorm1d(12)), ("relu3", tnn.ReLU()), ("fc2", tnn.Linear(12, 1)), ("sigmoid", tnn.Sigmoid()),
    ]))
    assert ceil_overhangs(net, window) >= 1 and ceil_overhangs(net, large) >= 1
    g = torch.Generator().manual_seed(92)
    randomize_bn(net, g)
    net.fc2.weight.mul_(3.0)
    make("grown_mixed", net, window, large, lambda s: torch.rand(*s, generator=g), labels=["dress"])


MODELS = OrderedDict((f.__name__, f) for f in (
    chw_softmax, unpadded_sigmoid, hwc_keras, seed, avgpool_padded, avgpool_unpadded,
    asym_pad, ceil_maxpool, ceil_avgpool, grown_mixed))

if __name__ == "__main__":
    names = sys.argv[1:] or list(MODELS)
    unknown = [n for n in names if n not in MODELS]
    if unknown:
        sys.exit("unknown model %s; known: %s" % (", ".join(unknown), ", ".join(MODELS)))
    for n in names:
        MODELS[n]()
