package scan_test

import (
	"bytes"
	"encoding/json"
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
		done, whole, err := scan.ReadDone(bytes.NewReader(b), "out.jsonl")
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
		again, whole2, err := scan.ReadDone(bytes.NewReader(append(b[:whole:whole], next...)), "out.jsonl")
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
	done, _, err := scan.ReadDone(&out, "out.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	if done[odd] {
		t.Fatal("the JSON output kept the invalid byte: this test no longer tests anything")
	}
	if got := scan.Filter([]string{odd, "photos/other.jpg"}, scan.Shard{N: 1}, done); len(got) != 1 || got[0] != "photos/other.jpg" {
		t.Fatalf("left to scan: %q, want only photos/other.jpg", got)
	}
}
