package fmnist

import (
	"bufio"
	"cmp"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"sort"
)

// Fashion-MNIST classes, in label order.
var ClassNames = [NumClasses]string{
	"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
	"Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
}

const (
	// NumClasses is the number of Fashion-MNIST classes.
	NumClasses = 10
	// Dress is the label of the class the detector looks for.
	Dress = 3
	// Side is the side of a Fashion-MNIST image in pixels.
	Side = 28
)

// Limits checked against IDX headers before anything is allocated.
const (
	MaxItems = 10_000_000 // images or labels in one file
	MaxSide  = 4096       // rows or columns of one image
	MaxBytes = 1 << 30    // total pixel bytes of one file
)

const (
	magicLabels = 0x00000801
	magicImages = 0x00000803
)

// Set is a labelled set of greyscale images. Images[i] holds Rows×Cols
// bytes, row-major, 0 = black; Labels[i] is its class in [0, NumClasses).
// The images of a set made by ReadImages or Load share one backing array;
// Split and Subset share pixels with their source.
type Set struct {
	Images     [][]uint8
	Rows, Cols int
	Labels     []uint8
}

// Len is the number of items.
func (s *Set) Len() int { return len(s.Labels) }

// Unit writes item i's pixels to dst as values in [0,1] (byte / 255), as
// the networks see an item before their input normalisation; dst holds
// at least Rows×Cols values.
func (s *Set) Unit(dst []float32, i int) {
	for k, v := range s.Images[i][:s.Rows*s.Cols] {
		dst[k] = float32(v) / 255
	}
}

// Count is the number of items of class c.
func (s *Set) Count(c int) int {
	n := 0
	for _, l := range s.Labels {
		if int(l) == c {
			n++
		}
	}
	return n
}

// Subset returns the items at the given indices, in that order. Indices out
// of range are an error.
func (s *Set) Subset(idx []int) (*Set, error) {
	out := &Set{Rows: s.Rows, Cols: s.Cols, Images: make([][]uint8, len(idx)), Labels: make([]uint8, len(idx))}
	for i, j := range idx {
		if j < 0 || j >= len(s.Labels) || j >= len(s.Images) {
			return nil, fmt.Errorf("fmnist: subset: index %d out of range [0,%d)", j, s.Len())
		}
		out.Images[i], out.Labels[i] = s.Images[j], s.Labels[j]
	}
	return out, nil
}

// OfClasses is the subset of s's items whose label is one of classes, in
// s's order, sharing pixels with s.
func (s *Set) OfClasses(classes ...int) *Set {
	return s.where(func(i int) bool { return slices.Contains(classes, int(s.Labels[i])) })
}

// where is the subset of s's items i for which keep(i), in s's order,
// sharing pixels with s.
func (s *Set) where(keep func(i int) bool) *Set {
	out := &Set{Rows: s.Rows, Cols: s.Cols}
	for i := 0; i < min(len(s.Labels), len(s.Images)); i++ {
		if keep(i) {
			out.Images = append(out.Images, s.Images[i])
			out.Labels = append(out.Labels, s.Labels[i])
		}
	}
	return out
}

// DressesAndConfusable are s's dresses and the garments a dress is taken
// for (Confusable), the items of a scene painted to show them side by
// side.
func (s *Set) DressesAndConfusable() *Set {
	return s.OfClasses(append([]int{Dress}, Confusable...)...)
}

// Brightness is an item's mean over its pixels above 0, the ones a scene
// paints (0 for an item with none): the darkest quarter of the dresses
// holds half of a scan's misses, on photographs and on black alike.
func Brightness(item []uint8) float64 {
	sum, n := 0, 0
	for _, p := range item {
		if p > 0 {
			sum += int(p)
			n++
		}
	}
	if n == 0 {
		return 0
	}
	return float64(sum) / float64(n)
}

