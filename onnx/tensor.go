package onnx

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	pb "github.com/advancedclimatesystems/gonnx/onnx"
	"github.com/fc2conv/fc2conv/nn"
)

// tensorSize checks a tensor's declared dimensions and returns its element
// count, before anything is allocated for it.
func tensorSize(t *pb.TensorProto) (int, error) {
	n := 1
	for _, d := range t.Dims {
		if d < 0 || d > nn.MaxElements {
			return 0, fmt.Errorf("%w: tensor %q: dimension %d out of range [0,%d]", ErrFormat, t.Name, d, nn.MaxElements)
		}
		n *= int(d)
		if n > nn.MaxElements {
			return 0, fmt.Errorf("%w: tensor %q: shape %v has more than %d elements", ErrFormat, t.Name, t.Dims, nn.MaxElements)
		}
	}
	return n, nil
}

// elemBytes is the raw_data size of one element of the types we read.
var elemBytes = map[pb.TensorProto_DataType]int{
	pb.TensorProto_FLOAT:    4,
	pb.TensorProto_FLOAT16:  2,
	pb.TensorProto_BFLOAT16: 2,
	pb.TensorProto_DOUBLE:   8,
	pb.TensorProto_INT32:    4,
	pb.TensorProto_INT64:    8,
}

func dtypeName(t int32) string { return pb.TensorProto_DataType(t).String() }

// rawBytes returns a tensor's raw little-endian bytes, from raw_data or
// from its external file, or nil when the data is in the typed fields.
// The byte count must match the declared shape exactly.
func (im *importer) rawBytes(t *pb.TensorProto, n int) ([]byte, error) {
	eb, ok := elemBytes[pb.TensorProto_DataType(t.DataType)]
	if !ok {
		return nil, fmt.Errorf("%w: tensor %q: data type %s (want FLOAT, FLOAT16, BFLOAT16 or DOUBLE for weights, INT64 or INT32 for shapes)", ErrUnsupported, t.Name, dtypeName(t.DataType))
	}
	want := int64(n) * int64(eb)
	if t.DataLocation == pb.TensorProto_EXTERNAL {
		return im.external(t, want)
	}
	if t.RawData == nil {
		return nil, nil
	}
	if int64(len(t.RawData)) != want {
		return nil, fmt.Errorf("%w: tensor %q: raw_data has %d bytes, shape %v of %s needs %d", ErrFormat, t.Name, len(t.RawData), t.Dims, dtypeName(t.DataType), want)
	}
	return t.RawData, nil
}

// external reads an externally stored tensor from a file beside the
// model. The location must stay inside the model's folder.
func (im *importer) external(t *pb.TensorProto, want int64) ([]byte, error) {
	var loc string
	var off, length int64 = 0, -1
	for _, kv := range t.ExternalData {
		var err error
		switch kv.Key {
		case "location":
			loc = kv.Value
		case "offset":
			off, err = strconv.ParseInt(kv.Value, 10, 64)
		case "length":
			length, err = strconv.ParseInt(kv.Value, 10, 64)
		case "checksum":
		default:
			return nil, fmt.Errorf("%w: tensor %q: external data key %q", ErrUnsupported, t.Name, kv.Key)
		}
		if err != nil || off < 0 {
			return nil, fmt.Errorf("%w: tensor %q: external data %s %q is not a byte count", ErrFormat, t.Name, kv.Key, kv.Value)
		}
	}
	if im.dir == "" {
		return nil, fmt.Errorf("%w: tensor %q: stored in external file %q, but the model was not read from a folder", ErrFormat, t.Name, loc)
	}
	if loc == "" || !filepath.IsLocal(loc) || strings.ContainsRune(loc, '\\') {
		return nil, fmt.Errorf("%w: tensor %q: external data location %q must be a relative path inside the model's folder", ErrFormat, t.Name, loc)
	}
	if length >= 0 && length != want {
		return nil, fmt.Errorf("%w: tensor %q: external data length %d, shape %v of %s needs %d", ErrFormat, t.Name, length, t.Dims, dtypeName(t.DataType), want)
	}
	path := filepath.Join(im.dir, loc)
	// A symbolic link could still lead out of the folder.
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return nil, fmt.Errorf("tensor %q: external data: %w", t.Name, err)
	}
	base, err := filepath.EvalSymlinks(im.dir)
	if err != nil {
		return nil, fmt.Errorf("tensor %q: external data: %w", t.Name, err)
	}
	if rel, err := filepath.Rel(base, real); err != nil || !filepath.IsLocal(rel) {
		return nil, fmt.Errorf("%w: tensor %q: external data %q leads outside the model's folder", ErrFormat, t.Name, loc)
	}
	f, err := os.Open(real)
	if err != nil {
		return nil, fmt.Errorf("tensor %q: external data: %w", t.Name, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("tensor %q: external data: %w", t.Name, err)
	}
	if !st.Mode().IsRegular() || off > st.Size() || want > st.Size()-off {
		return nil, fmt.Errorf("%w: tensor %q: external file %q has %d bytes, too few for %d at offset %d", ErrFormat, t.Name, loc, st.Size(), want, off)
	}
	b := make([]byte, want)
	if _, err := f.ReadAt(b, off); err != nil && err != io.EOF {
		return nil, fmt.Errorf("tensor %q: external data: %w", t.Name, err)
	}
	return b, nil
}

