#!/usr/bin/python3
"""Generate the ONNX import fixtures in testdata/onnx/.

For each model NAME it writes:

  NAME.onnx                the classifier as torch.onnx.export writes it (some
                           edited afterwards with the onnx package, see below),
                           input "input" with a free batch, output "output".
  NAME.golden.safetensors  plain F32 safetensors, all in fc2conv's C,H,W layout:
                             window_input  (C,H,W)   input of exactly the window size
                             window_output (K,)      PyTorch's output on it
                             large_input   (C,H2,W2) input larger than the window
                             large_output  (K,R,Q)   PyTorch's own FCN rewrite on it
                                                     (testdata/torch/gen.py's to_fcn)

Models (the op list of the importer, across opsets 9 to 21):
  chain_op9, chain_op13, chain_op17  padded convs, max pools, BatchNorm after a
                           ReLU (so torch does not fold it), Flatten, Gemm,
                           BatchNorm1d, Dropout, softmax head; op13 has an
                           Identity and an inference Dropout node inserted
                           (torch drops them on export)
  chain_op21               chain_op17 relabelled opset 21 (the ops it uses have
                           the same semantics there; onnx 1.12 cannot check it)
  gap_sigmoid_op11         unpadded, average pool, GlobalAveragePool, sigmoid head
  keras_nhwc_op13          tf2onnx's Keras layout: N,H,W,C input and a Transpose to
                           NCHW, Transpose + Reshape(-1, F) channels-last flatten,
                           MatMul + Add, raw logits; also scan_rgb.png (48×40 RGB)
                           and scan_rgb.golden.safetensors: "heatmap", PyTorch's FCN
                           output of class 0 on it (pixels / 255), for fc2conv scan,
                           and "heatmap_norm" on (pixels / 255 - 0.5) / 0.25
  keras_flatten_op11       NCHW input, Transpose + Flatten, Clip(min=0), sigmoid
  reshape_gemm_op17        Reshape from a constant, Gemm edited to transB=0 with
                           alpha 2 and beta 0.5, the first conv edited to
                           auto_pad SAME_UPPER
  view_batch_op9, view_batch_op13  x.view(x.size(0), -1) with a free batch: Shape,
                           Gather, Unsqueeze (axes an attribute, then an input) and
                           Concat into the Reshape, folded to a constant on import
  activations_op9, activations_op13  LeakyRelu, ReLU6 (Clip with min/max as
                           attributes, then as inputs) and a LogSoftmax head
  elu_tanh_op13            ELU (alpha 0.7 and the default 1) and Tanh
  silu_op13                nn.SiLU, which torch writes as x·Sigmoid(x): a Sigmoid
                           and a Mul reading the same value
  prelu_op13               PReLU as MTCNN's networks use it: one slope per channel
                           after a conv (C×1×1 on export), one shared, one per
                           feature after a Linear
  reduce_mean_op13, keras_gap_op13, squeeze_op13  (all from global_pools_op13)
                           global average pooling as x.mean((2, 3)) (ReduceMean), as
                           tf2onnx writes Keras's GlobalAveragePooling2D (NHWC input,
                           Transpose, ReduceMean over axes 1, 2), and as
                           GlobalAveragePool + Squeeze (axes 2, 3)
  dtypes_op13              conv weights stored as FLOAT16 raw_data, dense weights
                           as DOUBLE double_data, biases in float_data (PyTorch
                           runs the same rounded weights); for the importer only:
                           other runtimes want matching types
  external_op13            weights in external_op13.onnx.data beside the model
  ceil_pool_op13           max and average pools with ceil_mode
  asym_pad_op13            a conv with pads (0,0,1,1), edited from a padded conv;
                           PyTorch runs ZeroPad2d((0,1,0,1)) + an unpadded conv
  affine_op13              arithmetic on a layer's output, folded into that layer:
                           a conv's output × a 1×C×1×1 constant − another (Mul,
                           Sub), a Gemm's × a vector + a vector (Mul, Add: what
                           tf2onnx writes for Keras's BatchNormalization after a
                           Dense), the last Gemm's / 2 (Div)
  torch_norm_op13          (x - mean) / std inside the model (Sub, Div with
                           1×C×1×1 constants) before a padded conv; pixels in [0,1]
  keras_rescale_op13       Keras's Rescaling(1/255, offset per channel) on the
                           N,H,W,C input as tf2onnx writes it (Mul, Add with a
                           C-vector, then the Transpose); the graph reads 0-255
  resnet_op13              ResNet basic blocks (torchvision's): one with an identity
                           shortcut, one with a strided 1x1 projection; the graph
                           forks at each block's input and an Add joins it again
  resnet_preact_op11       pre-activation blocks (batch norm and ReLU before each
                           conv, x + body), GlobalAveragePool and a sigmoid head
  keras_resnet_op13        a projection block between tf2onnx's Keras layouts (N,H,W,C
                           input, channels-last flatten, MatMul + Add)
  resnet_bottleneck_op17   ResNet bottleneck blocks (torchvision's), strided and not,
                           each with a 1x1 projection
  activations3_op13        GELU (Div, Erf, Add, Mul, Mul), Hardswish (HardSigmoid and
                           Mul), Mish (Softplus, Tanh, Mul), Softplus and a
                           Hardsigmoid head, as torch 1.13 writes them at opset 13
  hardswish_op14           Hardswish as the HardSwish op (opset 14)
  activations3_op20        activations3_op13 with ONNX's Gelu (opset 20) and Mish
                           (opset 18) ops in place of their nodes; onnx 1.12
                           cannot check it, ONNX Runtime runs it (run_ort.js)
  inception_op13           two GoogLeNet Inception modules (torchvision's): four
                           paths (1x1; 1x1, 3x3; 1x1, 3x3; a 3x3 max pool of
                           stride 1, 1x1) from one fork, joined by a Concat
  densenet_op13            two DenseNet dense blocks (torchvision's) and a
                           transition: each layer's Concat repeats the one's
                           before it, the block's last lists every map
  For torch_norm_op13 and keras_rescale_op13 the golden holds pixels in [0,1] (window_input, large_input)
  and the input mean and std the import must fold the scaling into
  ("mean", "std"; for keras_rescale_op13 with --std 1/255, the graph's
  0-255 input), checked here: the body on (pixels - mean) / std gives the
  exported model's output on the graph's own input.

Also "check": onnx.checker (full_check) on the models fc2conv exported for
ONNX Runtime (exported/, see run_ort.js); and "seed-check DIR RAWDIR
[FCN.onnx]": the README's round trip on ../shared/bench/seednet.py's model
(see the README's ONNX section).

Everything is seeded, single-threaded and deterministic. Run from anywhere:

    /usr/bin/python3 testdata/onnx/gen.py           # every model
    /usr/bin/python3 testdata/onnx/gen.py NAME...   # only these
    /usr/bin/python3 testdata/onnx/gen.py check     # onnx.checker on the files
                                                    # fc2conv exported (exported/)
    /usr/bin/python3 testdata/onnx/gen.py seed-check DIR RAWDIR [FCN.onnx]

Needs torch, numpy, onnx and PIL (Debian's python3-torch, python3-onnx, python3-pil).
"""
import glob
import os
import sys
from collections import OrderedDict