// Darkest is the subset of s's items that are, within their class, the
// fraction (0 to 1, rounded, at least one item of a class that has any)
// with the lowest Brightness, ties to the earlier item; in s's order,
// sharing pixels with s. Every class keeps its share of the items.
func (s *Set) Darkest(fraction float64) *Set {
	n := min(len(s.Labels), len(s.Images))
	byClass := map[uint8][]int{}
	bright := make([]float64, n)
	for i := range n {
		byClass[s.Labels[i]] = append(byClass[s.Labels[i]], i)
		bright[i] = Brightness(s.Images[i])
	}
	keep := make([]bool, n)
	for _, idx := range byClass {
		slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(bright[a], bright[b]) })
		k := max(1, int(min(max(fraction, 0), 1)*float64(len(idx))+0.5))
		for _, i := range idx[:min(k, len(idx))] {
			keep[i] = true
		}
	}
	return s.where(func(i int) bool { return keep[i] })
}

// Split divides the set into a training and a validation part,
// deterministically for a given seed. It is stratified: of each class a
// fraction valFraction (rounded) goes to val, chosen at random; both parts
// keep the original order. A fraction ≤ 0 gives an empty val, ≥ 1 an empty
// train. The parts share pixels with s.
func (s *Set) Split(valFraction float64, seed int64) (train, val *Set) {
	if !(valFraction > 0) { // also catches NaN
		valFraction = 0
	}
	if valFraction > 1 {
		valFraction = 1
	}
	n := min(len(s.Labels), len(s.Images))
	byClass := map[uint8][]int{}
	for i := 0; i < n; i++ {
		byClass[s.Labels[i]] = append(byClass[s.Labels[i]], i)
	}
	classes := make([]int, 0, len(byClass))
	for c := range byClass {
		classes = append(classes, int(c))
	}
	sort.Ints(classes)
	rng := rand.New(rand.NewSource(seed))
	inVal := make([]bool, n)
	for _, c := range classes {
		idx := byClass[uint8(c)]
		rng.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
		k := int(valFraction*float64(len(idx)) + 0.5)
		for _, i := range idx[:k] {
			inVal[i] = true
		}
	}
	train = &Set{Rows: s.Rows, Cols: s.Cols}
	val = &Set{Rows: s.Rows, Cols: s.Cols}
	for i := 0; i < n; i++ {
		dst := train
		if inVal[i] {
			dst = val
		}
		dst.Images = append(dst.Images, s.Images[i])
		dst.Labels = append(dst.Labels, s.Labels[i])
	}
	return train, val
}

// FileNames are the image and label file names of a split ("train" or
// "t10k"), without the ".gz" that the distributed files carry.
func FileNames(split string) (images, labels string, err error) {
	switch split {
	case "train", "t10k":
		return split + "-images-idx3-ubyte", split + "-labels-idx1-ubyte", nil
	}
	return "", "", fmt.Errorf("fmnist: unknown split %q (want \"train\" or \"t10k\")", split)
}

// Load reads a split ("train" or "t10k") from dir. Each file may be
// gzipped (name ending in ".gz", tried first) or plain.
func Load(dir, split string) (*Set, error) {
	imgName, lblName, err := FileNames(split)
	if err != nil {
		return nil, err
	}
	s := &Set{}
	err = withFile(dir, imgName, func(r io.Reader, path string) error {
		var err error
		s.Images, s.Rows, s.Cols, err = ReadImages(r, path)
		return err
	})
	if err != nil {
		return nil, err
	}
	err = withFile(dir, lblName, func(r io.Reader, path string) error {
		var err error
		s.Labels, err = ReadLabels(r, path)
		return err
	})
	if err != nil {
		return nil, err
	}
	if len(s.Images) != len(s.Labels) {
		return nil, fmt.Errorf("fmnist: %s split in %s: %d images but %d labels", split, dir, len(s.Images), len(s.Labels))
	}
	return s, nil
}

// withFile opens dir/name.gz, or dir/name if that does not exist.
func withFile(dir, name string, fn func(io.Reader, string) error) error {
	path := filepath.Join(dir, name+".gz")
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		path = filepath.Join(dir, name)
		f, err = os.Open(path)
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("fmnist: neither %s.gz nor %s in %s: %w", name, name, dir, err)
		}
	}
	if err != nil {
		return fmt.Errorf("fmnist: %w", err)
	}
	defer f.Close()
	return fn(f, path)
}

