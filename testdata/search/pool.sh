#!/usr/bin/env bash
# Pools per-set scans into one group for `fc2conv eval detect`, as
# valeval.sh pools: each image is renamed after its set (scene_007.png in
# uv381 becomes uv381_scene_007.png), so scenes of different sets that
# share a file name stay apart.
#
# usage: testdata/search/pool.sh SETS_DIR SCANS_DIR GROUP SET...
#   SETS_DIR/SET holds a scene set from `fc2conv scenes` (its truth.jsonl);
#   SCANS_DIR/SET.jsonl is `fc2conv scan --out` of that set. Writes
#   SCANS_DIR/GROUP/truth.jsonl and SCANS_DIR/GROUP/scan.jsonl.
# Example (rule 69's pooled group):
#   testdata/search/pool.sh /tmp/sets /tmp/D69 pooled3 uv381 ... up956
#   fc2conv eval detect --truth /tmp/D69/pooled3/truth.jsonl --scan /tmp/D69/pooled3/scan.jsonl --max-fp 0.1
set -euo pipefail
if (( $# < 4 )); then
	echo "usage: pool.sh SETS_DIR SCANS_DIR GROUP SET..." >&2
	exit 2
fi
sets=$1 scans=$2 group=$3
shift 3
# Check every input before writing, so a missing set leaves no half group.
for n in "$@"; do
	[ -s "$sets/$n/truth.jsonl" ] || { echo "pool.sh: $sets/$n/truth.jsonl is missing or empty" >&2; exit 1; }
	[ -s "$scans/$n.jsonl" ] || { echo "pool.sh: $scans/$n.jsonl is missing or empty (is the scan of $n whole?)" >&2; exit 1; }
done
mkdir -p "$scans/$group"
: > "$scans/$group/truth.jsonl"
: > "$scans/$group/scan.jsonl"
for n in "$@"; do
	sed "s/scene_/${n}_scene_/" "$sets/$n/truth.jsonl" >> "$scans/$group/truth.jsonl"
	sed "s/scene_/${n}_scene_/" "$scans/$n.jsonl" >> "$scans/$group/scan.jsonl"
done
echo "pooled $# sets into $scans/$group ($(wc -l < "$scans/$group/truth.jsonl") images)"