// floats decodes a weight tensor as float32, converting FLOAT16,
// BFLOAT16 and DOUBLE.
func (im *importer) floats(t *pb.TensorProto) ([]float32, error) {
	n, err := tensorSize(t)
	if err != nil {
		return nil, err
	}
	dt := pb.TensorProto_DataType(t.DataType)
	switch dt {
	case pb.TensorProto_FLOAT, pb.TensorProto_FLOAT16, pb.TensorProto_BFLOAT16, pb.TensorProto_DOUBLE:
	default:
		return nil, fmt.Errorf("%w: tensor %q: data type %s for weights (want FLOAT, FLOAT16, BFLOAT16 or DOUBLE)", ErrUnsupported, t.Name, dtypeName(t.DataType))
	}
	if int64(n) > im.lim.MaxTensorElements {
		return nil, fmt.Errorf("%w: tensor %q has %d elements, at most %d", nn.ErrLimit, t.Name, n, im.lim.MaxTensorElements)
	}
	if im.weightBytes += 4 * int64(n); im.weightBytes > im.lim.MaxWeightBytes {
		return nil, fmt.Errorf("%w: weights up to tensor %q take %d bytes, at most %d", nn.ErrLimit, t.Name, im.weightBytes, im.lim.MaxWeightBytes)
	}
	raw, err := im.rawBytes(t, n)
	if err != nil {
		return nil, err
	}
	if raw == nil {
		var have int
		switch dt {
		case pb.TensorProto_FLOAT:
			have = len(t.FloatData)
		case pb.TensorProto_DOUBLE:
			have = len(t.DoubleData)
		default: // 16-bit floats travel in int32_data
			have = len(t.Int32Data)
		}
		if have != n {
			return nil, fmt.Errorf("%w: tensor %q: %d values stored, shape %v needs %d", ErrFormat, t.Name, have, t.Dims, n)
		}
	}
	out := make([]float32, n)
	for i := range out {
		switch dt {
		case pb.TensorProto_FLOAT:
			if raw != nil {
				out[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
			} else {
				out[i] = t.FloatData[i]
			}
		case pb.TensorProto_DOUBLE:
			if raw != nil {
				out[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(raw[8*i:])))
			} else {
				out[i] = float32(t.DoubleData[i])
			}
		case pb.TensorProto_FLOAT16, pb.TensorProto_BFLOAT16:
			var bits uint16
			if raw != nil {
				bits = binary.LittleEndian.Uint16(raw[2*i:])
			} else {
				bits = uint16(t.Int32Data[i])
			}
			if dt == pb.TensorProto_FLOAT16 {
				out[i] = half(bits)
			} else {
				out[i] = math.Float32frombits(uint32(bits) << 16)
			}
		}
	}
	return out, nil
}

// ints decodes an INT64 or INT32 tensor (shapes, axes); such tensors are
// small, so a long one is refused.
func (im *importer) ints(t *pb.TensorProto) ([]int64, error) {
	n, err := tensorSize(t)
	if err != nil {
		return nil, err
	}
	if n > 64 {
		return nil, fmt.Errorf("%w: tensor %q: %d integers where a short shape or axis list was expected", ErrUnsupported, t.Name, n)
	}
	dt := pb.TensorProto_DataType(t.DataType)
	if dt != pb.TensorProto_INT64 && dt != pb.TensorProto_INT32 {
		return nil, fmt.Errorf("%w: tensor %q: data type %s where INT64 was expected", ErrUnsupported, t.Name, dtypeName(t.DataType))
	}
	raw, err := im.rawBytes(t, n)
	if err != nil {
		return nil, err
	}
	out := make([]int64, n)
	switch {
	case raw != nil && dt == pb.TensorProto_INT64:
		for i := range out {
			out[i] = int64(binary.LittleEndian.Uint64(raw[8*i:]))
		}
	case raw != nil:
		for i := range out {
			out[i] = int64(int32(binary.LittleEndian.Uint32(raw[4*i:])))
		}
	case dt == pb.TensorProto_INT64 && len(t.Int64Data) == n:
		copy(out, t.Int64Data)
	case dt == pb.TensorProto_INT32 && len(t.Int32Data) == n:
		for i, v := range t.Int32Data {
			out[i] = int64(v)
		}
	default:
		return nil, fmt.Errorf("%w: tensor %q: stored values do not match shape %v", ErrFormat, t.Name, t.Dims)
	}
	return out, nil
}

// half converts IEEE 754 binary16 bits to float32.
func half(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	frac := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // Inf, NaN
		return math.Float32frombits(sign | 0xff<<23 | frac<<13)
	case exp == 0 && frac == 0:
		return math.Float32frombits(sign)
	case exp == 0: // subnormal: value frac·2^-24
		v := float32(frac) / (1 << 24)
		if sign != 0 {
			v = -v
		}
		return v
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | frac<<13)
}
