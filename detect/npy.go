package detect

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"strings"
)

// WriteNPY writes a rows×cols float32 matrix as a NumPy .npy file, format
// version 1.0: dtype '<f4' (little-endian), C order, so that
// numpy.load gives an array of shape (rows, cols).
func WriteNPY(w io.Writer, rows, cols int, data []float32) error {
	if rows < 0 || cols < 0 {
		return fmt.Errorf("npy: shape (%d, %d) is negative", rows, cols)
	}
	if cols > 0 && rows > math.MaxInt/cols || rows*cols != len(data) {
		return fmt.Errorf("npy: shape (%d, %d) does not hold %d values", rows, cols, len(data))
	}
	dict := fmt.Sprintf("{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d), }", rows, cols)
	// Magic (6) + version (2) + header length (2) + dict + padding + '\n'
	// is a multiple of 64, as NumPy writes it, so the data is aligned.
	const pre = 10
	total := (pre + len(dict) + 1 + 63) / 64 * 64
	hlen := total - pre
	if hlen > math.MaxUint16 {
		return fmt.Errorf("npy: header of %d bytes does not fit format 1.0", hlen)
	}
	hdr := make([]byte, 0, total)
	hdr = append(hdr, "\x93NUMPY\x01\x00"...)
	hdr = binary.LittleEndian.AppendUint16(hdr, uint16(hlen))
	hdr = append(hdr, dict...)
	hdr = append(hdr, strings.Repeat(" ", hlen-len(dict)-1)...)
	hdr = append(hdr, '\n')
	if _, err := w.Write(hdr); err != nil {
		return fmt.Errorf("npy: write header: %w", err)
	}
	// Write in chunks so a large heatmap needs no second full copy.
	buf := make([]byte, 0, 4*min(len(data), 1<<14))
	for off := 0; off < len(data); {
		end := min(len(data), off+1<<14)
		buf = buf[:0]
		for _, v := range data[off:end] {
			buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
		}
		if _, err := w.Write(buf); err != nil {
			return fmt.Errorf("npy: write data at value %d: %w", off, err)
		}
		off = end
	}
	return nil
}
