#!/usr/bin/python3
"""Times PyTorch's own FCN of the seed network (../shared/bench/seednet.py)
on 1024x512 RGB inputs: the engine-level peer of
`go test -run XXX -bench SeedFCN ./nn`.

usage: seedpeer.py THREADS [RUNS]   prints the median forward time in ms
"""
import os, statistics, sys, time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared", "bench"))
import seednet  # noqa: E402

torch.set_grad_enabled(False)


def main():
    threads = int(sys.argv[1])
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    torch.set_num_threads(threads)
    torch.manual_seed(5)
    feat, head = seednet.build()
    f = seednet.fcn(feat, head)
    x = torch.rand(1, 3, 512, 1024)
    f(x)  # warm-up
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        f(x)
        times.append(time.perf_counter() - t)
    print("seed FCN 1024x512, %d thread(s): median %.1f ms over %d runs" % (threads, 1000 * statistics.median(times), runs))


if __name__ == "__main__":
    main()
