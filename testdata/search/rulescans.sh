#!/usr/bin/env bash
# Runs one arm of a rule's scans: every scene set scanned at --threshold
# 0.05 on one core into OUT_DIR/SET.jsonl, as rules 68 to 72 scanned
# theirs. It can be cut off and run again, and two copies can share the
# work:
#   - each set is scanned with --resume, so a scan cut off mid-set goes on
#     from its last whole record (scan drops a half-written line);
#   - a set whose file holds a record for every scene of its truth.jsonl
#     is skipped;
#   - a set another copy is scanning (scan's lock on --out) is left to it.
# Run one copy per core, the second with REVERSE=1, so that the two meet
# in the middle. It exits 0 only if every set is whole when it ends, so
# the copy that ends last says whether the arm can be read (pool.sh, then
# `fc2conv eval detect`).
#
# usage: testdata/search/rulescans.sh SETS_DIR OUT_DIR SET... [-- SCAN_FLAG...]
#   SETS_DIR/SET holds a scene set from `fc2conv scenes` (its truth.jsonl
#   and images). Flags after -- go to every scan, e.g. a candidate's
#   verifier. Set FC2CONV to the binary (default: fc2conv on PATH).
# Example (rule 72: the defaults' arm, and the candidate's on two cores):
#   testdata/search/rulescans.sh /tmp/sets /tmp/D72 uv431 uw303 up973 val219
#   testdata/search/rulescans.sh /tmp/sets /tmp/C72 uv431 uw303 up973 val219 -- --verifier /tmp/v72c-fcn.safetensors --verifier-views 27 --verifier-pool min &
#   REVERSE=1 testdata/search/rulescans.sh /tmp/sets /tmp/C72 uv431 uw303 up973 val219 -- --verifier /tmp/v72c-fcn.safetensors --verifier-views 27 --verifier-pool min
set -uo pipefail
bin=${FC2CONV:-fc2conv}
if (( $# < 3 )); then
	echo "usage: rulescans.sh SETS_DIR OUT_DIR SET... [-- SCAN_FLAG...]" >&2
	exit 2
fi
sets=$1 out=$2
shift 2
names=()
while (( $# > 0 )) && [ "$1" != "--" ]; do
	names+=("$1")
	shift
done
(( $# > 0 )) && shift # the --
if (( ${#names[@]} == 0 )); then
	echo "rulescans.sh: no set named" >&2
	exit 2
fi
# Check every set before scanning any, so a typo costs nothing.
for n in "${names[@]}"; do
	[ -s "$sets/$n/truth.jsonl" ] || { echo "rulescans.sh: $sets/$n/truth.jsonl is missing or empty" >&2; exit 1; }
done
mkdir -p "$out"
if [ -n "${REVERSE:-}" ]; then
	rev=()
	for (( i = ${#names[@]} - 1; i >= 0; i-- )); do rev+=("${names[i]}"); done
	names=("${rev[@]}")
fi

# whole SET: its scan file holds as many whole lines as the set has scenes.
whole() {
	local f=$out/$1.jsonl
	[ -f "$f" ] && (( $(wc -l < "$f") == $(wc -l < "$sets/$1/truth.jsonl") ))
}

for n in "${names[@]}"; do
	whole "$n" && continue
	# Each copy keeps its own stderr: the other may be scanning this set.
	log=$out/$n.log part=$out/$n.log.$$
	GOMAXPROCS=1 "$bin" scan --quiet --workers 1 --threshold 0.05 --resume "$@" \
		--out "$out/$n.jsonl" "$sets/$n" > /dev/null 2> "$part"
	case $? in
	0)
		mv "$part" "$log"
		echo "$n $(date +%T) $(tail -n 1 "$log")" ;;
	3) rm -f "$part" ;; # --out is locked: the other copy has this set
	*) echo "rulescans.sh: scanning $n failed; see $part" >&2 ;;
	esac
done

missing=()
for n in "${names[@]}"; do
	whole "$n" || missing+=("$n")
done
if (( ${#missing[@]} > 0 )); then
	echo "rulescans.sh: not yet whole in $out: ${missing[*]} (another copy may still be scanning them; run again to resume)" >&2
	exit 1
fi
echo "rulescans.sh: all ${#names[@]} sets whole in $out"
