package main

import (
	"bufio"
	"bytes"
	"debug/elf"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

func TestServeUsageErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		says string
	}{
		{[]string{"--workers", "0"}, "--workers 0 out of range"},
		{[]string{"--workers", "2", "--max-in-flight", "1"}, "--max-in-flight 1 out of range [--workers"},
		{[]string{"--max-body-mb", "0"}, "--max-body-mb 0"},
		{[]string{"--max-megapixels", "0"}, "--max-megapixels 0"},
		{[]string{"--max-megapixels", "1000"}, "--max-megapixels 1000"},
		{[]string{"--timeout", "0s"}, "--timeout 0s"},
		{[]string{"extra"}, `unexpected argument "extra"`},
		{[]string{"--model", "/nonexistent/m.safetensors"}, "--model /nonexistent/m.safetensors"},
		{[]string{"--verifier", "/nonexistent/v.safetensors"}, "--verifier /nonexistent/v.safetensors: "},
		{[]string{"--verifier", logitsModel(t)}, "--verifier: its last layer"},
		{[]string{"--verifier-weight", "1"}, "--verifier-weight: weight 1 out of range (0,1)"},
		{[]string{"--verifier-views", "3"}, "--verifier-views: 3 views: want 1, 5, 7 or 27"},
		{[]string{"--verifier-pool", "median"}, `--verifier-pool: pool "median": want mean, max or min`},
		{[]string{"--verifier", "none", "--verifier-views", "5"}, "--verifier-views: set without a verifier"},
	} {
		code, _, stderr := runCLI(append([]string{"serve", "--addr", "127.0.0.1:0"}, c.args...)...)
		assert.Equal(t, exitUsage, code, "%v: %s", c.args, stderr)
		assert.Contains(t, stderr, c.says, c.args)
		assert.Equal(t, 1, strings.Count(stderr, "\n"), "one line: %q", stderr)
	}
	code, _, stderr := runCLI("serve", "--addr", "not-an-address")
	assert.Equal(t, exitFail, code)
	assert.Contains(t, stderr, "--addr")
}

// --shard auto takes the shard from the scheduler's variables and scans
// exactly what --shard i/N scans.
func TestScanShardAuto(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"a", "b", "c", "d", "e", "f"} {
		writeImage(t, filepath.Join(dir, n+".png"), 32, 32, false)
	}
	for _, v := range []string{"JOB_COMPLETION_INDEX", "SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_COUNT", "SLURM_ARRAY_TASK_MIN", "SLURM_ARRAY_TASK_STEP", "PARALLEL_SEQ", "FC2CONV_SHARDS"} {
		t.Setenv(v, "")
	}
	images := func(out string) []string {
		var got []string
		for _, r := range readJSONL(t, []byte(out)) {
			require.Empty(t, r.Error)
			got = append(got, r.Image)
		}
		return got
	}
	scanArgs := []string{"--quiet", "--scales", "1", "--flip=false", "--workers", "1", dir}
	explicit := map[int][]string{}
	for i := 0; i < 3; i++ {
		code, out, stderr := scanCLI(append([]string{"--shard", []string{"0/3", "1/3", "2/3"}[i]}, scanArgs...)...)
		require.Equal(t, exitOK, code, stderr)
		explicit[i] = images(out)
	}
	require.Len(t, append(append(explicit[0], explicit[1]...), explicit[2]...), 6, "the three shards hold every image once")

	for _, c := range []struct {
		name  string
		env   map[string]string
		extra []string
		shard int
	}{
		{"Kubernetes", map[string]string{"JOB_COMPLETION_INDEX": "1", "FC2CONV_SHARDS": "3"}, nil, 1},
		{"Slurm --array=1-3", map[string]string{"SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_COUNT": "3", "SLURM_ARRAY_TASK_MIN": "1"}, nil, 2},
		{"GNU parallel", map[string]string{"PARALLEL_SEQ": "1"}, []string{"--shards", "3"}, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			code, out, stderr := scanCLI(append(append([]string{"--shard", "auto"}, c.extra...), scanArgs...)...)
			require.Equal(t, exitOK, code, stderr)
			assert.Equal(t, explicit[c.shard], images(out))
			assert.Contains(t, stderr, "shard "+[]string{"0/3", "1/3", "2/3"}[c.shard]+", from ")
		})
	}

	code, _, stderr := scanCLI(append([]string{"--shard", "auto"}, scanArgs...)...)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "--shard auto: scan: shard from the environment: none of JOB_COMPLETION_INDEX")
	code, _, stderr = scanCLI(append([]string{"--shards", "3"}, scanArgs...)...)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "--shards goes with --shard auto only")
}

