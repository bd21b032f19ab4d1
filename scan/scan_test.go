package scan

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func touch(t *testing.T, path string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, []byte("x"), 0o644))
}

func TestExpand(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{"a/1.png", "a/b/2.JPG", "a/b/notes.txt", "a/c/3.webp", "z.gif", "named.dat"} {
		touch(t, filepath.Join(dir, p))
	}
	stdin := strings.NewReader(filepath.Join(dir, "z.gif") + "\n\n" + filepath.Join(dir, "a", "1.png") + "\r\n")
	in, err := Expand([]string{
		filepath.Join(dir, "a"),             // walked; notes.txt skipped
		filepath.Join(dir, "named.dat"),     // named explicitly: kept
		filepath.Join(dir, "*.gif"),         // glob
		"-",                                 // stdin: duplicates dropped
		filepath.Join(dir, "missing.png"),   // kept, will fail to open
		filepath.Join(dir, "nothing-*.jpg"), // glob matching nothing
	}, stdin)
	require.NoError(t, err)
	rel := func(ps []string) []string {
		out := make([]string, len(ps))
		for i, p := range ps {
			out[i], _ = filepath.Rel(dir, p)
		}
		return out
	}
	assert.Equal(t, []string{"a/1.png", "a/b/2.JPG", "a/c/3.webp", "named.dat", "z.gif", "missing.png"}, rel(in.Paths))
	assert.Equal(t, 1, in.Skipped)
	assert.Equal(t, []string{"nothing-*.jpg"}, rel(in.Missing))
}

func TestShardsPartitionTheList(t *testing.T) {
	var paths []string
	for i := 0; i < 500; i++ {
		paths = append(paths, fmt.Sprintf("/photos/%03d/img_%d.jpg", i%17, i))
	}
	seen := map[string]int{}
	for i := 0; i < 4; i++ {
		sh, err := ParseShard(fmt.Sprintf("%d/4", i))
		require.NoError(t, err)
		part := Filter(paths, sh, nil)
		assert.Greater(t, len(part), 60, "shard %d is far from even", i)
		for _, p := range part {
			seen[p]++
		}
	}
	assert.Len(t, seen, len(paths))
	for p, n := range seen {
		assert.Equal(t, 1, n, p)
	}
	for _, bad := range []string{"4/4", "-1/2", "1/0", "a/b", "1/2x", "1"} {
		_, err := ParseShard(bad)
		assert.ErrorContains(t, err, `scan: shard "`+bad+`": want i/N`, bad)
	}
}

func TestDoneTruncatesHalfLine(t *testing.T) {
	p := filepath.Join(t.TempDir(), "out.jsonl")
	require.NoError(t, os.WriteFile(p, []byte(`{"image":"a.png","detections":[]}`+"\n"+`{"image":"b.png","error":"bad"}`+"\n"+`{"image":"c.p`), 0o644))
	done, err := Done(p)
	require.NoError(t, err)
	assert.Equal(t, map[string]bool{"a.png": true, "b.png": true}, done)
	b, _ := os.ReadFile(p)
	assert.True(t, bytes.HasSuffix(b, []byte("}\n")), "half line dropped")
	require.NoError(t, os.WriteFile(p, []byte("not json\n"), 0o644))
	_, err = Done(p)
	assert.ErrorContains(t, err, "scan: resume: "+p+":1 is not a scan record")
	done, err = Done(filepath.Join(t.TempDir(), "absent.jsonl"))
	require.NoError(t, err)
	assert.Empty(t, done)
}

// Records come out in input order even when workers finish out of order,
// and a cancelled run delivers a prefix of the list.
func TestRunOrderAndCancel(t *testing.T) {
	var paths []string
	for i := 0; i < 40; i++ {
		paths = append(paths, fmt.Sprintf("img%02d", i))
	}
	slowFirst := func() (ScanFunc, error) {
		return func(p string) Record {
			if p == "img00" || p == "img07" {
				time.Sleep(20 * time.Millisecond)
			}
			return Record{Image: p}
		}, nil
	}
	var got []string
	sum, err := Run(context.Background(), paths, Options{Workers: 4, NewScanner: slowFirst, OnRecord: func(r Record) error {
		got = append(got, r.Image)
		return nil
	}})
	require.NoError(t, err)
	assert.Equal(t, paths, got)
	assert.Equal(t, 40, sum.Scanned)
	assert.False(t, sum.Interrupted)

	ctx, cancel := context.WithCancel(context.Background())
	var n atomic.Int32
	got = nil
	sum, err = Run(ctx, paths, Options{Workers: 3, NewScanner: func() (ScanFunc, error) {
		return func(p string) Record {
			if n.Add(1) == 10 {
				cancel()
			}
			time.Sleep(time.Millisecond)
			return Record{Image: p}
		}, nil
	}, OnRecord: func(r Record) error { got = append(got, r.Image); return nil }})
	require.NoError(t, err)
	assert.True(t, sum.Interrupted)
	assert.Equal(t, paths[:len(got)], got, "a prefix, in order")
	assert.Less(t, len(got), 40)
}

func TestWriters(t *testing.T) {
	recs := []Record{
		{Image: "a.png", Width: 10, Height: 5, Detections: []Detection{{Box: [4]float64{1, 2, 3, 4}, Score: 0.9, Scale: 1}}},
		{Image: "b,c.png", Error: "decode: bad"},
		{Image: "d.png", Width: 3, Height: 3},
	}
	var j, c, k bytes.Buffer
	for _, f := range []struct {
		name string
		buf  *bytes.Buffer
	}{{"jsonl", &j}, {"csv", &c}, {"coco", &k}} {
		w, err := NewWriter(f.name, f.buf, true)
		require.NoError(t, err)
		for _, r := range recs {
			require.NoError(t, w.Write(r))
		}
		require.NoError(t, w.Close())
	}
	assert.Equal(t, `{"image":"a.png","width":10,"height":5,"detections":[{"box":[1,2,3,4],"score":0.9,"scale":1}],"elapsed_ms":0}
{"image":"b,c.png","error":"decode: bad"}
{"image":"d.png","width":3,"height":3,"detections":[],"elapsed_ms":0}
`, j.String())
	assert.Equal(t, "image,width,height,x1,y1,x2,y2,score,scale,error\na.png,10,5,1,2,3,4,0.9,1,\n\"b,c.png\",,,,,,,,,decode: bad\n", c.String())
	assert.Contains(t, k.String(), `"bbox": [`)
	assert.Contains(t, k.String(), `"file_name": "d.png"`)
	_, err := NewWriter("xml", &j, true)
	assert.EqualError(t, err, `scan: unknown format "xml": want jsonl, csv or coco`)
}
