package scan

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ShardCountEnv is the environment variable that gives the shard count to
// schedulers whose environment lacks it (a Kubernetes Indexed Job's
// completions, GNU parallel's job count).
const ShardCountEnv = "FC2CONV_SHARDS"

// ShardFromEnv reads this task's shard from a batch scheduler's
// environment, through getenv (os.Getenv):
//
//   - Kubernetes Indexed Jobs: JOB_COMPLETION_INDEX (0-based); the count
//     is n, or ShardCountEnv (set it to the Job's completions).
//   - Slurm job arrays: SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_COUNT, less
//     SLURM_ARRAY_TASK_MIN and divided by SLURM_ARRAY_TASK_STEP, so
//     --array=1-8 and --array=0-14:2 give shards 0..7 of 8. A task list
//     with gaps (--array=1,5,9) is refused: its IDs do not number shards.
//   - GNU parallel: PARALLEL_SEQ (1-based); the count is n, or
//     ShardCountEnv.
//
// n is the count the caller was given, 0 if none; where the scheduler
// states a count too, they must agree. Variables of more than one
// scheduler are ambiguous (GNU parallel inside a Slurm array task) and an
// error. The second result says where the shard came from, for logs.
func ShardFromEnv(getenv func(string) string, n int) (Shard, string, error) {
	if n < 0 {
		return Shard{}, "", fmt.Errorf("scan: shard count %d is negative", n)
	}
	var found []string
	for _, v := range []string{"JOB_COMPLETION_INDEX", "SLURM_ARRAY_TASK_ID", "PARALLEL_SEQ"} {
		if getenv(v) != "" {
			found = append(found, v)
		}
	}
	switch len(found) {
	case 0:
		return Shard{}, "", errors.New("scan: shard from the environment: none of JOB_COMPLETION_INDEX (Kubernetes Indexed Job), SLURM_ARRAY_TASK_ID (Slurm array) or PARALLEL_SEQ (GNU parallel) is set")
	case 1:
	default:
		return Shard{}, "", fmt.Errorf("scan: shard from the environment: %s are set together, so the scheduler is ambiguous; give the shard explicitly", strings.Join(found, " and "))
	}
	// count is n, or ShardCountEnv, for schedulers that do not say.
	count := func() (int, error) {
		if n > 0 {
			return n, nil
		}
		s := getenv(ShardCountEnv)
		if s == "" {
			return 0, fmt.Errorf("no shard count: set %s or give one", ShardCountEnv)
		}
		return envInt(ShardCountEnv, s, 1)
	}
	var sh Shard
	var from string
	var err error
	switch found[0] {
	case "JOB_COMPLETION_INDEX":
		if sh.I, err = envInt("JOB_COMPLETION_INDEX", getenv("JOB_COMPLETION_INDEX"), 0); err == nil {
			sh.N, err = count()
		}
		from = fmt.Sprintf("Kubernetes completion index %d", sh.I)
	case "SLURM_ARRAY_TASK_ID":
		sh, from, err = slurmShard(getenv, n)
	case "PARALLEL_SEQ":
		var seq int
		if seq, err = envInt("PARALLEL_SEQ", getenv("PARALLEL_SEQ"), 1); err == nil {
			sh.I = seq - 1
			sh.N, err = count()
		}
		from = fmt.Sprintf("GNU parallel job %d", seq)
	}
	if err == nil && sh.I >= sh.N {
		err = fmt.Errorf("index %d is not below the shard count %d", sh.I, sh.N)
	}
	if err != nil {
		return Shard{}, "", fmt.Errorf("scan: shard from the environment (%s): %w", found[0], err)
	}
	return sh, from, nil
}

// slurmShard numbers a Slurm array task from 0 by its place in the array.
func slurmShard(getenv func(string) string, n int) (Shard, string, error) {
	id, err := envInt("SLURM_ARRAY_TASK_ID", getenv("SLURM_ARRAY_TASK_ID"), 0)
	if err != nil {
		return Shard{}, "", err
	}
	from := fmt.Sprintf("Slurm array task %d", id)
	if getenv("SLURM_ARRAY_TASK_COUNT") == "" {
		return Shard{}, "", errors.New("SLURM_ARRAY_TASK_COUNT is not set (Slurm sets it for job arrays, sbatch --array)")
	}
	cnt, err := envInt("SLURM_ARRAY_TASK_COUNT", getenv("SLURM_ARRAY_TASK_COUNT"), 1)
	if err != nil {
		return Shard{}, "", err
	}
	// MIN and STEP default to an array 0..COUNT-1 in steps of 1.
	lo, step := 0, 1
	if s := getenv("SLURM_ARRAY_TASK_MIN"); s != "" {
		if lo, err = envInt("SLURM_ARRAY_TASK_MIN", s, 0); err != nil {
			return Shard{}, "", err
		}
	}
	if s := getenv("SLURM_ARRAY_TASK_STEP"); s != "" {
		if step, err = envInt("SLURM_ARRAY_TASK_STEP", s, 1); err != nil {
			return Shard{}, "", err
		}
	}
	if n > 0 && n != cnt {
		return Shard{}, "", fmt.Errorf("the array has %d tasks but the shard count given is %d", cnt, n)
	}
	if id < lo || (id-lo)%step != 0 || (id-lo)/step >= cnt {
		return Shard{}, "", fmt.Errorf("task %d is not one of %d tasks from %d in steps of %d: a task list with gaps (--array=1,5,9) does not number shards", id, cnt, lo, step)
	}
	return Shard{I: (id - lo) / step, N: cnt}, from, nil
}

// envInt parses variable v's value s as an integer ≥ lo.
func envInt(v, s string, lo int) (int, error) {
	k, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || k < lo || k > 1<<30 {
		return 0, fmt.Errorf("%s=%q is not a whole number ≥ %d", v, s, lo)
	}
	return k, nil
}
