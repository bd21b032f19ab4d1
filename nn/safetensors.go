package nn

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
)

// The safetensors container: an 8-byte little-endian header length, a JSON
// header naming each tensor's dtype, shape and byte range, then the raw
// little-endian data. We read and write only F32 tensors.

// ErrFormat is wrapped by every error about a malformed file.
var ErrFormat = errors.New("safetensors: invalid format")

const maxHeader = 16 << 20 // a header larger than this is not a model of ours

type stEntry struct {
	DType   string  `json:"dtype"`
	Shape   []int64 `json:"shape"`
	Offsets []int64 `json:"data_offsets"`
}

// rawTensor is one tensor as found in a file: its checked shape and bytes.
type rawTensor struct {
	shape []int
	data  []byte
}

// parseSafetensors checks the container and returns its metadata and its
// tensors' byte ranges. It allocates nothing proportional to what the
// header claims: every size is checked against the bytes actually present
// and against lim (resolved).
func parseSafetensors(b []byte, lim Limits) (map[string]string, map[string]rawTensor, error) {
	if len(b) < 8 {
		return nil, nil, fmt.Errorf("%w: file is %d bytes, too short for the 8-byte header length", ErrFormat, len(b))
	}
	n := binary.LittleEndian.Uint64(b[:8])
	if n < 2 || n > maxHeader || n > uint64(len(b)-8) {
		return nil, nil, fmt.Errorf("%w: header length %d does not fit a %d-byte file (wrong magic or truncated file?)", ErrFormat, n, len(b))
	}
	head := b[8 : 8+n]
	if head[0] != '{' {
		return nil, nil, fmt.Errorf("%w: header does not start with a JSON object", ErrFormat)
	}
	data := b[8+n:]
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(head, &fields); err != nil {
		return nil, nil, fmt.Errorf("%w: header JSON: %v", ErrFormat, err)
	}
	meta := map[string]string{}
	if m, ok := fields["__metadata__"]; ok {
		if err := json.Unmarshal(m, &meta); err != nil {
			return nil, nil, fmt.Errorf("%w: __metadata__ must map strings to strings: %v", ErrFormat, err)
		}
		delete(fields, "__metadata__")
	}
	tensors := make(map[string]rawTensor, len(fields))
	type span struct {
		name       string
		start, end int64
	}
	spans := make([]span, 0, len(fields))
	var total int64
	for name, raw := range fields {
		var e stEntry
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&e); err != nil {
			return nil, nil, fmt.Errorf("%w: tensor %q: %v", ErrFormat, name, err)
		}
		if e.DType != "F32" {
			return nil, nil, fmt.Errorf("%w: tensor %q has dtype %q, only F32 is supported", ErrFormat, name, e.DType)
		}
		if len(e.Offsets) != 2 || e.Offsets[0] < 0 || e.Offsets[1] < e.Offsets[0] || e.Offsets[1] > int64(len(data)) {
			return nil, nil, fmt.Errorf("%w: tensor %q: data_offsets %v outside the %d data bytes", ErrFormat, name, e.Offsets, len(data))
		}
		count := int64(1)
		shape := make([]int, len(e.Shape))
		for i, d := range e.Shape {
			if d < 0 || d > MaxElements || (d > 0 && count > MaxElements/d) {
				return nil, nil, fmt.Errorf("%w: tensor %q: shape %v exceeds %d elements", ErrFormat, name, e.Shape, MaxElements)
			}
			count *= d
			shape[i] = int(d)
		}
		if got := e.Offsets[1] - e.Offsets[0]; got != count*4 {
			return nil, nil, fmt.Errorf("%w: tensor %q: shape %v needs %d bytes, data_offsets give %d", ErrFormat, name, e.Shape, count*4, got)
		}
		if count > lim.MaxTensorElements {
			return nil, nil, fmt.Errorf("%w: tensor %q: shape %v has %d elements, more than the %d allowed", ErrLimit, name, e.Shape, count, lim.MaxTensorElements)
		}
		// Each tensor fits in b and there are fewer tensors than header
		// bytes, so the sum cannot overflow.
		if total += count * 4; total > lim.MaxWeightBytes {
			return nil, nil, fmt.Errorf("%w: the tensors hold more than the %d weight bytes allowed", ErrLimit, lim.MaxWeightBytes)
		}
		tensors[name] = rawTensor{shape: shape, data: data[e.Offsets[0]:e.Offsets[1]]}
		if count > 0 { // an empty tensor occupies no bytes and overlaps nothing
			spans = append(spans, span{name, e.Offsets[0], e.Offsets[1]})
		}
	}
	// As in the reference reader, the tensors must tile the data section
	// exactly: no overlaps, no gaps, nothing after the last one.
	sort.Slice(spans, func(i, j int) bool { return spans[i].start < spans[j].start })
	var end int64
	for i, sp := range spans {
		switch {
		case sp.start < end:
			return nil, nil, fmt.Errorf("%w: tensors %q and %q overlap", ErrFormat, spans[i-1].name, sp.name)
		case sp.start > end:
			return nil, nil, fmt.Errorf("%w: %d unused data bytes before tensor %q", ErrFormat, sp.start-end, sp.name)
		}
		end = sp.end
	}
	if end != int64(len(data)) {
		return nil, nil, fmt.Errorf("%w: %d data bytes after the last tensor", ErrFormat, int64(len(data))-end)
	}
	return meta, tensors, nil
}

// namedTensor is one tensor to write.
type namedTensor struct {
	name  string
	shape []int
	data  []float32
}

// writeSafetensors lays the tensors out in the given order.
func writeSafetensors(meta map[string]string, ts []namedTensor) ([]byte, error) {
	header := map[string]any{"__metadata__": meta}
	var off int64
	for _, t := range ts {
		n := int64(len(t.data)) * 4
		header[t.name] = stEntry{DType: "F32", Shape: toInt64(t.shape), Offsets: []int64{off, off + n}}
		off += n
	}
	head, err := json.Marshal(header)
	if err != nil {
		return nil, fmt.Errorf("safetensors: header: %w", err)
	}
	// Pad the header with spaces so the data starts 8-byte aligned.
	for (len(head)+8)%8 != 0 {
		head = append(head, ' ')
	}
	out := make([]byte, 8, 8+len(head)+int(off))
	binary.LittleEndian.PutUint64(out, uint64(len(head)))
	out = append(out, head...)
	for _, t := range ts {
		for _, v := range t.data {
			out = binary.LittleEndian.AppendUint32(out, math.Float32bits(v))
		}
	}
	return out, nil
}

func toInt64(s []int) []int64 {
	out := make([]int64, len(s))
	for i, v := range s {
		out[i] = int64(v)
	}
	return out
}
