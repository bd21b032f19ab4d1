#!/usr/bin/env bash
# Times two fc2conv binaries training V54's recipe side by side, one thread
# each, and checks that they write the same file.
#
#   testdata/bench/train-ab.sh OLD NEW steps|mining [REPS]
#
# steps:  one epoch of 1200 steps, no mining (the training step and the
#         sampler);
# mining: 150 steps an epoch, three epochs, two mining rounds of 400 scenes
#         with the cascade (mostly the detector's scans).
# Each run prints wall and user seconds and peak memory; the two start in
# turn, the first alternating from run to run. Run from the repository root.
set -euo pipefail
old=$1 new=$2 mode=$3 reps=${4:-3}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
recipe=(--arch bn3s --garment-classes --scene-crops 0.8 --raw 1 --seed 1 --split-seed 1
  --more-photos testdata/photos-extra --more-photos testdata/photos-more --crop-context 1.2857142857142858
  --hard-negative 0.6 --crop-print 0.2 --quiet --force)
case $mode in
steps) recipe+=(--steps 1200 --epochs 1) ;;
mining) recipe+=(--steps 150 --epochs 3 --mine-from 2 --mine-scenes 400 --mine-cascade models/dress-fcn.safetensors --mine-cascade-weight 8) ;;
*) echo "train-ab.sh: mode $mode: want steps or mining" >&2; exit 2 ;;
esac
run() { # name binary rep
  /usr/bin/time -f "$1 %e s wall %U s user %M KiB" env GOMAXPROCS=1 "$2" train "${recipe[@]}" --out "$out/$1-$3.safetensors" 2>&1 |
    grep -v '^wrote\|^architecture' || true
}
for r in $(seq 1 "$reps"); do
  if [ $((r % 2)) = 1 ]; then run old "$old" "$r" & sleep 1; run new "$new" "$r" &
  else run new "$new" "$r" & sleep 1; run old "$old" "$r" & fi
  wait
  cmp "$out/old-$r.safetensors" "$out/new-$r.safetensors" && echo "run $r: identical files"
done
