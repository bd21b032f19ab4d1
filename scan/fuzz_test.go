package scan_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/fc2conv/fc2conv/scan"
)

// FuzzReadDone checks the --resume reader: it reads whole lines only,
// each an image record, and what it reads is stable: the same again on
// the whole lines alone, and one more image after appending a record.
func FuzzReadDone(f *testing.F) {
	rec := func(r scan.Record) string {
		b, err := json.Marshal(r)
		if err != nil {
			f.Fatal(err)
		}
		return string(b) + "\n"
	}
	good := rec(scan.Record{Image: "a.jpg", Model: "m", Threshold: 0.5, Width: 3, Height: 4,
		Detections: []scan.Detection{{Box: [4]float64{1, 2, 3, 4}, Score: 0.9, Scale: 1}}}) +
		rec(scan.Record{Image: "dir/b c.png", Error: "broken"})
	for _, s := range []string{
		good, good[:len(good)-1], good[:len(good)/2], good + good,
		`{"image":"old.jpg","detections":[]}` + "\n",
		`{"image":""}` + "\n", "\n", "{}\n", "[]\n", `{"image":1}` + "\n", "null\n",
		`{"image":"x"} {"image":"y"}` + "\n", `{"image":"\u00e9\ud800"}` + "\n", "",
	} {
		f.Add([]byte(s))
	}
	next := rec(scan.Record{Image: "appended.tif", Error: "x"})
	f.Fuzz(func(t *testing.T, b []byte) {
		res, whole, err := scan.ReadDone(bytes.NewReader(b), "out.jsonl")
		done := res.Done
		if err != nil {
			return
		}
		if whole < 0 || whole > int64(len(b)) || (whole > 0 && b[whole-1] != '\n') || bytes.IndexByte(b[whole:], '\n') >= 0 {
			t.Fatalf("whole lines end at %d of %d bytes", whole, len(b))
		}
		if len(done) > bytes.Count(b, []byte("\n")) {
			t.Fatalf("%d images from %d lines", len(done), bytes.Count(b, []byte("\n")))
		}
		for img := range done {
			if img == "" {
				t.Fatal("an empty image name counts as done")
			}
		}
		againRes, whole2, err := scan.ReadDone(bytes.NewReader(append(b[:whole:whole], next...)), "out.jsonl")
		again := againRes.Done
		if err != nil || whole2 != whole+int64(len(next)) {
			t.Fatalf("appending a record to the whole lines: whole %d, err %v", whole2, err)
		}
		if !again["appended.tif"] || len(again) > len(done)+1 {
			t.Fatalf("after appending: %d images, want %d plus appended.tif", len(again), len(done))
		}
		for img := range done {
			if !again[img] {
				t.Fatalf("%q lost after appending", img)
			}
		}
	})
}

func TestResumeNameNotUTF8(t *testing.T) {
	// A Linux file name may hold any bytes; JSON writes the invalid ones
	// as U+FFFD. The name must still count as done, or every resume
	// would record it again.
	odd := "photos/caf\xe9.jpg"
	var out bytes.Buffer
	w, err := scan.NewWriter("jsonl", &out, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(scan.Record{Image: odd, Error: "x"}); err != nil {
		t.Fatal(err)
	}
	res, _, err := scan.ReadDone(&out, "out.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	done := res.Done
	if done[odd] {
		t.Fatal("the JSON output kept the invalid byte: this test no longer tests anything")
	}
	if got := scan.Filter([]string{odd, "photos/other.jpg"}, scan.Shard{N: 1}, done); len(got) != 1 || got[0] != "photos/other.jpg" {
		t.Fatalf("left to scan: %q, want only photos/other.jpg", got)
	}
}

// ReadDone lists the models that wrote an output and the thresholds they
// scanned at, once each; records that name none (older versions) add
// none, and Check refuses any other model or threshold.
func TestResumedModels(t *testing.T) {
	in := `{"image":"a","model":"m","model_sha256":"111","threshold":0.8}
{"image":"b"}
{"image":"c","model":"m","model_sha256":"111","threshold":0.8}
`
	res, _, err := scan.ReadDone(strings.NewReader(in), "out.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	m := scan.Model{Name: "m", SHA256: "111"}
	if len(res.Models) != 1 || res.Models[0] != m || len(res.Done) != 3 || !slices.Equal(res.Thresholds, []float64{0.8}) {
		t.Fatalf("got %+v", res)
	}
	if err := res.Check("out.jsonl", m, 0.8); err != nil {
		t.Fatal(err)
	}
	for _, other := range []scan.Model{{Name: "m", SHA256: "222"}, {Name: "n", SHA256: "111"}} {
		if err := res.Check("out.jsonl", other, 0.8); !errors.Is(err, scan.ErrOtherModel) {
			t.Fatalf("%+v: got %v, want ErrOtherModel", other, err)
		}
	}
	for _, other := range []float64{0, 0.5, 0.80001} {
		if err := res.Check("out.jsonl", m, other); !errors.Is(err, scan.ErrOtherThreshold) {
			t.Fatalf("threshold %v: got %v, want ErrOtherThreshold", other, err)
		}
	}
}