import numpy as np
import onnx
import torch
import torch.nn as tnn
from onnx import helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "torch"))
import gen as torchgen  # noqa: E402  the safetensors writer and PyTorch's FCN rewrite

torch.set_grad_enabled(False)
torch.set_num_threads(1)
TOL = 1e-5


class NHWCInput(tnn.Module):
    """tf2onnx's Keras input: N,H,W,C transposed to N,C,H,W."""

    def forward(self, x):
        return x.permute(0, 3, 1, 2)


class ReshapeHWC(tnn.Module):
    """Keras's channels-last flatten as tf2onnx writes it: Transpose + Reshape."""

    def __init__(self, n):
        super().__init__()
        self.n = n

    def forward(self, x):
        return x.permute(0, 2, 3, 1).reshape(-1, self.n)


class ReshapeCHW(tnn.Module):
    def __init__(self, n):
        super().__init__()
        self.n = n

    def forward(self, x):
        return x.reshape(-1, self.n)


class MatMulAdd(tnn.Module):
    """A Linear written as x @ W + b: exports MatMul then Add."""

    def __init__(self, lin):
        super().__init__()
        self.w = tnn.Parameter(lin.weight.t().contiguous())
        self.b = tnn.Parameter(lin.bias.clone())

    def forward(self, x):
        return x.matmul(self.w) + self.b


class ClampReLU(tnn.Module):
    def forward(self, x):
        return torch.clamp(x, min=0)


def seq(*layers):
    return tnn.Sequential(OrderedDict(layers)).eval()


def export(net, path, example, opset):
    torch.onnx.export(net, example, path, input_names=["input"], output_names=["output"],
                      dynamic_axes={"input": {0: "N"}, "output": {0: "N"}}, opset_version=opset,
                      do_constant_folding=True)
    return onnx.load(path)


def save(model, path, **kw):
    onnx.checker.check_model(model)
    onnx.save_model(model, path, **kw)


def node_by_op(model, op, index=0):
    return [n for n in model.graph.node if n.op_type == op][index]


def init_by_name(model, name):
    return next(t for t in model.graph.initializer if t.name == name)


def set_init(model, name, arr):
    init_by_name(model, name).CopyFrom(numpy_helper.from_array(np.ascontiguousarray(arr), name))


def insert_after(model, value, nodes):
    """Re-route the consumers of value through nodes (a chain ending in value+"_out")."""
    out = nodes[-1].output[0]
    for n in model.graph.node:
        for i, v in enumerate(n.input):
            if v == value:
                n.input[i] = out
    at = next(i for i, n in enumerate(model.graph.node) if value in n.output) + 1
    for j, n in enumerate(nodes):
        model.graph.node.insert(at + j, n)


def make(name, exported, body, window, large, opset, gen, nhwc=False, edit=None, rand=None, to_fcn=True):
    """exported: the module torch exports; body: the same classifier as an
    FC Sequential on N,C,H,W (what PyTorch's FCN rewrite and the goldens run)."""
    c, h, w = window
    rand = rand or (lambda s: torch.randn(*s, generator=gen))
    win_in = rand(window)
    win_out = body(win_in[None])[0]
    ex_in = win_in[None].permute(0, 2, 3, 1).contiguous() if nhwc else win_in[None]
    d = (exported(ex_in)[0] - win_out).abs().max().item()
    assert d <= TOL, "%s: exported module differs from the body by %g" % (name, d)
    path = os.path.join(HERE, name + ".onnx")
    model = export(exported, path, ex_in, opset)
    kw = {}
    if edit:
        kw = edit(model) or {}
    save(model, path, **kw)
    golden = [("window_input", torchgen.np32(win_in)), ("window_output", torchgen.np32(win_out))]
    note = ""
    if to_fcn:
        fcn = body if to_fcn is True else to_fcn
        fcn = torchgen.to_fcn(fcn, window)
        big_in = rand(large)
        big_out = fcn(big_in[None])[0]
        golden += [("large_input", torchgen.np32(big_in)), ("large_output", torchgen.np32(big_out))]
        note = "large %s -> %s" % ("x".join(map(str, large)), "x".join(map(str, big_out.shape)))
    torchgen.write_safetensors(os.path.join(HERE, name + ".golden.safetensors"), golden)
    print("%-20s opset %2d window %s -> %s %s  model %dB" % (
        name, opset, "x".join(map(str, window)), tuple(win_out.shape), note, os.path.getsize(path)))


def randomize(net, gen):
    torchgen.randomize_bn(net, gen)


def chain_body():
    torch.manual_seed(61)
    net = seq(
        ("conv1", tnn.Conv2d(1, 4, 3, padding=1)), ("relu1", tnn.ReLU()), ("pool1", tnn.MaxPool2d(2)),
        ("conv2", tnn.Conv2d(4, 6, 3, padding=1)), ("relu2", tnn.ReLU()), ("bn1", tnn.BatchNorm2d(6)),
        ("pool2", tnn.MaxPool2d(2)), ("flatten", tnn.Flatten()),
        ("fc1", tnn.Linear(6 * 4 * 3, 10)), ("bn2", tnn.BatchNorm1d(10)), ("relu3", tnn.ReLU()),
        ("drop", tnn.Dropout(0.5)), ("fc2", tnn.Linear(10, 3)), ("softmax", tnn.Softmax(dim=1)))
    randomize(net, torch.Generator().manual_seed(62))
    net.fc2.weight.mul_(3.0)
    return net


def chain(opset):
    def edit(model):
        if opset != 13:
            return
        # Identity and an inference Dropout (ratio and training_mode inputs,
        # opset 12+) after the first ReLU; torch leaves both out.
        v = node_by_op(model, "Relu").output[0]
        model.graph.initializer.extend([
            numpy_helper.from_array(np.array(0.25, dtype=np.float32), "drop_ratio"),
            numpy_helper.from_array(np.array(False), "drop_training")])
        insert_after(model, v, [
            helper.make_node("Identity", [v], ["ident_out"], name="ident"),
            helper.make_node("Dropout", ["ident_out", "drop_ratio", "drop_training"], ["drop_out"], name="drop")])

    def run():
        net = chain_body()
        make("chain_op%d" % opset, net, net, (1, 16, 12), (1, 40, 32), opset,
             torch.Generator().manual_seed(63), edit=edit)
    run.__name__ = "chain_op%d" % opset
    return run


