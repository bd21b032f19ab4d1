package scan

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
)

// Detection is one box in original-image pixels, [x1,y1,x2,y2) with
// (0,0) the top-left pixel corner, its score and the pyramid scale at
// which it was found.
type Detection struct {
	Box   [4]float64 `json:"box"`
	Score float64    `json:"score"`
	Scale float64    `json:"scale"`
}

// HeatmapFile describes one written heatmap.
type HeatmapFile struct {
	Scale float64 `json:"scale"`
	Step  int     `json:"step"`
	Rows  int     `json:"rows"`
	Cols  int     `json:"cols"`
	File  string  `json:"file,omitempty"` // raw .npy
	PNG   string  `json:"png,omitempty"`  // overlay
}

// Record is the result for one input: one JSON line.
type Record struct {
	Image      string        `json:"image"`
	Width      int           `json:"width,omitempty"`
	Height     int           `json:"height,omitempty"`
	Padded     bool          `json:"padded,omitempty"`
	Detections []Detection   `json:"detections"`
	Heatmaps   []HeatmapFile `json:"heatmaps,omitempty"`
	ElapsedMS  float64       `json:"elapsed_ms"`
	Error      string        `json:"error,omitempty"`
}

// MarshalJSON writes failed inputs as {"image", "error"} only.
func (r Record) MarshalJSON() ([]byte, error) {
	if r.Error != "" {
		return json.Marshal(struct {
			Image string `json:"image"`
			Error string `json:"error"`
		}{r.Image, r.Error})
	}
	type plain Record
	if r.Detections == nil {
		r.Detections = []Detection{}
	}
	return json.Marshal(plain(r))
}

// Done reads an existing JSON-lines output and returns the images it
// records. A final line cut short by a crash is truncated away so that
// appending continues on a clean line.
func Done(path string) (map[string]bool, error) {
	done := map[string]bool{}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return done, nil
	}
	if err != nil {
		return nil, fmt.Errorf("scan: resume: %w", err)
	}
	if n := bytes.LastIndexByte(b, '\n'); n+1 != len(b) {
		if err := os.Truncate(path, int64(n+1)); err != nil {
			return nil, fmt.Errorf("scan: resume: dropping a half-written last line of %s: %w", path, err)
		}
		b = b[:n+1]
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	line := 0
	for sc.Scan() {
		line++
		var r struct {
			Image string `json:"image"`
		}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil || r.Image == "" {
			return nil, fmt.Errorf("scan: resume: %s:%d is not a scan record", path, line)
		}
		done[r.Image] = true
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("scan: resume: reading %s: %w", path, err)
	}
	return done, nil
}

// Writer writes records in one of the output formats. Each record is
// written whole and flushed, so an interrupted run never leaves half a
// line (jsonl, csv).
type Writer interface {
	Write(r Record) error
	Close() error
}

// NewWriter returns a writer for format "jsonl", "csv" or "coco".
// header says whether a CSV header is due (not when appending).
func NewWriter(format string, w io.Writer, header bool) (Writer, error) {
	switch format {
	case "jsonl":
		return &jsonlWriter{w: w}, nil
	case "csv":
		cw := &csvWriter{w: w}
		if header {
			if _, err := io.WriteString(w, "image,width,height,x1,y1,x2,y2,score,scale,error\n"); err != nil {
				return nil, err
			}
		}
		return cw, nil
	case "coco":
		return &cocoWriter{w: w}, nil
	}
	return nil, fmt.Errorf("scan: unknown format %q: want jsonl, csv or coco", format)
}

type jsonlWriter struct{ w io.Writer }

func (j *jsonlWriter) Write(r Record) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	_, err = j.w.Write(append(b, '\n'))
	return err
}

func (j *jsonlWriter) Close() error { return nil }
