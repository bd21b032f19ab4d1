#!/usr/bin/env bash
# Scores a candidate model on validation only: the raw held-out items
# (`eval classify --split val`-style figures come from train's epoch lines)
# and the four validation scene sets, per set and pooled.
#
# usage: testdata/search/valeval.sh FCN_MODEL OUTDIR SETDIR...
#   SETDIR: scene sets from `fc2conv scenes --items val ...` (each with
#   truth.jsonl); the model card uses val11 val12 (train photos, seeds 11
#   and 12) and uv31 uv32 (held-out photos from testdata/valphotos.py).
# Set FC2CONV to the binary (default: fc2conv on PATH).
set -euo pipefail
bin=${FC2CONV:-fc2conv}
model=$1 out=$2
shift 2
mkdir -p "$out"
: > "$out/truth.jsonl"
: > "$out/scan.jsonl"
for d in "$@"; do
	n=$(basename "$d")
	# A set already scanned into OUTDIR is scored again, not rescanned.
	[ -s "$out/$n.jsonl" ] || "$bin" scan --quiet --model "$model" --threshold 0.05 --out "$out/$n.jsonl" "$d"
	printf '%s: ' "$n"
	"$bin" eval detect --truth "$d/truth.jsonl" --scan "$out/$n.jsonl" | awk '/AP@0.5/ && !p { print; p = 1 }'
	sed "s/scene_/${n}_scene_/" "$d/truth.jsonl" >> "$out/truth.jsonl"
	sed "s/scene_/${n}_scene_/" "$out/$n.jsonl" >> "$out/scan.jsonl"
done
echo "pooled:"
"$bin" eval detect --truth "$out/truth.jsonl" --scan "$out/scan.jsonl" --max-fp 0.1 --margin 0.02
