package scan

import (
	"fmt"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var schedulerVars = []string{"JOB_COMPLETION_INDEX", "SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_COUNT",
	"SLURM_ARRAY_TASK_MIN", "SLURM_ARRAY_TASK_STEP", "PARALLEL_SEQ", ShardCountEnv}

// setEnv clears every scheduler variable (the test may itself run in a
// Slurm array) and sets vars, for the test only.
func setEnv(t *testing.T, vars map[string]string) {
	for _, v := range schedulerVars {
		t.Setenv(v, "")
	}
	for k, v := range vars {
		t.Setenv(k, v)
	}
}

func TestShardFromEnv(t *testing.T) {
	cases := []struct {
		name string
		env  map[string]string
		n    int
		want Shard
		from string
	}{
		{"Kubernetes, count given", map[string]string{"JOB_COMPLETION_INDEX": "3"}, 8, Shard{3, 8}, "Kubernetes completion index 3"},
		{"Kubernetes, count from the environment", map[string]string{"JOB_COMPLETION_INDEX": "0", ShardCountEnv: "4"}, 0, Shard{0, 4}, "Kubernetes completion index 0"},
		{"Kubernetes, the given count wins", map[string]string{"JOB_COMPLETION_INDEX": "5", ShardCountEnv: "4"}, 6, Shard{5, 6}, "Kubernetes completion index 5"},
		{"Slurm --array=0-7", map[string]string{"SLURM_ARRAY_TASK_ID": "7", "SLURM_ARRAY_TASK_COUNT": "8", "SLURM_ARRAY_TASK_MIN": "0"}, 0, Shard{7, 8}, "Slurm array task 7"},
		{"Slurm --array=1-8 starts at 1", map[string]string{"SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_COUNT": "8", "SLURM_ARRAY_TASK_MIN": "1"}, 0, Shard{0, 8}, "Slurm array task 1"},
		{"Slurm --array=1-8, last", map[string]string{"SLURM_ARRAY_TASK_ID": "8", "SLURM_ARRAY_TASK_COUNT": "8", "SLURM_ARRAY_TASK_MIN": "1"}, 8, Shard{7, 8}, "Slurm array task 8"},
		{"Slurm --array=10-40:10", map[string]string{"SLURM_ARRAY_TASK_ID": "30", "SLURM_ARRAY_TASK_COUNT": "4", "SLURM_ARRAY_TASK_MIN": "10", "SLURM_ARRAY_TASK_STEP": "10"}, 0, Shard{2, 4}, "Slurm array task 30"},
		{"Slurm without MIN", map[string]string{"SLURM_ARRAY_TASK_ID": "2", "SLURM_ARRAY_TASK_COUNT": "3"}, 0, Shard{2, 3}, "Slurm array task 2"},
		{"GNU parallel is 1-based", map[string]string{"PARALLEL_SEQ": "1"}, 3, Shard{0, 3}, "GNU parallel job 1"},
		{"GNU parallel, last, count from the environment", map[string]string{"PARALLEL_SEQ": "3", ShardCountEnv: "3"}, 0, Shard{2, 3}, "GNU parallel job 3"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			setEnv(t, c.env)
			sh, from, err := ShardFromEnv(os.Getenv, c.n)
			require.NoError(t, err)
			assert.Equal(t, c.want, sh)
			assert.Equal(t, c.from, from)
		})
	}
}

func TestShardFromEnvRefuses(t *testing.T) {
	cases := []struct {
		name string
		env  map[string]string
		n    int
		says string
	}{
		{"nothing set", nil, 4, "none of JOB_COMPLETION_INDEX"},
		{"Kubernetes without a count", map[string]string{"JOB_COMPLETION_INDEX": "1"}, 0, "no shard count: set FC2CONV_SHARDS"},
		{"Kubernetes index past the count", map[string]string{"JOB_COMPLETION_INDEX": "4"}, 4, "index 4 is not below the shard count 4"},
		{"Kubernetes index not a number", map[string]string{"JOB_COMPLETION_INDEX": "x"}, 4, `JOB_COMPLETION_INDEX="x"`},
		{"bad count in the environment", map[string]string{"JOB_COMPLETION_INDEX": "0", ShardCountEnv: "0"}, 0, "FC2CONV_SHARDS=\"0\" is not a whole number ≥ 1"},
		{"Slurm without a count", map[string]string{"SLURM_ARRAY_TASK_ID": "1"}, 0, "SLURM_ARRAY_TASK_COUNT is not set"},
		{"Slurm count disagrees", map[string]string{"SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_COUNT": "8"}, 4, "8 tasks but the shard count given is 4"},
		{"Slurm task list with gaps", map[string]string{"SLURM_ARRAY_TASK_ID": "9", "SLURM_ARRAY_TASK_COUNT": "3", "SLURM_ARRAY_TASK_MIN": "1"}, 0, "with gaps"},
		{"Slurm task off the step", map[string]string{"SLURM_ARRAY_TASK_ID": "15", "SLURM_ARRAY_TASK_COUNT": "4", "SLURM_ARRAY_TASK_MIN": "10", "SLURM_ARRAY_TASK_STEP": "10"}, 0, "steps of 10"},
		{"GNU parallel without a count", map[string]string{"PARALLEL_SEQ": "2"}, 0, "no shard count"},
		{"GNU parallel past the count", map[string]string{"PARALLEL_SEQ": "4"}, 3, "index 3 is not below the shard count 3"},
		{"GNU parallel seq 0", map[string]string{"PARALLEL_SEQ": "0"}, 3, `PARALLEL_SEQ="0" is not a whole number ≥ 1`},
		{"two schedulers", map[string]string{"PARALLEL_SEQ": "1", "SLURM_ARRAY_TASK_ID": "0", "SLURM_ARRAY_TASK_COUNT": "2"}, 2, "SLURM_ARRAY_TASK_ID and PARALLEL_SEQ are set together"},
		{"negative count", map[string]string{"PARALLEL_SEQ": "1"}, -1, "negative"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			setEnv(t, c.env)
			_, _, err := ShardFromEnv(os.Getenv, c.n)
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.says)
		})
	}
}

// Every task of a Slurm array --array=1-N gets a different shard, and
// together they cover 0..N-1, so the shards' union is the whole list.
func TestSlurmArrayCoversEveryShard(t *testing.T) {
	const n = 5
	seen := map[Shard]bool{}
	for id := 1; id <= n; id++ {
		setEnv(t, map[string]string{"SLURM_ARRAY_TASK_ID": fmt.Sprint(id), "SLURM_ARRAY_TASK_COUNT": fmt.Sprint(n), "SLURM_ARRAY_TASK_MIN": "1"})
		sh, _, err := ShardFromEnv(os.Getenv, 0)
		require.NoError(t, err)
		seen[sh] = true
	}
	for i := 0; i < n; i++ {
		assert.True(t, seen[Shard{i, n}], "shard %d/%d", i, n)
	}
}
