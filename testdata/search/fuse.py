#!/usr/bin/python3
"""Rescore a verified dress scan by another fusion of its two stages.

usage: python3 testdata/search/fuse.py IN.jsonl OUT.jsonl KIND PARAM

IN is an `fc2conv scan` output with a verifier, whose detections carry
`scan_score` and `verifier_p` (session 45). OUT is the same records with
each score remade from them: KIND `w` is scan^(1−PARAM)·p^PARAM (0.5 is
the detector's geometric mean, 1 the verifier alone), `min` is the
lesser of the two (PARAM unused), `lo` is the logistic of the two
log-odds weighted 1−PARAM and PARAM. Scoring OUT against IN remade with
`w 0.5` (`fc2conv eval detect --baseline`) tells what a fusion would do
without scanning again; the boxes are the default fusion's, after its
second NMS, so a fusion that would keep other boxes there is only
approximated. Standard library only; nothing here is used by the Go code
or its tests.
"""
import json
import math
import sys


def logit(x):
    x = min(max(x, 1e-6), 1 - 1e-6)
    return math.log(x / (1 - x))


def fused(s, p, kind, par):
    if kind == "w":
        return s ** (1 - par) * p ** par
    if kind == "min":
        return min(s, p)
    if kind == "lo":
        return 1 / (1 + math.exp(-((1 - par) * logit(s) + par * logit(p))))
    sys.exit(f"fuse.py: kind {kind!r}: want w, min or lo")


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    src, dst, kind, par = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
    with open(src) as f, open(dst, "w") as g:
        for n, line in enumerate(f, 1):
            r = json.loads(line)
            for d in r.get("detections") or []:
                if "verifier_p" not in d:
                    sys.exit(f"fuse.py: {src} line {n}: a detection without verifier_p (scanned without a verifier, or before session 45)")
                d["score"] = fused(d["scan_score"], d["verifier_p"], kind, par)
            g.write(json.dumps(r) + "\n")


if __name__ == "__main__":
    main()
