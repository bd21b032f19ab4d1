#!/usr/bin/env bash
# Side-by-side timings for the README's performance table: fc2conv against
# its PyTorch peers, alternating, RUNS times each (medians are read off the
# printed lines). Needs Debian's python3-torch and python3-pil, and
# ../shared/bench beside the repository.
#
# usage: testdata/bench/perf.sh SCENE_DIR [RUNS]
#   SCENE_DIR: 1024×512 scenes, e.g. from
#   fc2conv scenes --n 16 --seed 40 --out /tmp/scenes16
set -euo pipefail
cd "$(dirname "$0")/../.."
dir=$1
runs=${2:-3}
peer=../shared/bench/dress_peer.py
go build -o /tmp/fc2conv-perf ./cmd/fc2conv
for t in 1 2; do
	for r in $(seq "$runs"); do
		echo "threads $t run $r: dress_peer.py $(/usr/bin/python3 "$peer" models/dress-fcn.safetensors "$t" "$dir"/*.png | tail -1)"
		s=$( { /usr/bin/time -f "%e %M" env GOMAXPROCS=$t /tmp/fc2conv-perf scan --quiet --workers "$t" --out /dev/null "$dir" ; } 2>&1 | tail -1)
		echo "threads $t run $r: fc2conv scan seconds=${s% *} peak_rss_kb=${s#* }"
	done
	for r in $(seq "$runs"); do
		/usr/bin/python3 testdata/bench/seedpeer.py "$t" 10
		GOMAXPROCS=$t go test -run XXX -bench 'SeedFCN1024x512/packed' -benchtime 5x -count 1 ./nn | grep Benchmark
	done
done