def relabel(src, dst, opset, ir, what, edit=None):
    """Save model src as dst at another opset (after edit, if given), with
    src's golden: for ops whose semantics the new opset keeps. onnx 1.12's
    checker knows opsets up to 17 only, so dst is saved unchecked."""
    m = onnx.load(os.path.join(HERE, src + ".onnx"))
    if edit:
        edit(m.graph)
    m.ir_version = ir
    for o in m.opset_import:
        if o.domain in ("", "ai.onnx"):
            o.version = opset
    onnx.save_model(m, os.path.join(HERE, dst + ".onnx"))
    with open(os.path.join(HERE, src + ".golden.safetensors"), "rb") as f, \
            open(os.path.join(HERE, dst + ".golden.safetensors"), "wb") as g:
        g.write(f.read())
    print("%-20s opset %d (%s)" % (dst, opset, what))


def chain_op21():
    relabel("chain_op17", "chain_op21", 21, 10, "chain_op17 relabelled")


def gap_sigmoid_op11():
    torch.manual_seed(71)
    feat = [("conv1", tnn.Conv2d(3, 6, 3)), ("relu1", tnn.ReLU()), ("pool1", tnn.AvgPool2d(2)),
            ("conv2", tnn.Conv2d(6, 8, 3)), ("relu2", tnn.ReLU())]
    head = [("flatten", tnn.Flatten()), ("fc", tnn.Linear(8, 1)), ("sigmoid", tnn.Sigmoid())]
    exported = seq(*feat, ("gap", tnn.AdaptiveAvgPool2d(1)), *head)
    # On the 14×14 window the map is 4×4: a stride-1 4×4 average pool is the
    # global pool there, and slides on larger inputs.
    body = seq(*feat, ("gap", tnn.AvgPool2d(4, stride=1)), *head)
    body.fc.weight.mul_(4.0)
    make("gap_sigmoid_op11", exported, body, (3, 14, 14), (3, 30, 26), 11, torch.Generator().manual_seed(72))


def keras_nhwc_op13():
    torch.manual_seed(81)
    feat = [("conv1", tnn.Conv2d(3, 4, 3, padding=1)), ("relu1", tnn.ReLU()), ("pool1", tnn.MaxPool2d(2)),
            ("conv2", tnn.Conv2d(4, 5, 3)), ("relu2", tnn.ReLU())]
    n = 5 * 4 * 3
    fc1, fc2 = tnn.Linear(n, 6), tnn.Linear(6, 2)
    fc2.weight.mul_(3.0)
    body = seq(*feat, ("flatten", torchgen.FlattenHWC()), ("fc1", fc1), ("relu3", tnn.ReLU()), ("fc2", fc2))
    exported = seq(("nhwc", NHWCInput()), *feat, ("flatten", ReshapeHWC(n)), ("fc1", MatMulAdd(fc1)),
                   ("relu3", tnn.ReLU()), ("fc2", fc2))
    make("keras_nhwc_op13", exported, body, (3, 12, 10), (3, 28, 22), 13, torch.Generator().manual_seed(82),
         nhwc=True)
    # An RGB image for `fc2conv scan --model keras_nhwc_op13.onnx`: PyTorch's
    # FCN heatmap of class 0 on its pixels scaled to [0,1].
    from PIL import Image
    px = np.random.RandomState(7).randint(0, 256, size=(40, 48, 3), dtype=np.uint8)
    Image.fromarray(px).save(os.path.join(HERE, "scan_rgb.png"))
    x = torch.from_numpy(px.astype(np.float32) / 255.0).permute(2, 0, 1)
    fcn = torchgen.to_fcn(body, (3, 12, 10))
    heat = fcn(x[None])[0, 0]
    norm = fcn(((x - 0.5) / 0.25)[None])[0, 0]  # scan --mean 0.5 --std 0.25
    torchgen.write_safetensors(os.path.join(HERE, "scan_rgb.golden.safetensors"),
                               [("heatmap", torchgen.np32(heat)), ("heatmap_norm", torchgen.np32(norm))])


def keras_flatten_op11():
    torch.manual_seed(91)
    feat = [("conv1", tnn.Conv2d(2, 4, 3)), ("relu1", tnn.ReLU()), ("pool1", tnn.MaxPool2d(2))]
    fc1, fc2 = tnn.Linear(4 * 4 * 4, 5), tnn.Linear(5, 1)
    fc2.weight.mul_(4.0)
    body = seq(*feat, ("flatten", torchgen.FlattenHWC()), ("fc1", fc1), ("relu2", tnn.ReLU()), ("fc2", fc2),
               ("sigmoid", tnn.Sigmoid()))
    exported = seq(*feat, ("flatten", torchgen.FlattenHWC()), ("fc1", fc1), ("relu2", ClampReLU()), ("fc2", fc2),
                   ("sigmoid", tnn.Sigmoid()))
    make("keras_flatten_op11", exported, body, (2, 10, 10), (2, 22, 18), 11, torch.Generator().manual_seed(92))


def reshape_gemm_op17():
    torch.manual_seed(101)
    feat = [("conv1", tnn.Conv2d(3, 4, 3, padding=1)), ("relu1", tnn.ReLU()), ("pool1", tnn.MaxPool2d(2)),
            ("conv2", tnn.Conv2d(4, 4, 3, stride=2, padding=1)), ("relu2", tnn.ReLU())]
    n = 4 * 3 * 3
    head = [("fc1", tnn.Linear(n, 8)), ("relu3", tnn.ReLU()), ("fc2", tnn.Linear(8, 4)), ("softmax", tnn.Softmax(1))]
    body = seq(*feat, ("flatten", tnn.Flatten()), *head)
    body.fc2.weight.mul_(3.0)
    exported = seq(*feat, ("flatten", ReshapeCHW(n)), *head)

    def edit(model):
        conv = node_by_op(model, "Conv")
        for a in list(conv.attribute):
            if a.name == "pads":
                conv.attribute.remove(a)
        conv.attribute.append(helper.make_attribute("auto_pad", "SAME_UPPER"))
        gemm = node_by_op(model, "Gemm", 1)
        b, c = gemm.input[1], gemm.input[2]
        bw = numpy_helper.to_array(init_by_name(model, b))
        cw = numpy_helper.to_array(init_by_name(model, c))
        set_init(model, b, (bw.T / 2).astype(np.float32))  # exact: halving
        set_init(model, c, (cw * 2).astype(np.float32))
        for a in list(gemm.attribute):
            gemm.attribute.remove(a)
        gemm.attribute.extend([helper.make_attribute("transB", 0), helper.make_attribute("alpha", 2.0),
                               helper.make_attribute("beta", 0.5)])

    make("reshape_gemm_op17", exported, body, (3, 12, 12), (3, 28, 20), 17, torch.Generator().manual_seed(102),
         edit=edit)


class ViewBatch(tnn.Module):
    """x.view(x.size(0), -1): with a free batch, torch writes Shape, Gather,
    Unsqueeze and Concat into the Reshape's shape."""

    def forward(self, x):
        return x.view(x.size(0), -1)