// decompress returns r, transparently gunzipped if it starts with the gzip
// magic bytes. The returned closer releases the gzip reader.
func decompress(r io.Reader, name string) (io.Reader, func(), error) {
	br := bufio.NewReader(r)
	head, err := br.Peek(2)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, nil, fmt.Errorf("fmnist: %s: %w", name, err)
	}
	if len(head) == 2 && head[0] == 0x1f && head[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, nil, fmt.Errorf("fmnist: %s: gzip: %w", name, err)
		}
		return zr, func() { _ = zr.Close() }, nil
	}
	return br, func() {}, nil
}

// readHeader reads and checks the magic and the dimension sizes.
func readHeader(r io.Reader, name, what string, magic uint32, ndim int) ([]uint64, error) {
	buf := make([]byte, 4*(1+ndim))
	if n, err := io.ReadFull(r, buf); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("fmnist: %s: truncated %s header: %d of %d bytes", name, what, n, len(buf))
		}
		return nil, fmt.Errorf("fmnist: %s: reading %s header: %w", name, what, err)
	}
	if m := binary.BigEndian.Uint32(buf); m != magic {
		return nil, fmt.Errorf("fmnist: %s: bad magic %#08x, want %#08x (IDX %s)", name, m, magic, what)
	}
	dims := make([]uint64, ndim)
	for i := range dims {
		dims[i] = uint64(binary.BigEndian.Uint32(buf[4*(i+1):]))
	}
	return dims, nil
}

// readBody reads exactly need bytes and then expects end of input. Memory
// grows with the data actually read, so a lying header cannot force a huge
// allocation.
func readBody(r io.Reader, name, what string, need int) ([]byte, error) {
	buf := make([]byte, min(need, 1<<20))
	filled := 0
	for filled < need {
		if filled == len(buf) {
			nb := make([]byte, min(need, 2*len(buf)))
			copy(nb, buf)
			buf = nb
		}
		n, err := io.ReadFull(r, buf[filled:])
		filled += n
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return nil, fmt.Errorf("fmnist: %s: truncated %s: %d of %d bytes", name, what, filled, need)
			}
			return nil, fmt.Errorf("fmnist: %s: reading %s: %w", name, what, err)
		}
	}
	var one [1]byte
	n, err := io.ReadFull(r, one[:])
	if n > 0 {
		return nil, fmt.Errorf("fmnist: %s: trailing data after %d bytes of %s", name, need, what)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, fmt.Errorf("fmnist: %s: compressed stream truncated after the %s", name, what)
	}
	if err != nil && !errors.Is(err, io.EOF) {
		// e.g. a gzip checksum error, reported only at the end of the stream
		return nil, fmt.Errorf("fmnist: %s: after %s: %w", name, what, err)
	}
	return buf, nil
}

// ReadImages reads an IDX3 image file (gzipped or plain). name is used in
// error messages. The images share one backing array.
func ReadImages(r io.Reader, name string) (images [][]uint8, rows, cols int, err error) {
	r, done, err := decompress(r, name)
	if err != nil {
		return nil, 0, 0, err
	}
	defer done()
	dims, err := readHeader(r, name, "images", magicImages, 3)
	if err != nil {
		return nil, 0, 0, err
	}
	n, h, w := dims[0], dims[1], dims[2]
	switch {
	case n > MaxItems:
		return nil, 0, 0, fmt.Errorf("fmnist: %s: %d images exceeds the limit %d", name, n, MaxItems)
	case h < 1 || h > MaxSide || w < 1 || w > MaxSide:
		return nil, 0, 0, fmt.Errorf("fmnist: %s: image size %d×%d outside [1,%d]", name, h, w, MaxSide)
	case n*h*w > MaxBytes:
		return nil, 0, 0, fmt.Errorf("fmnist: %s: %d images of %d×%d exceed the limit of %d bytes", name, n, h, w, MaxBytes)
	}
	rows, cols = int(h), int(w)
	pix, err := readBody(r, name, "pixel data", int(n)*rows*cols)
	if err != nil {
		return nil, 0, 0, err
	}
	images = make([][]uint8, int(n))
	sz := rows * cols
	for i := range images {
		images[i] = pix[i*sz : (i+1)*sz : (i+1)*sz]
	}
	return images, rows, cols, nil
}

