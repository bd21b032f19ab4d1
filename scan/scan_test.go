package scan

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fc2conv/fc2conv/detect"
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
	for _, p := range []string{"a/1.png", "a/b/2.JPG", "a/b/notes.txt", "a/c/3.webp", "z.gif", "named.dat", "e/f/readme.txt"} {
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
		filepath.Join(dir, "e"),             // no image under it
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
	assert.Equal(t, 2, in.Skipped)
	assert.Equal(t, []string{"nothing-*.jpg"}, rel(in.Missing))
	assert.Equal(t, []string{"e"}, rel(in.Empty))
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
	assert.Equal(t, map[string]bool{"a.png": true, "b.png": true}, done.Done)
	b, _ := os.ReadFile(p)
	assert.True(t, bytes.HasSuffix(b, []byte("}\n")), "half line dropped")
	require.NoError(t, os.WriteFile(p, []byte("not json\n"), 0o644))
	_, err = Done(p)
	assert.ErrorContains(t, err, "scan: resume: "+p+":1 is not a scan record")
	done, err = Done(filepath.Join(t.TempDir(), "absent.jsonl"))
	require.NoError(t, err)
	assert.Empty(t, done.Done)
	assert.Empty(t, done.Models)
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
	m := Model{Name: "dress-fcn.safetensors", SHA256: "0123456789ab"}
	recs := []Record{
		{Image: "a.png", Model: m.Name, ModelSHA256: m.SHA256, Threshold: 0.89, Width: 1000, Height: 500,
			Detections: []Detection{{Box: [4]float64{906.6734211314009, 2.004999, 983.1, 40.123456}, Score: 0.912345678, Scale: 0.26214400000000004}},
			Heatmaps:   []HeatmapFile{{Scale: 0.32768000000000005, Step: 4, Rows: 122, Cols: 3}}, ElapsedMS: 12.3456},
		{Image: "b,c.png", Model: m.Name, ModelSHA256: m.SHA256, Threshold: 0.89, Error: "decode: bad"},
		{Image: "d.png", Model: m.Name, ModelSHA256: m.SHA256, Threshold: 0.89, Width: 3, Height: 3},
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
	assert.Equal(t, `{"image":"a.png","model":"dress-fcn.safetensors","model_sha256":"0123456789ab","threshold":0.89,"width":1000,"height":500,"detections":[{"box":[906.67,2,983.1,40.12],"score":0.9123,"scale":0.2621}],"heatmaps":[{"scale":0.3277,"step":4,"rows":122,"cols":3}],"elapsed_ms":12.35}
{"image":"b,c.png","model":"dress-fcn.safetensors","model_sha256":"0123456789ab","threshold":0.89,"error":"decode: bad"}
{"image":"d.png","model":"dress-fcn.safetensors","model_sha256":"0123456789ab","threshold":0.89,"width":3,"height":3,"detections":[],"elapsed_ms":0}
`, j.String())
	assert.Equal(t, "image,width,height,x1,y1,x2,y2,score,scale,threshold,model,model_sha256,error\n"+
		"a.png,1000,500,906.67,2,983.1,40.12,0.9123,0.2621,0.89,dress-fcn.safetensors,0123456789ab,\n"+
		"\"b,c.png\",,,,,,,,,0.89,dress-fcn.safetensors,0123456789ab,decode: bad\n"+
		"d.png,3,3,,,,,,,0.89,dress-fcn.safetensors,0123456789ab,\n", c.String())
	var doc struct {
		Images []struct {
			FileName  string  `json:"file_name"`
			Model     string  `json:"model"`
			Threshold float64 `json:"threshold"`
		} `json:"images"`
		Annotations []struct {
			BBox  []float64 `json:"bbox"`
			Area  float64   `json:"area"`
			Score float64   `json:"score"`
		} `json:"annotations"`
		Errors []Record `json:"errors"`
	}
	require.NoError(t, json.Unmarshal(k.Bytes(), &doc))
	require.Len(t, doc.Images, 2)
	assert.Equal(t, "d.png", doc.Images[1].FileName)
	assert.Equal(t, "dress-fcn.safetensors", doc.Images[0].Model)
	assert.Equal(t, 0.89, doc.Images[0].Threshold)
	require.Len(t, doc.Annotations, 1)
	// 983.1 − 906.67 = 76.43 and 40.12 − 2 = 38.12, area 2913.5116.
	assert.Equal(t, []float64{906.67, 2, 76.43, 38.12}, doc.Annotations[0].BBox)
	assert.Equal(t, 2913.51, doc.Annotations[0].Area)
	assert.Contains(t, k.String(), `"score": 0.9123`)
	require.Len(t, doc.Errors, 1)
	assert.Equal(t, "b,c.png", doc.Errors[0].Image)
	// Writing rounds copies: the records keep their full precision.
	assert.Equal(t, 906.6734211314009, recs[0].Detections[0].Box[0])

	_, err := NewWriter("xml", &j, true)
	assert.EqualError(t, err, `scan: unknown format "xml": want jsonl, csv or coco`)
}

func TestNewModelAndRecord(t *testing.T) {
	// SHA-256("abc") = ba7816bf8f01cfea414140de5dae2223b00361a3...
	m := NewModel("x.safetensors", []byte("abc"))
	assert.Equal(t, Model{Name: "x.safetensors", SHA256: "ba7816bf8f01"}, m)
	res := &detect.Result{Width: 30, Height: 20, Padded: true, NonFinite: 7, Detections: []detect.Detection{{Box: [4]float64{1, 2, 3, 4}, Score: 0.5, Scale: 2}}}
	r := NewRecord("i.png", m, 0.25, res)
	assert.Equal(t, Record{Image: "i.png", Model: "x.safetensors", ModelSHA256: "ba7816bf8f01", Threshold: 0.25, Width: 30, Height: 20, Padded: true,
		NonFinite: 7, Detections: []Detection{{Box: [4]float64{1, 2, 3, 4}, Score: 0.5, Scale: 2}}}, r)
	b, err := json.Marshal(r)
	require.NoError(t, err)
	assert.Contains(t, string(b), `"padded":true,"nonfinite":7,"detections"`)
}

// A verified box's record carries the two stages its score was made of,
// floored as scores are; a box no verifier scored carries neither.
func TestRecordStages(t *testing.T) {
	res := &detect.Result{Width: 30, Height: 20, Detections: []detect.Detection{
		{Box: [4]float64{1, 2, 3, 4}, Score: 0.6, Scale: 1, Verified: true, ScanScore: 0.899999, VerifierP: 0.4},
		{Box: [4]float64{5, 6, 7, 8}, Score: 0.5, Scale: 1},
	}}
	r := NewRecord("i.png", Model{Name: "m"}, 0.25, res)
	require.NotNil(t, r.Detections[0].ScanScore)
	require.NotNil(t, r.Detections[0].VerifierP)
	assert.Equal(t, 0.899999, *r.Detections[0].ScanScore)
	assert.Nil(t, r.Detections[1].ScanScore)
	assert.Nil(t, r.Detections[1].VerifierP)
	res.Detections[0].ScanScore = 0.1
	assert.Equal(t, 0.899999, *r.Detections[0].ScanScore, "the record shares nothing with the result")

	b, err := json.Marshal(r)
	require.NoError(t, err)
	assert.Contains(t, string(b), `{"box":[1,2,3,4],"score":0.6,"scale":1,"scan_score":0.8999,"verifier_p":0.4}`)
	assert.Contains(t, string(b), `{"box":[5,6,7,8],"score":0.5,"scale":1}`)
	assert.Equal(t, 0.899999, *r.Detections[0].ScanScore, "writing rounds a copy")

	var back Record
	require.NoError(t, json.Unmarshal(b, &back))
	require.NotNil(t, back.Detections[0].VerifierP)
	assert.Equal(t, 0.4, *back.Detections[0].VerifierP)
}

// Resume reads records written before records named their model, and
// after.
func TestDoneReadsOldAndNewRecords(t *testing.T) {
	p := filepath.Join(t.TempDir(), "out.jsonl")
	var buf bytes.Buffer
	buf.WriteString(`{"image":"old.png","width":10,"height":5,"detections":[{"box":[1,2,3,4],"score":0.9,"scale":1}],"elapsed_ms":0}` + "\n")
	w, err := NewWriter("jsonl", &buf, false)
	require.NoError(t, err)
	require.NoError(t, w.Write(Record{Image: "new.png", Model: "m", ModelSHA256: "0123456789ab", Threshold: 0.5}))
	require.NoError(t, w.Write(Record{Image: "bad.png", Model: "m", Threshold: 0.5, Error: "x"}))
	require.NoError(t, os.WriteFile(p, buf.Bytes(), 0o644))
	done, err := Done(p)
	require.NoError(t, err)
	assert.Equal(t, map[string]bool{"old.png": true, "new.png": true, "bad.png": true}, done.Done)
	assert.Equal(t, []Model{{Name: "m", SHA256: "0123456789ab"}, {Name: "m"}}, done.Models)
	assert.Equal(t, []float64{0.5}, done.Thresholds, "the old record holds none")
	assert.NoError(t, done.Check(p, Model{Name: "m", SHA256: "0123456789ab"}, 0.5), "a record naming m without a hash is m's")
}

// The zero Options run on every CPU and drop records; a missing scanner
// is an error, not a panic.
func TestRunZeroOptions(t *testing.T) {
	var made atomic.Int32
	sum, err := Run(context.Background(), []string{"a", "b", "c"}, Options{NewScanner: func() (ScanFunc, error) {
		made.Add(1)
		return func(p string) Record { return Record{Image: p, Detections: []Detection{{}}} }, nil
	}})
	require.NoError(t, err)
	assert.Equal(t, Summary{Scanned: 3, Detections: 3}, sum)
	assert.Equal(t, int32(runtime.NumCPU()), made.Load(), "one scanner per worker")
	_, err = Run(context.Background(), []string{"a"}, Options{})
	assert.EqualError(t, err, "scan: Options.NewScanner is nil")
	_, err = Run(context.Background(), []string{"a"}, Options{Workers: -1, NewScanner: func() (ScanFunc, error) { return nil, nil }})
	assert.EqualError(t, err, "scan: -1 workers")
	assert.True(t, Shard{}.Keep("x"), "the zero Shard is the whole list")
}

// Written scores are rounded down, so filtering them at a threshold of
// up to four decimals keeps the same boxes as the detector: a score just
// under 0.02 must not be written as 0.02.
func TestRoundedScoresKeepTheirSideOfThresholds(t *testing.T) {
	for _, c := range []struct{ score, want float64 }{
		{0.019996, 0.0199},
		{0.02, 0.02},
		{0.29, 0.29}, // 0.29*1e4 is just under 2900 in floats
		{0.86985, 0.8698},
		{float64(float32(0.02)), 0.0199}, // a float32 0.02 is below the float64 0.02 the detector compares with
		{0.99999, 0.9999},
		{1, 1},
		{0, 0},
	} {
		r := Record{Detections: []Detection{{Score: c.score}}}.Rounded()
		assert.Equal(t, c.want, r.Detections[0].Score, "score %v", c.score)
		for _, thr := range []float64{0.02, 0.29, 0.8698, 0.9999, 1} {
			assert.Equal(t, c.score >= thr, r.Detections[0].Score >= thr, "score %v at threshold %v", c.score, thr)
		}
	}
	// Every threshold of four decimals, against the float32 scores next
	// to it and the float64 means of two of them (mirror averaging).
	for k := 0; k <= 10000; k++ {
		thr, err := strconv.ParseFloat(strconv.FormatFloat(float64(k)/1e4, 'f', 4, 64), 64)
		require.NoError(t, err)
		f := float32(thr)
		for _, v := range []float64{float64(f), float64(math.Nextafter32(f, 0)), float64(math.Nextafter32(f, 2)),
			(float64(f) + float64(math.Nextafter32(f, 0))) / 2} {
			got := Record{Detections: []Detection{{Score: v}}}.Rounded().Detections[0].Score
			if (v >= thr) != (got >= thr) || got > v {
				t.Fatalf("score %v written %v: threshold %v keeps it %v, the written score %v", v, got, thr, v >= thr, got >= thr)
			}
		}
	}
}
