package main

import (
	"bufio"
	"bytes"
	"debug/elf"
	"encoding/json"
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
// model from a directory that holds nothing else.
func TestStaticBinaryRunsAlone(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
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
	assert.Equal(t, "embedded:dress-fcn", rec.Model)
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
	assert.Contains(t, string(body), `"model":"embedded:dress-fcn"`)
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
}