def view_batch(opset):
    def run():
        torch.manual_seed(151)
        feat = [("conv1", tnn.Conv2d(1, 3, 3, padding=1)), ("relu1", tnn.ReLU()), ("pool1", tnn.MaxPool2d(2))]
        head = [("fc1", tnn.Linear(3 * 5 * 4, 2)), ("sigmoid", tnn.Sigmoid())]
        body = seq(*feat, ("flatten", tnn.Flatten()), *head)
        body.fc1.weight.mul_(3.0)
        exported = seq(*feat, ("flatten", ViewBatch()), *head)
        make("view_batch_op%d" % opset, exported, body, (1, 10, 8), (1, 26, 20), opset,
             torch.Generator().manual_seed(152))
    run.__name__ = "view_batch_op%d" % opset
    return run


def activations(opset):
    def run():
        torch.manual_seed(161)
        net = seq(("conv1", tnn.Conv2d(3, 6, 3, padding=1)), ("leaky", tnn.LeakyReLU(0.2)), ("pool1", tnn.MaxPool2d(2)),
                  ("conv2", tnn.Conv2d(6, 6, 3)), ("relu6", tnn.ReLU6()), ("flatten", tnn.Flatten()),
                  ("fc1", tnn.Linear(6 * 4 * 3, 4)), ("logp", tnn.LogSoftmax(dim=1)))
        net.conv2.weight.mul_(10.0)  # so that ReLU6 clips at both ends on the window
        make("activations_op%d" % opset, net, net, (3, 12, 10), (3, 24, 22), opset,
             torch.Generator().manual_seed(162))
    run.__name__ = "activations_op%d" % opset
    return run



def elu_tanh_op13():
    torch.manual_seed(171)
    net = seq(("conv1", tnn.Conv2d(3, 6, 3, padding=1)), ("elu", tnn.ELU(0.7)), ("pool1", tnn.MaxPool2d(2)),
              ("conv2", tnn.Conv2d(6, 6, 3)), ("tanh", tnn.Tanh()), ("flatten", tnn.Flatten()),
              ("fc1", tnn.Linear(6 * 4 * 3, 5)), ("elu2", tnn.ELU()), ("fc2", tnn.Linear(5, 3)),
              ("softmax", tnn.Softmax(dim=1)))
    net.conv2.weight.mul_(3.0)  # so that tanh saturates on part of the window
    make("elu_tanh_op13", net, net, (3, 12, 10), (3, 24, 22), 13, torch.Generator().manual_seed(172))



def silu_op13():
    torch.manual_seed(191)
    net = seq(("conv1", tnn.Conv2d(3, 6, 3, padding=1)), ("silu1", tnn.SiLU()), ("pool1", tnn.MaxPool2d(2)),
              ("conv2", tnn.Conv2d(6, 6, 3)), ("silu2", tnn.SiLU()), ("flatten", tnn.Flatten()),
              ("fc1", tnn.Linear(6 * 4 * 3, 5)), ("silu3", tnn.SiLU()), ("fc2", tnn.Linear(5, 2)),
              ("softmax", tnn.Softmax(dim=1)))
    make("silu_op13", net, net, (3, 12, 10), (3, 24, 22), 13, torch.Generator().manual_seed(192))

def prelu_op13():
    torch.manual_seed(181)
    net = seq(("conv1", tnn.Conv2d(3, 6, 3, padding=1)), ("prelu1", tnn.PReLU(6)), ("pool1", tnn.MaxPool2d(2)),
              ("conv2", tnn.Conv2d(6, 6, 3)), ("prelu2", tnn.PReLU()), ("flatten", tnn.Flatten()),
              ("fc1", tnn.Linear(6 * 4 * 3, 5)), ("prelu3", tnn.PReLU(5)), ("fc2", tnn.Linear(5, 2)),
              ("softmax", tnn.Softmax(dim=1)))
    g = torch.Generator().manual_seed(182)
    for p in (net.prelu1, net.prelu2, net.prelu3):
        p.weight.copy_(torch.rand(p.weight.shape, generator=g) * 0.5)
    make("prelu_op13", net, net, (3, 12, 10), (3, 24, 22), 13, torch.Generator().manual_seed(183))

class MeanHW(tnn.Module):
    """Global average pooling as a mean: ReduceMean, keepdims 0."""

    def __init__(self, dims):
        super().__init__()
        self.dims = dims

    def forward(self, x):
        return x.mean(self.dims)


def global_pools_op13():
    # Three spellings of a global average pool on the 4×3 map of the window:
    # x.mean((2, 3)); Keras's GlobalAveragePooling2D as tf2onnx writes it
    # (NHWC input, Transpose to NHWC, ReduceMean over axes 1, 2); and
    # GlobalAveragePool + Squeeze(axes 2, 3) (edited from a Flatten).
    torch.manual_seed(171)
    feat = [("conv1", tnn.Conv2d(3, 5, 3)), ("relu1", tnn.ReLU()), ("pool1", tnn.MaxPool2d(2))]
    fc = tnn.Linear(5, 2)
    fc.weight.mul_(3.0)
    body = seq(*feat, ("gap", tnn.AvgPool2d((4, 3), stride=1)), ("flatten", tnn.Flatten()), ("fc", fc))
    window, large, gen = (3, 10, 8), (3, 22, 19), torch.Generator().manual_seed(172)

    class ToNHWC(tnn.Module):
        def forward(self, x):
            return x.permute(0, 2, 3, 1)

    make("reduce_mean_op13", seq(*feat, ("gap", MeanHW((2, 3))), ("fc", fc)), body, window, large, 13, gen)
    make("keras_gap_op13", seq(("nhwc", NHWCInput()), *feat, ("tr", ToNHWC()), ("gap", MeanHW((1, 2))), ("fc", fc)),
         body, window, large, 13, gen, nhwc=True)

    def edit(model):
        f = node_by_op(model, "Flatten")
        model.graph.initializer.append(numpy_helper.from_array(np.array([2, 3], dtype=np.int64), "sq_axes"))
        f.CopyFrom(helper.make_node("Squeeze", [f.input[0], "sq_axes"], list(f.output), name="/squeeze"))
    make("squeeze_op13", seq(*feat, ("gap", tnn.AdaptiveAvgPool2d(1)), ("flatten", tnn.Flatten()), ("fc", fc)),
         body, window, large, 13, gen, edit=edit)


def dtypes_op13():
    torch.manual_seed(111)
    net = seq(("conv1", tnn.Conv2d(1, 3, 3)), ("relu1", tnn.ReLU()), ("pool1", tnn.MaxPool2d(2)),
              ("flatten", tnn.Flatten()), ("fc1", tnn.Linear(3 * 4 * 4, 2)))
    net.conv1.weight.copy_(net.conv1.weight.half().float())  # what FLOAT16 keeps

    def edit(model):
        conv = node_by_op(model, "Conv")
        w = init_by_name(model, conv.input[1])
        set_init(model, w.name, numpy_helper.to_array(w).astype(np.float16))
        gemm = node_by_op(model, "Gemm")
        gw = init_by_name(model, gemm.input[1])
        arr = numpy_helper.to_array(gw).astype(np.float64)
        gw.CopyFrom(helper.make_tensor(gw.name, onnx.TensorProto.DOUBLE, arr.shape, arr.flatten().tolist()))
        for name in (conv.input[2], gemm.input[2]):
            t = init_by_name(model, name)
            arr = numpy_helper.to_array(t)
            t.CopyFrom(helper.make_tensor(name, onnx.TensorProto.FLOAT, arr.shape, arr.flatten().tolist()))

    make("dtypes_op13", net, net, (1, 10, 10), (1, 20, 16), 13, torch.Generator().manual_seed(112), edit=edit)


