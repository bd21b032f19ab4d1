package fmnist_test

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"math/rand"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/fc2conv/fc2conv/fmnist"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func loadTiny(t *testing.T, split string) *fmnist.Set {
	t.Helper()
	s, err := fmnist.Load(tinyDir, split)
	require.NoError(t, err)
	return s
}

func TestLoadTiny(t *testing.T) {
	train := loadTiny(t, "train")
	assert.Equal(t, tinyTrain, train.Len())
	assert.Len(t, train.Images, tinyTrain)
	assert.Equal(t, 28, train.Rows)
	assert.Equal(t, 28, train.Cols)
	assert.Equal(t, 35, train.Count(fmnist.Dress))
	// The first Fashion-MNIST training labels are well known.
	assert.Equal(t, []uint8{9, 0, 0, 3, 0, 2, 7, 2, 5, 5}, train.Labels[:10])
	total := 0
	for c := 0; c < fmnist.NumClasses; c++ {
		assert.Positive(t, train.Count(c), "class %s", fmnist.ClassNames[c])
		total += train.Count(c)
	}
	assert.Equal(t, tinyTrain, total)
	for i, im := range train.Images {
		require.Len(t, im, 784, "image %d", i)
	}
	// A dress is bright in the middle and dark in the corner.
	im := train.Images[3]
	assert.Greater(t, im[14*28+14], uint8(50))
	assert.Equal(t, uint8(0), im[0])

	t10k := loadTiny(t, "t10k")
	assert.Equal(t, tinyT10k, t10k.Len())
	assert.Equal(t, 9, t10k.Count(fmnist.Dress))
	assert.Equal(t, "Dress", fmnist.ClassNames[fmnist.Dress])

	_, err := fmnist.Load(tinyDir, "test")
	assert.ErrorContains(t, err, "unknown split")
	_, err = fmnist.Load(t.TempDir(), "train")
	assert.ErrorIs(t, err, os.ErrNotExist)
	assert.ErrorContains(t, err, "neither train-images-idx3-ubyte.gz nor train-images-idx3-ubyte")
}

// idx builds an IDX file from a magic, dimensions and a body.
func idx(magic uint32, dims []uint32, body []byte) []byte {
	var b bytes.Buffer
	_ = binary.Write(&b, binary.BigEndian, magic)
	for _, d := range dims {
		_ = binary.Write(&b, binary.BigEndian, d)
	}
	b.Write(body)
	return b.Bytes()
}

// noise returns n incompressible bytes.
func noise(n int) []byte {
	b := make([]byte, n)
	rand.New(rand.NewSource(1)).Read(b)
	return b
}

func gz(t *testing.T, data []byte) []byte {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	_, err := zw.Write(data)
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	return b.Bytes()
}

func TestReadWriteRoundTrip(t *testing.T) {
	images := [][]uint8{{1, 2, 3, 4, 5, 6}, {7, 8, 9, 10, 11, 12}}
	var b bytes.Buffer
	require.NoError(t, fmnist.WriteImages(&b, images, 2, 3))
	plain := b.Bytes()
	for name, data := range map[string][]byte{"plain": plain, "gzip": gz(t, plain)} {
		got, rows, cols, err := fmnist.ReadImages(bytes.NewReader(data), name)
		require.NoError(t, err, name)
		assert.Equal(t, images, got, name)
		assert.Equal(t, [2]int{2, 3}, [2]int{rows, cols}, name)
	}
	b.Reset()
	require.NoError(t, fmnist.WriteLabels(&b, []uint8{3, 9}))
	got, err := fmnist.ReadLabels(bytes.NewReader(gz(t, b.Bytes())), "labels")
	require.NoError(t, err)
	assert.Equal(t, []uint8{3, 9}, got)

	err = fmnist.WriteImages(&b, [][]uint8{{1, 2}}, 2, 3)
	assert.ErrorContains(t, err, "image 0 has 2 bytes, want 6")

	// Save and Load of a whole set, as plain-named gz files.
	dir := t.TempDir()
	set := &fmnist.Set{Images: images, Rows: 2, Cols: 3, Labels: []uint8{3, 9}}
	require.NoError(t, set.Save(dir, "t10k"))
	back, err := fmnist.Load(dir, "t10k")
	require.NoError(t, err)
	assert.Equal(t, set, back)
}