// The container runs the static binary alone: built with CGO_ENABLED=0,
// it links nothing dynamically and scans and serves with the embedded
// model from a directory that holds nothing else. The deploy/ recipes run
// it as they stand.
func TestStaticBinaryRunsAlone(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := staticAlone(t)
	t.Run("slurm recipe", func(t *testing.T) { slurmRecipe(t, bin) })
	t.Run("kubernetes recipe", func(t *testing.T) { kubernetesRecipe(t, bin) })
}

// staticAlone builds the static binary into a directory of its own and
// checks that it scans and serves from there.
func staticAlone(t *testing.T) string {
	dir := t.TempDir()
	bin := filepath.Join(dir, "fc2conv")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)

	f, err := elf.Open(bin)
	require.NoError(t, err)
	libs, err := f.ImportedLibraries()
	require.NoError(t, err)
	assert.Empty(t, libs, "shared libraries")
	for _, p := range f.Progs {
		assert.NotEqual(t, elf.PT_INTERP, p.Type, "a dynamic loader is named")
	}
	f.Close()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1, "the binary is alone")

	img := filepath.Join(t.TempDir(), "pic.png")
	writeImage(t, img, 64, 48, false)
	scan := exec.Command(bin, "scan", "--quiet", "--scales", "1", img)
	scan.Dir = dir
	var o, e bytes.Buffer
	scan.Stdout, scan.Stderr = &o, &e
	require.NoError(t, scan.Run(), e.String())
	var rec struct {
		Model  string
		Width  int
		Height int
	}
	require.NoError(t, json.Unmarshal(o.Bytes(), &rec), o.String())
	assert.Equal(t, "embedded:dress-fcn+embedded:verifier", rec.Model, "both embedded models")
	assert.Equal(t, [2]int{64, 48}, [2]int{rec.Width, rec.Height})

	srv := exec.Command(bin, "serve", "--addr", "127.0.0.1:0")
	srv.Dir = dir
	stderr, err := srv.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, srv.Start())
	defer srv.Process.Kill()
	lines := bufio.NewScanner(stderr)
	require.True(t, lines.Scan(), "the server says where it listens")
	_, url, ok := strings.Cut(lines.Text(), "listening on ")
	require.True(t, ok, lines.Text())
	url, _, _ = strings.Cut(url, " ")

	resp, err := http.Get(url + "/healthz")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	pic, err := os.ReadFile(img)
	require.NoError(t, err)
	resp, err = http.Post(url+"/v1/detect?scales=1", "image/png", bytes.NewReader(pic))
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	assert.Contains(t, string(body), `"model":"embedded:dress-fcn+embedded:verifier"`)
	resp, err = http.Get(url + "/")
	require.NoError(t, err)
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Contains(t, string(body), "<title>fc2conv</title>", "the page is embedded")

	require.NoError(t, srv.Process.Signal(syscall.SIGTERM))
	var rest strings.Builder
	for lines.Scan() {
		rest.WriteString(lines.Text() + "\n")
	}
	done := make(chan error, 1)
	go func() { done <- srv.Wait() }()
	select {
	case err := <-done:
		assert.NoError(t, err, "exit 0 after SIGTERM")
	case <-time.After(20 * time.Second):
		t.Fatal("the server did not stop on SIGTERM")
	}
	assert.Contains(t, rest.String(), "stopped after")
	return bin
}

// shardImages writes n small images into dir and returns their paths.
func shardImages(t *testing.T, dir string, n int) []string {
	var paths []string
	for i := 0; i < n; i++ {
		p := filepath.Join(dir, fmt.Sprintf("img%d.png", i))
		writeImage(t, p, 40+i, 36, false)
		paths = append(paths, p)
	}
	return paths
}

// assertShardsCover checks that the shard files hold every path once.
func assertShardsCover(t *testing.T, files []string, paths []string) {
	t.Helper()
	var got []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err, "every task writes its shard file")
		for _, r := range readJSONL(t, b) {
			require.Empty(t, r.Error)
			got = append(got, r.Image)
		}
	}
	assert.ElementsMatch(t, paths, got)
}