def external_op13():
    torch.manual_seed(121)
    net = seq(("conv1", tnn.Conv2d(3, 4, 3)), ("relu1", tnn.ReLU()), ("pool1", tnn.MaxPool2d(2)),
              ("flatten", tnn.Flatten()), ("fc1", tnn.Linear(4 * 4 * 4, 3)), ("softmax", tnn.Softmax(1)))
    data = "external_op13.onnx.data"
    if os.path.exists(os.path.join(HERE, data)):
        os.remove(os.path.join(HERE, data))  # onnx appends to it
    make("external_op13", net, net, (3, 10, 10), (3, 18, 14), 13, torch.Generator().manual_seed(122),
         edit=lambda m: dict(save_as_external_data=True, all_tensors_to_one_file=True, location=data,
                             size_threshold=0))


def ceil_pool_op13():
    torch.manual_seed(131)
    net = seq(("conv1", tnn.Conv2d(2, 4, 3)), ("relu1", tnn.ReLU()), ("pool1", tnn.MaxPool2d(2, ceil_mode=True)),
              ("conv2", tnn.Conv2d(4, 4, 2)), ("relu2", tnn.ReLU()),
              ("pool2", tnn.AvgPool2d(2, ceil_mode=True, count_include_pad=False)),
              ("flatten", tnn.Flatten()), ("fc1", tnn.Linear(4 * 2 * 2, 2)))
    make("ceil_pool_op13", net, net, (2, 11, 11), (2, 23, 19), 13, torch.Generator().manual_seed(132))


def asym_pad_op13():
    torch.manual_seed(141)
    conv = tnn.Conv2d(2, 4, 2)
    rest = [("relu1", tnn.ReLU()), ("pool1", tnn.MaxPool2d(2)), ("flatten", tnn.Flatten()),
            ("fc1", tnn.Linear(4 * 5 * 4, 2))]
    body = seq(("pad", tnn.ZeroPad2d((0, 1, 0, 1))), ("conv1", conv), *rest)
    padded = tnn.Conv2d(2, 4, 2, padding=1)
    padded.weight.copy_(conv.weight)
    padded.bias.copy_(conv.bias)
    exported = seq(("conv1", padded), *rest[:2], ("flatten", tnn.Flatten()), ("fc1", body.fc1))

    def edit(model):
        c = node_by_op(model, "Conv")
        for a in c.attribute:
            if a.name == "pads":
                a.ints[:] = [0, 0, 1, 1]

    # exported differs from body until edited: compare after export instead.
    gen = torch.Generator().manual_seed(142)
    win = torch.randn(2, 10, 8, generator=gen)
    path = os.path.join(HERE, "asym_pad_op13.onnx")
    model = export(exported, path, win[None], 13)
    edit(model)
    save(model, path)
    big = torch.randn(2, 22, 16, generator=gen)
    big_out = torchgen.to_fcn(body, (2, 10, 8))(big[None])[0]
    torchgen.write_safetensors(os.path.join(HERE, "asym_pad_op13.golden.safetensors"), [
        ("window_input", torchgen.np32(win)), ("window_output", torchgen.np32(body(win[None])[0])),
        ("large_input", torchgen.np32(big)), ("large_output", torchgen.np32(big_out))])
    print("%-20s opset 13 window 2x10x8 -> (2,)" % "asym_pad_op13")




class Affine(tnn.Module):
    """Elementwise arithmetic with constants, in this order: × mul, / div,
    − sub, + add (each optional)."""

    def __init__(self, mul=None, div=None, sub=None, add=None):
        super().__init__()
        self.div = div
        for k, v in (("mul", mul), ("sub", sub), ("add", add)):
            self.register_buffer(k, v)

    def forward(self, x):
        if self.mul is not None:
            x = x * self.mul
        if self.div is not None:
            x = x / self.div
        if self.sub is not None:
            x = x - self.sub
        if self.add is not None:
            x = x + self.add
        return x


def affine_op13():
    torch.manual_seed(121)
    conv1, conv2 = tnn.Conv2d(2, 4, 3, padding=1), tnn.Conv2d(4, 5, 3)
    fc1, fc2 = tnn.Linear(5 * 4 * 3, 6), tnn.Linear(6, 3)
    fc2.weight.mul_(3.0)
    g = torch.Generator().manual_seed(122)
    s1, t1 = torch.rand(4, generator=g) + 0.5, torch.randn(4, generator=g)
    g2, b2 = torch.rand(6, generator=g) + 0.5, torch.randn(6, generator=g)
    d = 2.0
    exported = seq(("conv1", conv1), ("aff1", Affine(mul=s1.view(1, 4, 1, 1), sub=t1.view(1, 4, 1, 1))),
                   ("relu1", tnn.ReLU()), ("pool1", tnn.MaxPool2d(2)), ("conv2", conv2), ("relu2", tnn.ReLU()),
                   ("flatten", tnn.Flatten()), ("fc1", fc1), ("bn", Affine(mul=g2, add=b2)), ("relu3", tnn.ReLU()),
                   ("fc2", fc2), ("scale", Affine(div=d)), ("softmax", tnn.Softmax(dim=1)))
    # The same network with the arithmetic folded into the layers, by
    # hand; make() checks it against the exported module.
    conv1f, fc1f, fc2f = tnn.Conv2d(2, 4, 3, padding=1), tnn.Linear(5 * 4 * 3, 6), tnn.Linear(6, 3)
    conv1f.weight.copy_(conv1.weight * s1.view(4, 1, 1, 1))
    conv1f.bias.copy_(conv1.bias * s1 - t1)
    fc1f.weight.copy_(fc1.weight * g2.view(6, 1))
    fc1f.bias.copy_(fc1.bias * g2 + b2)
    fc2f.weight.copy_(fc2.weight / d)
    fc2f.bias.copy_(fc2.bias / d)
    body = seq(("conv1", conv1f), ("relu1", tnn.ReLU()), ("pool1", tnn.MaxPool2d(2)), ("conv2", conv2),
               ("relu2", tnn.ReLU()), ("flatten", tnn.Flatten()), ("fc1", fc1f), ("relu3", tnn.ReLU()),
               ("fc2", fc2f), ("softmax", tnn.Softmax(dim=1)))
    make("affine_op13", exported, body, (2, 12, 10), (2, 28, 22), 13, torch.Generator().manual_seed(123))

class Normalize(tnn.Module):
    """torch's preprocessing inside a model: (x - mean) / std, per channel."""

    def __init__(self, mean, std):
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std).view(1, -1, 1, 1))

    def forward(self, x):
        return (x - self.mean) / self.std


