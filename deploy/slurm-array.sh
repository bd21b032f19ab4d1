#!/bin/bash
# fc2conv scan as a Slurm job array: task i scans shard i of N into
# $OUT/shard-i.jsonl. INPUT is a directory, or a file listing image paths
# one per line; SCAN_FLAGS adds scan flags (e.g. "--min-size 40").
#
#   INPUT=/shared/photos OUT=/shared/scan sbatch deploy/slurm-array.sh
#   INPUT=/shared/list.txt sbatch --array=0-63 deploy/slurm-array.sh
#   cat /shared/scan/shard-*.jsonl > scan.jsonl     # when every task is done
#
# --shard auto reads SLURM_ARRAY_TASK_ID, _COUNT and _MIN, so the array may
# be 0-15 or 1-16, of any size, and -a on the sbatch line overrides the one
# below. A path belongs to shard fnv64a(path) mod N: every task must see the
# images under the same path. A task that fails or is preempted is
# requeued; with --resume it keeps the records already in its shard file
# and scans only the rest. Exit 1 means some images failed: they are error
# records in the output, and a requeued run skips them too.
#SBATCH --job-name=fc2conv-scan
#SBATCH --array=0-15
#SBATCH --cpus-per-task=2
#SBATCH --mem=2G
#SBATCH --time=12:00:00
#SBATCH --requeue
#SBATCH --output=fc2conv-scan-%A_%a.log
set -euo pipefail

: "${INPUT:?set INPUT to a directory of images or a file listing image paths}"
OUT=${OUT:-scan-out}
FC2CONV=${FC2CONV:-fc2conv} # the binary, or e.g. "apptainer exec fc2conv.sif /fc2conv"

mkdir -p "$OUT"
args=(scan --shard auto --resume --quiet --workers "${SLURM_CPUS_PER_TASK:-1}"
	--out "$OUT/shard-${SLURM_ARRAY_TASK_ID:?run this with sbatch --array}.jsonl")
# shellcheck disable=SC2206 # SCAN_FLAGS is split into words on purpose
args+=(${SCAN_FLAGS:-})
if [[ -f $INPUT ]]; then
	# shellcheck disable=SC2086 # FC2CONV may be a command with arguments
	$FC2CONV "${args[@]}" - <"$INPUT"
else
	# shellcheck disable=SC2086
	$FC2CONV "${args[@]}" "$INPUT"
fi