// deploy/slurm-array.sh as Slurm runs it: one task per array index (here
// --array=1-3, so the MIN offset matters), from a list file, then again
// after a crash cut a shard's last record in half.
func slurmRecipe(t *testing.T, bin string) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash to run deploy/slurm-array.sh with")
	}
	dir := t.TempDir()
	paths := shardImages(t, dir, 9)
	list := filepath.Join(dir, "list.txt")
	require.NoError(t, os.WriteFile(list, []byte(strings.Join(paths, "\n")+"\n"), 0o644))
	out := filepath.Join(dir, "out")
	task := func(id int) string {
		cmd := exec.Command(bash, "../../deploy/slurm-array.sh")
		cmd.Env = append(os.Environ(), "INPUT="+list, "OUT="+out, "FC2CONV="+bin, "SCAN_FLAGS=--scales 1 --flip=false",
			fmt.Sprintf("SLURM_ARRAY_TASK_ID=%d", id), "SLURM_ARRAY_TASK_COUNT=3", "SLURM_ARRAY_TASK_MIN=1", "SLURM_CPUS_PER_TASK=1",
			"JOB_COMPLETION_INDEX=", "PARALLEL_SEQ=", "SLURM_ARRAY_TASK_STEP=", "FC2CONV_SHARDS=")
		b, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", b)
		return string(b)
	}
	for id := 1; id <= 3; id++ {
		assert.Contains(t, task(id), fmt.Sprintf("shard %d/3, from Slurm array task %d", id-1, id))
	}
	files := []string{filepath.Join(out, "shard-1.jsonl"), filepath.Join(out, "shard-2.jsonl"), filepath.Join(out, "shard-3.jsonl")}
	assertShardsCover(t, files, paths)

	// A task killed mid-write and requeued: --resume drops the half line
	// and scans only the image it belonged to. Nine images in three
	// shards leave one with at least three records.
	k := 0
	var lines []string
	for i, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		if l := strings.SplitAfter(strings.TrimSuffix(string(b), "\n"), "\n"); len(l) >= 3 {
			k, lines = i, l
		}
	}
	require.NotEmpty(t, lines)
	last := lines[len(lines)-1]
	require.NoError(t, os.WriteFile(files[k], []byte(strings.Join(lines[:len(lines)-1], "")+last[:len(last)/2]), 0o644))
	again := task(k + 1)
	assert.Contains(t, again, "1 images scanned")
	assert.Contains(t, again, fmt.Sprintf("%d already done", len(lines)-1))
	assertShardsCover(t, files, paths)
}

// deploy/k8s-indexed-job.yaml's container, run as the Job controller
// would: its args with $(VAR) expanded from its env, JOB_COMPLETION_INDEX
// set per index, /data on a temporary directory.
func kubernetesRecipe(t *testing.T, bin string) {
	b, err := os.ReadFile("../../deploy/k8s-indexed-job.yaml")
	require.NoError(t, err)
	var job struct {
		Spec struct {
			Completions int `yaml:"completions"`
			Template    struct {
				Spec struct {
					Containers []struct {
						Args []string `yaml:"args"`
						Env  []struct {
							Name  string `yaml:"name"`
							Value string `yaml:"value"`
						} `yaml:"env"`
					} `yaml:"containers"`
				} `yaml:"spec"`
			} `yaml:"template"`
		} `yaml:"spec"`
	}
	require.NoError(t, yaml.Unmarshal(b, &job))
	require.Len(t, job.Spec.Template.Spec.Containers, 1)
	c := job.Spec.Template.Spec.Containers[0]
	n := job.Spec.Completions
	require.Greater(t, n, 1)

	data := t.TempDir()
	paths := shardImages(t, filepath.Join(data, "images"), 2*n)
	require.NoError(t, os.MkdirAll(filepath.Join(data, "out"), 0o755))
	var files []string
	for i := 0; i < n; i++ {
		env := map[string]string{"JOB_COMPLETION_INDEX": fmt.Sprint(i), "SHARD_INDEX": fmt.Sprint(i)} // SHARD_INDEX: the fieldRef
		for _, e := range c.Env {
			if e.Value != "" {
				env[e.Name] = e.Value
			}
		}
		assert.Equal(t, fmt.Sprint(n), env["FC2CONV_SHARDS"], "FC2CONV_SHARDS = completions")
		var args []string
		for _, a := range c.Args {
			for k, v := range env {
				a = strings.ReplaceAll(a, "$("+k+")", v)
			}
			args = append(args, strings.ReplaceAll(a, "/data", data))
		}
		args = append(args, "--scales", "1", "--flip=false")
		cmd := exec.Command(bin, args...)
		cmd.Env = []string{}
		for k, v := range env {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%v: %s", args, out)
		assert.Contains(t, string(out), fmt.Sprintf("shard %d/%d, from Kubernetes completion index %d", i, n, i))
		files = append(files, filepath.Join(data, "out", fmt.Sprintf("shard-%d.jsonl", i)))
	}
	// Shards may be empty with few images; together they hold each once.
	var got []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err, "every index writes its shard file")
		for _, r := range readJSONL(t, b) {
			got = append(got, r.Image)
		}
	}
	assert.ElementsMatch(t, paths, got)
}