class Rescaling(tnn.Module):
    """Keras's Rescaling(scale, offset) on an N,H,W,C input: Mul, then Add
    of a C-vector (broadcast over the last axis), as tf2onnx writes it."""

    def __init__(self, scale, offset):
        super().__init__()
        self.scale = scale
        self.register_buffer("offset", torch.tensor(offset))

    def forward(self, x):
        return x * self.scale + self.offset


def make_scaled(name, exported, body, window, large, gen, graph_input, mean, std, nhwc=False):
    """A model that scales its own input. graph_input maps pixels in [0,1]
    (C,H,W) to what the graph reads; mean and std are what the import must
    fold that scaling into, so that body((pixels - mean) / std) is the
    exported model's output."""
    c = window[0]
    m = torch.tensor(mean, dtype=torch.float32).view(c, 1, 1)
    sd = torch.tensor(std, dtype=torch.float32).view(c, 1, 1)
    win = torch.rand(*window, generator=gen)
    x = graph_input(win)[None]
    if nhwc:
        x = x.permute(0, 2, 3, 1).contiguous()
    win_out = exported(x)[0]
    d = (body(((win - m) / sd)[None])[0] - win_out).abs().max().item()
    assert d <= TOL, "%s: the body on the folded normalisation differs by %g" % (name, d)
    path = os.path.join(HERE, name + ".onnx")
    save(export(exported, path, x, 13), path)
    big = torch.rand(*large, generator=gen)
    big_out = torchgen.to_fcn(body, window)(((big - m) / sd)[None])[0]
    torchgen.write_safetensors(os.path.join(HERE, name + ".golden.safetensors"), [
        ("window_input", torchgen.np32(win)), ("window_output", torchgen.np32(win_out)),
        ("large_input", torchgen.np32(big)), ("large_output", torchgen.np32(big_out)),
        ("mean", np.array(mean, dtype=np.float32)), ("std", np.array(std, dtype=np.float32))])
    print("%-20s opset 13 window %s -> %s large -> %s" % (
        name, "x".join(map(str, window)), tuple(win_out.shape), "x".join(map(str, big_out.shape))))


def scaled_feat(seed):
    torch.manual_seed(seed)
    return [("conv1", tnn.Conv2d(3, 4, 3, padding=1)), ("relu1", tnn.ReLU()), ("pool1", tnn.MaxPool2d(2)),
            ("conv2", tnn.Conv2d(4, 5, 3)), ("relu2", tnn.ReLU())]


def torch_norm_op13():
    feat = scaled_feat(101)
    head = [("flatten", tnn.Flatten()), ("fc1", tnn.Linear(5 * 4 * 3, 6)), ("relu3", tnn.ReLU()),
            ("fc2", tnn.Linear(6, 2)), ("softmax", tnn.Softmax(dim=1))]
    body = seq(*feat, *head)
    body.fc2.weight.mul_(3.0)
    mean, std = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
    exported = seq(("norm", Normalize(mean, std)), *feat, *head)
    make_scaled("torch_norm_op13", exported, body, (3, 12, 10), (3, 28, 22), torch.Generator().manual_seed(102),
                lambda p: p, mean, std)


def keras_rescale_op13():
    feat = scaled_feat(111)
    n = 5 * 4 * 3
    fc1, fc2 = tnn.Linear(n, 6), tnn.Linear(6, 2)
    fc2.weight.mul_(3.0)
    body = seq(*feat, ("flatten", torchgen.FlattenHWC()), ("fc1", fc1), ("relu3", tnn.ReLU()), ("fc2", fc2))
    offset = [-0.5, -0.25, 0.125]
    exported = seq(("rescale", Rescaling(1 / 255.0, offset)), ("nhwc", NHWCInput()), *feat,
                   ("flatten", ReshapeHWC(n)), ("fc1", MatMulAdd(fc1)), ("relu3", tnn.ReLU()), ("fc2", fc2))
    # Read with --std 1/255 (the graph's input is pixels × 255): the
    # rescaling's 1/255 cancels it, and its offset o is a mean of -o.
    make_scaled("keras_rescale_op13", exported, body, (3, 12, 10), (3, 28, 22), torch.Generator().manual_seed(112),
                lambda p: p * 255.0, [-o for o in offset], [1.0, 1.0, 1.0], nhwc=True)

class BasicBlock(tnn.Module):
    """A ResNet's basic block (torchvision's): two 3x3 convolutions with batch
    norms, summed with the input, or with its strided 1x1 projection where
    the stride or the channels change, then a ReLU."""

    def __init__(self, cin, cout, stride=1):
        super().__init__()
        self.conv1 = tnn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = tnn.BatchNorm2d(cout)
        self.relu = tnn.ReLU()
        self.conv2 = tnn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = tnn.BatchNorm2d(cout)
        self.down = None
        if stride != 1 or cin != cout:
            self.down = tnn.Sequential(tnn.Conv2d(cin, cout, 1, stride, bias=False), tnn.BatchNorm2d(cout))

    def forward(self, x):
        out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        return self.relu(out + (x if self.down is None else self.down(x)))


class PreActBlock(tnn.Module):
    """A pre-activation ResNet's block on an unchanged map: batch norm and
    ReLU before each 3x3 convolution, and the input added first (x + body,
    the other order of the Add's inputs)."""

    def __init__(self, c):
        super().__init__()
        self.bn1, self.conv1 = tnn.BatchNorm2d(c), tnn.Conv2d(c, c, 3, padding=1)
        self.bn2, self.conv2 = tnn.BatchNorm2d(c), tnn.Conv2d(c, c, 3, padding=1)

    def forward(self, x):
        return x + self.conv2(torch.relu(self.bn2(self.conv1(torch.relu(self.bn1(x))))))


def activations3_op13():
    torch.manual_seed(241)
    net = seq(("conv1", tnn.Conv2d(3, 6, 3, padding=1)), ("gelu", tnn.GELU()), ("pool1", tnn.MaxPool2d(2)),
              ("conv2", tnn.Conv2d(6, 6, 3)), ("hswish", tnn.Hardswish()), ("mish", tnn.Mish()),
              ("flatten", tnn.Flatten()), ("fc1", tnn.Linear(6 * 4 * 3, 5)), ("softplus", tnn.Softplus()),
              ("fc2", tnn.Linear(5, 3)), ("hsig", tnn.Hardsigmoid()))
    net.conv2.weight.mul_(4.0)  # so that Hardswish's three pieces are all reached
    net.fc2.weight.mul_(4.0)    # and Hardsigmoid clips at both ends on some outputs
    make("activations3_op13", net, net, (3, 12, 10), (3, 24, 22), 13, torch.Generator().manual_seed(242))


