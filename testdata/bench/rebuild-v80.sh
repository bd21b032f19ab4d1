#!/usr/bin/env bash
# usage: testdata/bench/rebuild-v80.sh OUT_DIR
# Rebuilds the shipped verifier (V80) from this checkout with the model
# card's command on two threads, times it, and compares both files with
# models/ byte for byte. Run it from the repository root with nothing
# else on the machine if the time is to be quoted. It never writes models/.
set -euo pipefail
out=${1:?usage: rebuild-v80.sh OUT_DIR}
mkdir -p "$out"
git log -1 --oneline
go build -o "$out/fc2conv" ./cmd/fc2conv
/usr/bin/time -v env GOMAXPROCS=2 "$out/fc2conv" train --arch bn3s --garment-classes \
  --scene-crops 0.8 --raw 1 --mine-from 3 --seed 1 --split-seed 1 --steps 4800 \
  --more-photos testdata/photos-extra --more-photos testdata/photos-more \
  --mine-scenes 400 --mine-cascade models/dress-fcn.safetensors \
  --crop-context 1.2857142857142858 --crop-window 40 --mine-cascade-weight 8 --hard-negative 0.6 \
  --crop-print 0.2 --quiet --out "$out/verifier.safetensors"
"$out/fc2conv" convert "$out/verifier.safetensors" -o "$out/verifier-fcn.safetensors" \
  --threshold 0.3764 --verifier-views 27 --verifier-pool min --force > /dev/null
cmp "$out/verifier.safetensors" models/verifier.safetensors && echo "verifier.safetensors: identical"
cmp "$out/verifier-fcn.safetensors" models/verifier-fcn.safetensors && echo "verifier-fcn.safetensors: identical"
