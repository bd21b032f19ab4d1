#!/usr/bin/env bash
# Scores trained members as one candidate, on validation only: merges them
# (`fc2conv ensemble`), fits the temperature on the validation patches
# (`calibrate --seed 1 --split-seed 1`, as the shipped model), converts,
# prints the held-out items' figures (`eval classify --split val`) and
# scans the validation scene sets with valeval.sh, two at a time (one
# core each). Every file goes into OUTDIR; nothing is overwritten.
#
# usage: testdata/search/candidate.sh OUTDIR VALSETS_DIR MEMBER.safetensors...
#   VALSETS_DIR holds val11 val12 uv31 uv32 (see valeval.sh); SETS="..."
#   names other sets there, e.g. all sixteen (val11-18, uv31-38: 640
#   scenes), whose intervals (eval detect --bootstrap) are half as wide.
#   BASELINE=DIR, a valeval.sh folder of the same sets scanned by the model
#   to beat (BASELINE_MODEL, default models/dress.safetensors), adds paired
#   bootstrap intervals (2000 resamples) of the differences on the scenes
#   and on the held-out items.
# Set FC2CONV to the binary (default: fc2conv on PATH).
set -euo pipefail
bin=${FC2CONV:-fc2conv}
out=$1 sets=$2
shift 2
if [ -e "$out/ens.safetensors" ]; then
	echo "candidate.sh: $out already holds a candidate; give another OUTDIR" >&2
	exit 2
fi
mkdir -p "$out"
"$bin" ensemble -o "$out/ens.safetensors" "$@"
"$bin" calibrate --model "$out/ens.safetensors" --out "$out/cal.safetensors" --seed 1 --split-seed 1 --reliability "$out/reliability-val.png"
"$bin" convert "$out/cal.safetensors" -o "$out/cal-fcn.safetensors" > /dev/null
# Keep the report whole (head would end the pipe early and, with pipefail, the script).
"$bin" eval classify --split val --model "$out/cal.safetensors" --threshold 0.5 > "$out/items.txt"
sed -n 1,3p "$out/items.txt"
here=$(dirname "$0")
export FC2CONV=$bin GOMAXPROCS=1
# Alternate sets between the two cores.
read -r -a names <<< "${SETS:-val11 val12 uv31 uv32}"
half=(); other=(); all=()
for i in "${!names[@]}"; do
	all+=("$sets/${names[i]}")
	if (( i % 2 == 0 )); then half+=("$sets/${names[i]}"); else other+=("$sets/${names[i]}"); fi
done
"$here/valeval.sh" "$out/cal-fcn.safetensors" "$out/scans" "${half[@]}" > "$out/scan-a.log" 2>&1 &
[ ${#other[@]} -eq 0 ] || "$here/valeval.sh" "$out/cal-fcn.safetensors" "$out/scans" "${other[@]}" > "$out/scan-b.log" 2>&1 &
wait
# The sets are scanned now; this only scores them, per set and pooled.
"$here/valeval.sh" "$out/cal-fcn.safetensors" "$out/scans" "${all[@]}"
if [ -n "${BASELINE:-}" ]; then
	echo "against $BASELINE:"
	"$bin" eval detect --truth "$out/scans/truth.jsonl" --scan "$out/scans/scan.jsonl" --baseline "$BASELINE/scan.jsonl" --bootstrap 2000 | sed -n '/^baseline/,$p'
	"$bin" eval classify --split val --model "$out/cal.safetensors" --baseline "${BASELINE_MODEL:-models/dress.safetensors}" --bootstrap 2000 | sed -n '/^baseline/,$p'
fi