def hardswish_op14():
    torch.manual_seed(251)
    net = seq(("conv1", tnn.Conv2d(2, 4, 3, padding=1)), ("hswish", tnn.Hardswish()), ("pool1", tnn.MaxPool2d(2)),
              ("flatten", tnn.Flatten()), ("fc1", tnn.Linear(4 * 5 * 4, 2)))
    net.conv1.weight.mul_(4.0)
    make("hardswish_op14", net, net, (2, 10, 8), (2, 22, 18), 14, torch.Generator().manual_seed(252))


def activations3_op20():
    """activations3_op13 with the GELU and Mish torch writes as several
    nodes replaced by ONNX's own Gelu (opset 20) and Mish (opset 18) ops;
    the other ops keep their semantics at opset 20."""
    def edit(g):
        def replace(first_op, count, node):
            i = next(i for i, n in enumerate(g.node) if n.op_type == first_op)
            j, span = i, []
            while len(span) < count:  # skip the Constant nodes in between
                if g.node[j].op_type != "Constant":
                    span.append(g.node[j])
                j += 1
            node.input[0] = span[0].input[0]
            node.output[0] = span[-1].output[0]
            for n in span:
                g.node.remove(n)
            g.node.insert(i, node)

        replace("Div", 5, helper.make_node("Gelu", ["x"], ["y"], name="gelu"))
        replace("Softplus", 3, helper.make_node("Mish", ["x"], ["y"], name="mish"))
        read = {v for n in g.node for v in n.input}
        for n in [n for n in g.node if n.op_type == "Constant" and n.output[0] not in read]:
            g.node.remove(n)

    relabel("activations3_op13", "activations3_op20", 20, 9, "activations3_op13 with Gelu and Mish ops", edit)


class Bottleneck(tnn.Module):
    """A ResNet's bottleneck block (torchvision's): 1x1 down to a narrow
    width, a strided 3x3, 1x1 up four times wider, batch norms, summed with
    the strided 1x1 projection of the input, then a ReLU."""

    def __init__(self, cin, width, stride):
        super().__init__()
        cout = 4 * width
        self.conv1, self.bn1 = tnn.Conv2d(cin, width, 1, bias=False), tnn.BatchNorm2d(width)
        self.conv2, self.bn2 = tnn.Conv2d(width, width, 3, stride, 1, bias=False), tnn.BatchNorm2d(width)
        self.conv3, self.bn3 = tnn.Conv2d(width, cout, 1, bias=False), tnn.BatchNorm2d(cout)
        self.relu = tnn.ReLU()
        self.down = tnn.Sequential(tnn.Conv2d(cin, cout, 1, stride, bias=False), tnn.BatchNorm2d(cout))

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        return self.relu(self.bn3(self.conv3(out)) + self.down(x))


def resnet_bottleneck_op17():
    torch.manual_seed(231)
    net = seq(("conv1", tnn.Conv2d(1, 8, 3, padding=1)), ("relu1", tnn.ReLU()),
              ("block1", Bottleneck(8, 4, 2)), ("block2", Bottleneck(16, 4, 1)),
              ("flatten", tnn.Flatten()), ("fc", tnn.Linear(16 * 5 * 4, 4)))
    randomize(net, torch.Generator().manual_seed(232))
    make("resnet_bottleneck_op17", net, net, (1, 10, 8), (1, 24, 20), 17, torch.Generator().manual_seed(233))


def resnet_op13():
    torch.manual_seed(201)
    net = seq(("conv1", tnn.Conv2d(3, 8, 3, padding=1, bias=False)), ("bn1", tnn.BatchNorm2d(8)),
              ("relu1", tnn.ReLU()), ("pool1", tnn.MaxPool2d(2)),
              ("block1", BasicBlock(8, 8)), ("block2", BasicBlock(8, 12, 2)),
              ("flatten", tnn.Flatten()), ("fc1", tnn.Linear(12 * 4 * 4, 16)), ("relu2", tnn.ReLU()),
              ("fc2", tnn.Linear(16, 3)), ("softmax", tnn.Softmax(dim=1)))
    randomize(net, torch.Generator().manual_seed(202))
    net.fc2.weight.mul_(3.0)
    make("resnet_op13", net, net, (3, 16, 16), (3, 40, 36), 13, torch.Generator().manual_seed(203))


def resnet_preact_op11():
    torch.manual_seed(211)
    feat = [("conv1", tnn.Conv2d(1, 6, 3, padding=1)), ("block1", PreActBlock(6)), ("block2", PreActBlock(6)),
            ("bn", tnn.BatchNorm2d(6)), ("relu", tnn.ReLU())]
    head = [("flatten", tnn.Flatten()), ("fc", tnn.Linear(6, 1)), ("sigmoid", tnn.Sigmoid())]
    exported = seq(*feat, ("gap", tnn.AdaptiveAvgPool2d(1)), *head)
    # The 10x8 window's map is 10x8: a stride-1 average pool of that size is
    # the global pool there, and slides on larger inputs.
    body = seq(*feat, ("gap", tnn.AvgPool2d((10, 8), stride=1)), *head)
    randomize(body, torch.Generator().manual_seed(212))  # the modules are shared
    body.fc.weight.mul_(4.0)
    make("resnet_preact_op11", exported, body, (1, 10, 8), (1, 26, 20), 11, torch.Generator().manual_seed(213))


def keras_resnet_op13():
    torch.manual_seed(221)
    feat = [("conv1", tnn.Conv2d(3, 6, 3, padding=1)), ("relu1", tnn.ReLU()), ("block1", BasicBlock(6, 8, 2))]
    n = 8 * 6 * 5
    fc1 = tnn.Linear(n, 2)
    fc1.weight.mul_(3.0)
    body = seq(*feat, ("flatten", torchgen.FlattenHWC()), ("fc1", fc1))
    exported = seq(("nhwc", NHWCInput()), *feat, ("flatten", ReshapeHWC(n)), ("fc1", MatMulAdd(fc1)))
    randomize(body, torch.Generator().manual_seed(222))
    make("keras_resnet_op13", exported, body, (3, 12, 10), (3, 30, 24), 13, torch.Generator().manual_seed(223),
         nhwc=True)


class BasicConv(tnn.Sequential):
    """torchvision's BasicConv2d: a convolution without bias, a batch norm
    (eps 0.001) and a ReLU."""

    def __init__(self, cin, cout, k, **kw):
        super().__init__(tnn.Conv2d(cin, cout, k, bias=False, **kw), tnn.BatchNorm2d(cout, eps=0.001), tnn.ReLU())


class Inception(tnn.Module):
    """GoogLeNet's Inception module (torchvision's): a 1x1 path, a 1x1 then
    3x3 path, a second one (GoogLeNet's "5x5", a 3x3 in torchvision), and a
    3x3 max pool of stride 1 (ceil mode) then 1x1, stacked on channels."""

    def __init__(self, cin, c1, r3, c3, r5, c5, cp):
        super().__init__()
        self.branch1 = BasicConv(cin, c1, 1)
        self.branch2 = tnn.Sequential(BasicConv(cin, r3, 1), BasicConv(r3, c3, 3, padding=1))
        self.branch3 = tnn.Sequential(BasicConv(cin, r5, 1), BasicConv(r5, c5, 3, padding=1))
        self.branch4 = tnn.Sequential(tnn.MaxPool2d(3, 1, 1, ceil_mode=True), BasicConv(cin, cp, 1))

    def forward(self, x):
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)