func TestReadErrors(t *testing.T) {
	img3 := idx(0x803, []uint32{3, 2, 2}, make([]byte, 12))
	cases := []struct {
		name   string
		labels bool
		data   []byte
		want   string
	}{
		{"empty", false, nil, "truncated images header: 0 of 16 bytes"},
		{"short header", false, img3[:10], "truncated images header: 10 of 16 bytes"},
		{"truncated pixels", false, img3[:len(img3)-5], "truncated pixel data: 7 of 12 bytes"},
		{"truncated gzip trailer", false, gz(t, img3)[:30], "compressed stream truncated after the pixel data"},
		{"truncated gzip data", false, gz(t, idx(0x803, []uint32{1, 28, 28}, noise(784)))[:200], "truncated pixel data"},
		{"trailing", false, append(append([]byte{}, img3...), 0), "trailing data"},
		{"wrong magic", false, idx(0x801, []uint32{3, 2, 2}, make([]byte, 12)), "bad magic 0x00000801, want 0x00000803"},
		{"labels as images", true, img3, "bad magic 0x00000803, want 0x00000801"},
		{"zero rows", false, idx(0x803, []uint32{1, 0, 2}, nil), "image size 0×2 outside [1,4096]"},
		{"huge cols", false, idx(0x803, []uint32{1, 2, 5000}, nil), "image size 2×5000"},
		{"too many images", false, idx(0x803, []uint32{1 << 31, 28, 28}, nil), "2147483648 images exceeds the limit"},
		{"too many bytes", false, idx(0x803, []uint32{9_000_000, 28, 28}, nil), "exceed the limit of 1073741824 bytes"},
		{"too many labels", true, idx(0x801, []uint32{0xffffffff}, nil), "4294967295 labels exceeds the limit"},
		{"truncated labels", true, idx(0x801, []uint32{5}, []byte{1, 2}), "truncated labels: 2 of 5 bytes"},
		{"bad label", true, idx(0x801, []uint32{3}, []byte{1, 10, 2}), "label 1 is 10, want < 10"},
	}
	for _, c := range cases {
		var err error
		name := c.name + ".idx"
		if c.labels {
			_, err = fmnist.ReadLabels(bytes.NewReader(c.data), name)
		} else {
			name = "images.idx"
			_, _, _, err = fmnist.ReadImages(bytes.NewReader(c.data), name)
		}
		require.Error(t, err, c.name)
		assert.Contains(t, err.Error(), c.want, c.name)
		assert.Contains(t, err.Error(), name, c.name)
	}
}

// A header claiming a vast data set, whether within the limits or not,
// must not make the reader allocate for it.
func TestReadHugeHeaderDoesNotAllocate(t *testing.T) {
	for _, n := range []uint32{1 << 31, 1_000_000} {
		data := idx(0x803, []uint32{n, 28, 28}, make([]byte, 100))
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, _, _, err := fmnist.ReadImages(bytes.NewReader(data), "huge")
		runtime.ReadMemStats(&after)
		require.Error(t, err)
		assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(8<<20), "n=%d", n)
	}
}

func TestLoadCountMismatch(t *testing.T) {
	dir := t.TempDir()
	imgs := idx(0x803, []uint32{3, 2, 2}, make([]byte, 12))
	lbls := idx(0x801, []uint32{2}, []byte{1, 2})
	require.NoError(t, os.WriteFile(filepath.Join(dir, "train-images-idx3-ubyte"), imgs, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "train-labels-idx1-ubyte.gz"), gz(t, lbls), 0o644))
	_, err := fmnist.Load(dir, "train")
	assert.ErrorContains(t, err, "3 images but 2 labels")
}

func TestSplitStratifiedDeterministic(t *testing.T) {
	set := loadTiny(t, "train")
	tr, val := set.Split(0.2, 7)
	tr2, val2 := set.Split(0.2, 7)
	assert.Equal(t, tr.Labels, tr2.Labels)
	assert.Equal(t, val.Images, val2.Images)
	assert.Equal(t, set.Len(), tr.Len()+val.Len())
	for c := 0; c < fmnist.NumClasses; c++ {
		n := set.Count(c)
		assert.Equal(t, int(0.2*float64(n)+0.5), val.Count(c), "class %d", c)
	}
	assert.Equal(t, 7, val.Count(fmnist.Dress))
	_, val3 := set.Split(0.2, 8)
	assert.NotEqual(t, val.Images, val3.Images, "another seed picks other items")

	all, none := set.Split(-1, 1)
	assert.Equal(t, set.Len(), all.Len())
	assert.Zero(t, none.Len())
	none, all = set.Split(2, 1)
	assert.Equal(t, set.Len(), all.Len())
	assert.Zero(t, none.Len())

	_, err := set.Subset([]int{0, set.Len()})
	assert.ErrorContains(t, err, "out of range")
}

// Darkest keeps, class by class, the share of items with the lowest mean
// painted pixel, in the set's order; ties go to the earlier item.
func TestDarkest(t *testing.T) {
	item := func(v ...uint8) []uint8 { return append(v, make([]uint8, 4-len(v))...) }
	s := &fmnist.Set{Rows: 2, Cols: 2,
		Images: [][]uint8{item(200), item(50, 250), item(90), item(10, 30), item(90), item(120), item(), item(255)},
		Labels: []uint8{3, 3, 3, 3, 0, 0, 0, 0},
	}
	// Brightness: 200, 150, 90, 20 (dresses); 90, 120, 0, 255 (T-shirts).
	assert.Equal(t, 150.0, fmnist.Brightness(item(50, 250)))
	assert.Equal(t, 0.0, fmnist.Brightness(item()))
	half := s.Darkest(0.5)
	assert.Equal(t, []uint8{3, 3, 0, 0}, half.Labels)
	assert.Equal(t, [][]uint8{item(90), item(10, 30), item(90), item()}, half.Images)
	quarter := s.Darkest(0.25)
	assert.Equal(t, [][]uint8{item(10, 30), item()}, quarter.Images, "one of each class")
	tie := &fmnist.Set{Rows: 2, Cols: 2, Images: [][]uint8{item(7), item(7)}, Labels: []uint8{1, 1}}
	assert.Equal(t, 1, tie.Darkest(0.25).Len())
	assert.Same(t, &tie.Images[0][0], &tie.Darkest(0.25).Images[0][0], "the earlier of equals, sharing pixels")
	assert.Equal(t, 8, s.Darkest(1).Len())
}
