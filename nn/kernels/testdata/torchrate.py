"""Single-thread float32 rates of PyTorch on this machine, the peer figures
for BenchmarkGemm (docs/PERFORMANCE.md, "GEMM kernels"):

    /usr/bin/python3 nn/kernels/testdata/torchrate.py

torch.mm goes through the system BLAS (Debian's python3-torch uses whatever
libblas.so.3 is installed); conv2d goes through oneDNN. Each figure is the
median of three timings (of five calls, one for torch.mm), after one
warm-up call.
"""
import time

import torch

torch.set_num_threads(1)


def rate(f, flops, reps=5):
    f()
    runs = []
    for _ in range(3):
        t = time.time()
        for _ in range(reps):
            f()
        runs.append(reps * flops / (time.time() - t) / 1e9)
    return sorted(runs)[1]


n = 2048
a, b = torch.randn(n, n), torch.randn(n, n)
# One call per timing: with a reference BLAS a call takes seconds.
print(f"torch.mm {n}x{n}x{n}: {rate(lambda: torch.mm(a, b), 2 * n**3, reps=1):.1f} GFLOP/s", flush=True)
with torch.no_grad():
    # The seed FCN's 3x3 convolutions with 16 input channels and more,
    # at their sizes on a 1024x512 image.
    for ci, co, h, w in [(16, 32, 256, 512), (32, 64, 128, 256), (64, 64, 64, 128), (64, 128, 32, 64)]:
        x, wt = torch.randn(1, ci, h, w), torch.randn(co, ci, 3, 3)
        flops = 2 * co * ci * 9 * h * w
        r = rate(lambda: torch.nn.functional.conv2d(x, wt, padding=1), flops)
        print(f"conv2d 3x3 {ci}->{co} on {h}x{w}: {r:.1f} GFLOP/s", flush=True)