def inception_op13():
    torch.manual_seed(251)
    net = seq(("conv1", BasicConv(3, 8, 3, padding=1)), ("pool1", tnn.MaxPool2d(2)),
              ("mixed3a", Inception(8, 4, 4, 6, 2, 3, 3)), ("mixed3b", Inception(16, 6, 4, 8, 2, 4, 4)),
              ("pool2", tnn.MaxPool2d(2)), ("flatten", tnn.Flatten()), ("fc", tnn.Linear(22 * 4 * 3, 3)),
              ("softmax", tnn.Softmax(dim=1)))
    randomize(net, torch.Generator().manual_seed(252))
    net.fc.weight.mul_(3.0)
    make("inception_op13", net, net, (3, 16, 12), (3, 36, 30), 13, torch.Generator().manual_seed(253))


class DenseLayer(tnn.Module):
    """torchvision's _DenseLayer: batch norm, ReLU, 1x1 to bn_size·growth,
    batch norm, ReLU, 3x3 to growth, on the concatenation of every
    feature map before it (a list, as torchvision passes it)."""

    def __init__(self, cin, growth, bn_size):
        super().__init__()
        self.norm1, self.conv1 = tnn.BatchNorm2d(cin), tnn.Conv2d(cin, bn_size * growth, 1, bias=False)
        self.norm2 = tnn.BatchNorm2d(bn_size * growth)
        self.conv2 = tnn.Conv2d(bn_size * growth, growth, 3, padding=1, bias=False)

    def forward(self, features):
        x = torch.cat(features, 1)
        return self.conv2(torch.relu(self.norm2(self.conv1(torch.relu(self.norm1(x))))))


class DenseBlock(tnn.Module):
    """torchvision's _DenseBlock: each layer reads the concatenation of the
    block's input and every layer's output before it; the block gives the
    concatenation of them all. Exported, every layer's Concat repeats the
    inputs of the one before, and the block's last Concat lists them all."""

    def __init__(self, layers, cin, growth, bn_size=2):
        super().__init__()
        self.layers = tnn.ModuleList(DenseLayer(cin + i * growth, growth, bn_size) for i in range(layers))

    def forward(self, x):
        features = [x]
        for layer in self.layers:
            features.append(layer(features))
        return torch.cat(features, 1)


def densenet_op13():
    torch.manual_seed(261)
    net = seq(("conv0", tnn.Conv2d(1, 6, 3, padding=1, bias=False)), ("norm0", tnn.BatchNorm2d(6)),
              ("relu0", tnn.ReLU()), ("block1", DenseBlock(3, 6, 4)),
              ("norm1", tnn.BatchNorm2d(18)), ("relu1", tnn.ReLU()), ("trans", tnn.Conv2d(18, 8, 1, bias=False)),
              ("pool", tnn.AvgPool2d(2)), ("block2", DenseBlock(2, 8, 4)),
              ("norm5", tnn.BatchNorm2d(16)), ("relu5", tnn.ReLU()),
              ("flatten", tnn.Flatten()), ("fc", tnn.Linear(16 * 5 * 4, 2)))
    randomize(net, torch.Generator().manual_seed(262))
    net.fc.weight.mul_(3.0)
    make("densenet_op13", net, net, (1, 10, 8), (1, 26, 22), 13, torch.Generator().manual_seed(263))


MODELS = OrderedDict((f.__name__, f) for f in (
    chain(9), chain(13), chain(17), chain_op21, gap_sigmoid_op11, keras_nhwc_op13, keras_flatten_op11,
    reshape_gemm_op17, view_batch(9), view_batch(13), activations(9), activations(13), global_pools_op13, dtypes_op13, external_op13, ceil_pool_op13, asym_pad_op13,
    elu_tanh_op13, silu_op13, prelu_op13, affine_op13, torch_norm_op13, keras_rescale_op13,
    resnet_op13, resnet_preact_op11, keras_resnet_op13, resnet_bottleneck_op17,
    activations3_op13, hardswish_op14, activations3_op20, inception_op13, densenet_op13))


def check_exported():
    files = sorted(glob.glob(os.path.join(HERE, "exported", "*.onnx")))
    for f in files:
        onnx.checker.check_model(onnx.load(f), full_check=True)
        print("checked", os.path.relpath(f, HERE))
    if not files:
        sys.exit("no exported models; run go test ./onnx -run TestExportORT -update first")


def seed_check(d, raw, fcn_onnx=None):
    """The issue's end-to-end check on shared/bench/seednet.py's model: the raw
    heatmap fc2conv scan wrote for DIR/img_0.png against PyTorch's own FCN,
    and, given the FCN fc2conv exported, ONNX Runtime's output against it."""
    import json
    import subprocess
    from PIL import Image
    sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "shared", "bench"))
    import seednet
    feat, head = seednet.build()
    sd = torch.load(os.path.join(d, "seed.pt"))
    feat.load_state_dict(sd["feat"])
    head.load_state_dict(sd["head"])
    x = torch.from_numpy(np.asarray(Image.open(os.path.join(d, "img_0.png")).convert("RGB"), np.float32) / 255.0)
    x = x.permute(2, 0, 1)[None].contiguous()
    want = seednet.fcn(feat, head)(x)[0, 0].numpy()
    got = np.load(glob.glob(os.path.join(raw, "img_0-*-s1.npy"))[0])
    assert got.shape == want.shape, (got.shape, want.shape)
    print("fc2conv scan vs PyTorch FCN on img_0.png (%dx%d heatmap): max abs diff %.3g" % (
        want.shape[1], want.shape[0], np.abs(got - want).max()))
    if fcn_onnx:
        inp, out = os.path.join(d, "img_0.input.json"), os.path.join(d, "img_0.ort.json")
        with open(inp, "w") as f:
            json.dump({"shape": list(x.shape), "input": x.flatten().tolist()}, f)
        subprocess.run(["node", os.path.join(HERE, "run_ort.js"), fcn_onnx, inp, out], check=True)
        with open(out) as f:
            o = json.load(f)
        ort = np.array(o["data"], np.float32).reshape(o["shape"])[0, 0]
        print("ONNX Runtime on the exported FCN vs PyTorch FCN: max abs diff %.3g" % np.abs(ort - want).max())


if __name__ == "__main__":
    if sys.argv[1:] == ["check"]:
        check_exported()
        sys.exit(0)
    if sys.argv[1:2] == ["seed-check"]:
        seed_check(*sys.argv[2:5])
        sys.exit(0)
    names = sys.argv[1:] or list(MODELS)
    unknown = [n for n in names if n not in MODELS]
    if unknown:
        sys.exit("unknown model %s; known: %s" % (", ".join(unknown), ", ".join(MODELS)))
    for n in names:
        MODELS[n]()