// ReadLabels reads an IDX1 label file (gzipped or plain). Every label must
// be a class in [0, NumClasses).
func ReadLabels(r io.Reader, name string) ([]uint8, error) {
	r, done, err := decompress(r, name)
	if err != nil {
		return nil, err
	}
	defer done()
	dims, err := readHeader(r, name, "labels", magicLabels, 1)
	if err != nil {
		return nil, err
	}
	n := dims[0]
	if n > MaxItems {
		return nil, fmt.Errorf("fmnist: %s: %d labels exceeds the limit %d", name, n, MaxItems)
	}
	labels, err := readBody(r, name, "labels", int(n))
	if err != nil {
		return nil, err
	}
	for i, l := range labels {
		if int(l) >= NumClasses {
			return nil, fmt.Errorf("fmnist: %s: label %d is %d, want < %d", name, i, l, NumClasses)
		}
	}
	return labels, nil
}

// WriteImages writes images as an uncompressed IDX3 file. Every image must
// hold rows×cols bytes.
func WriteImages(w io.Writer, images [][]uint8, rows, cols int) error {
	if rows < 1 || rows > MaxSide || cols < 1 || cols > MaxSide || len(images) > MaxItems {
		return fmt.Errorf("fmnist: write images: %d images of %d×%d outside the IDX limits", len(images), rows, cols)
	}
	hdr := make([]byte, 16)
	binary.BigEndian.PutUint32(hdr, magicImages)
	binary.BigEndian.PutUint32(hdr[4:], uint32(len(images)))
	binary.BigEndian.PutUint32(hdr[8:], uint32(rows))
	binary.BigEndian.PutUint32(hdr[12:], uint32(cols))
	if _, err := w.Write(hdr); err != nil {
		return fmt.Errorf("fmnist: write images: %w", err)
	}
	for i, im := range images {
		if len(im) != rows*cols {
			return fmt.Errorf("fmnist: write images: image %d has %d bytes, want %d", i, len(im), rows*cols)
		}
		if _, err := w.Write(im); err != nil {
			return fmt.Errorf("fmnist: write images: %w", err)
		}
	}
	return nil
}

// WriteLabels writes labels as an uncompressed IDX1 file.
func WriteLabels(w io.Writer, labels []uint8) error {
	if len(labels) > MaxItems {
		return fmt.Errorf("fmnist: write labels: %d labels exceeds the limit %d", len(labels), MaxItems)
	}
	hdr := make([]byte, 8)
	binary.BigEndian.PutUint32(hdr, magicLabels)
	binary.BigEndian.PutUint32(hdr[4:], uint32(len(labels)))
	if _, err := w.Write(hdr); err != nil {
		return fmt.Errorf("fmnist: write labels: %w", err)
	}
	if _, err := w.Write(labels); err != nil {
		return fmt.Errorf("fmnist: write labels: %w", err)
	}
	return nil
}

// Save writes the set as gzipped IDX files named like the distribution's
// (split "train" or "t10k") in dir. The output is byte-for-byte
// reproducible: the gzip headers carry no name or time.
func (s *Set) Save(dir, split string) error {
	imgName, lblName, err := FileNames(split)
	if err != nil {
		return err
	}
	if len(s.Images) != len(s.Labels) {
		return fmt.Errorf("fmnist: save %s: %d images but %d labels", split, len(s.Images), len(s.Labels))
	}
	if err := writeGz(filepath.Join(dir, imgName+".gz"), func(w io.Writer) error {
		return WriteImages(w, s.Images, s.Rows, s.Cols)
	}); err != nil {
		return err
	}
	return writeGz(filepath.Join(dir, lblName+".gz"), func(w io.Writer) error {
		return WriteLabels(w, s.Labels)
	})
}

func writeGz(path string, fn func(io.Writer) error) (err error) {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("fmnist: %w", err)
	}
	defer func() {
		if cerr := f.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("fmnist: %s: %w", path, cerr)
		}
	}()
	zw, err := gzip.NewWriterLevel(f, gzip.BestCompression)
	if err != nil {
		return fmt.Errorf("fmnist: %s: %w", path, err)
	}
	if err := fn(zw); err != nil {
		return fmt.Errorf("%w (writing %s)", err, path)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("fmnist: %s: %w", path, err)
	}
	return nil
}
