package fmnist_test

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fc2conv/fc2conv/fmnist"
)

// idxSeeds are valid IDX files (plain and gzipped), the committed tiny
// label file, and corruptions of them.
func idxSeeds(tb testing.TB) [][]byte {
	img := idx(0x803, []uint32{2, 2, 3}, []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})
	lab := idx(0x801, []uint32{3}, []byte{0, 3, 9})
	zip := func(b []byte) []byte {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		_, _ = zw.Write(b)
		_ = zw.Close()
		return buf.Bytes()
	}
	seeds := [][]byte{
		img, lab, zip(img), zip(lab),
		nil, img[:3], img[:10], img[:len(img)-1], append(img, 0),
		idx(0x803, []uint32{1 << 31, 28, 28}, nil),
		idx(0x803, []uint32{1, 0, 28}, nil),
		idx(0x801, []uint32{2}, []byte{0, 10}),
		zip(img)[:20],
	}
	if b, err := os.ReadFile(filepath.Join(tinyDir, "t10k-labels-idx1-ubyte.gz")); err == nil {
		seeds = append(seeds, b)
	} else {
		tb.Logf("no tiny label file for a seed: %v", err)
	}
	return seeds
}

// FuzzIDX feeds the same bytes to both IDX readers. Whatever they accept
// must be what they claim (sizes, labels in range) and write back to the
// same plain file.
func FuzzIDX(f *testing.F) {
	for _, s := range idxSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		plain := len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b
		images, rows, cols, err := fmnist.ReadImages(bytes.NewReader(b), "fuzz")
		if err == nil {
			if rows < 1 || cols < 1 || rows > fmnist.MaxSide || cols > fmnist.MaxSide {
				t.Fatalf("accepted image size %d×%d", rows, cols)
			}
			for i, im := range images {
				if len(im) != rows*cols {
					t.Fatalf("image %d holds %d bytes, want %d", i, len(im), rows*cols)
				}
			}
			var out bytes.Buffer
			if err := fmnist.WriteImages(&out, images, rows, cols); err != nil {
				t.Fatalf("accepted images do not write back: %v", err)
			}
			if plain && !bytes.Equal(out.Bytes(), b) {
				t.Fatalf("images written back differ from the input")
			}
		} else if !strings.HasPrefix(err.Error(), "fmnist: fuzz: ") {
			t.Fatalf("error does not name the file: %v", err)
		}
		labels, err := fmnist.ReadLabels(bytes.NewReader(b), "fuzz")
		if err == nil {
			for i, l := range labels {
				if int(l) >= fmnist.NumClasses {
					t.Fatalf("accepted label %d = %d", i, l)
				}
			}
			var out bytes.Buffer
			if err := fmnist.WriteLabels(&out, labels); err != nil {
				t.Fatalf("accepted labels do not write back: %v", err)
			}
			if plain && !bytes.Equal(out.Bytes(), b) {
				t.Fatalf("labels written back differ from the input")
			}
		} else if !strings.HasPrefix(err.Error(), "fmnist: fuzz: ") {
			t.Fatalf("error does not name the file: %v", err)
		}
	})
}

// FuzzReadTruth checks that every scene the truth reader accepts is valid
// and survives a write and a second read unchanged.
func FuzzReadTruth(f *testing.F) {
	for _, s := range []string{
		`{"image":"scene_000.png","width":1024,"height":512,"objects":[{"box":[10,20,66,76],"class":3,"label":"Dress"},{"box":[100,0,128,28],"class":0}]}` + "\n",
		`{"image":"a.png","width":10,"height":10,"objects":[]}` + "\n\n" + `{"image":"b.png","width":1,"height":1,"objects":null}`,
		`{"image":"a.png","width":10,"height":10,"objects":[{"box":[0,0,11,5],"class":3}]}`,
		`{"image":"a.png","width":10,"height":10,"objects":[{"box":[0,0,5,5],"class":12}]}`,
		`{"image":"a.png","width":10,"height":10,"objects":[{"box":[0,0,5,5],"class":3,"label":"Coat"}]}`,
		`{"image":"a.png","width":10,"height":10,"objects":[{"box":[0,0,5],"class":3}]}`,
		`{"image":"a.png","width":10,"height":10,"objects":[{"box":[0,0,5,5],"class":3,"item":7}]}`,
		`{"image":"a.png","width":1e9,"height":10}`,
		`{"image":"a.png","width":10,"height":10,"objects":[]} {}`,
		`{"image":"a.png","width":10,"height":10,"objects":[],"extra":1}`,
		"", "\n", "null", "[]", `{"image":"a.png"`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		scenes, err := fmnist.ReadTruth(bytes.NewReader(b), "truth.jsonl")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fmnist: truth.jsonl") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		for _, s := range scenes {
			if s.Image == "" || s.Width < 1 || s.Height < 1 || s.Width > fmnist.MaxSceneSide || s.Height > fmnist.MaxSceneSide {
				t.Fatalf("accepted scene %+v", s)
			}
			for _, o := range s.Objects {
				bx := o.Box
				if !(bx[0] >= 0 && bx[1] >= 0 && bx[0] < bx[2] && bx[1] < bx[3] && bx[2] <= float64(s.Width) && bx[3] <= float64(s.Height)) {
					t.Fatalf("accepted box %v in %d×%d", bx, s.Width, s.Height)
				}
				if o.Class < 0 || o.Class >= fmnist.NumClasses {
					t.Fatalf("accepted class %d", o.Class)
				}
			}
		}
		var out bytes.Buffer
		if err := fmnist.WriteTruth(&out, scenes); err != nil {
			t.Fatalf("accepted scenes do not write back: %v", err)
		}
		again, err := fmnist.ReadTruth(&out, "again")
		if err != nil {
			t.Fatalf("written truth does not read back: %v", err)
		}
		if len(again) != len(scenes) {
			t.Fatalf("read back %d scenes, want %d", len(again), len(scenes))
		}
		for i := range again {
			a, s := again[i], scenes[i]
			if a.Image != s.Image || a.Width != s.Width || a.Height != s.Height || len(a.Objects) != len(s.Objects) {
				t.Fatalf("scene %d reads back as %+v, want %+v", i, a, s)
			}
			for k := range a.Objects {
				if a.Objects[k] != s.Objects[k] {
					t.Fatalf("scene %d object %d reads back as %+v, want %+v", i, k, a.Objects[k], s.Objects[k])
				}
			}
		}
	})
}
