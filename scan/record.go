package scan

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"

	"github.com/fc2conv/fc2conv/detect"
)

// Detection is one box in original-image pixels, [x1,y1,x2,y2) with
// (0,0) the top-left pixel corner, its score and the pyramid scale at
// which it was found.
type Detection struct {
	Box   [4]float64 `json:"box"`
	Score float64    `json:"score"`
	Scale float64    `json:"scale"`
	// ScanScore and VerifierP are the two scores a verified box's score
	// was made of (detect.Detection); nil when no verifier scored it.
	ScanScore *float64 `json:"scan_score,omitempty"`
	VerifierP *float64 `json:"verifier_p,omitempty"`
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

// Record is the result for one input: one JSON line. Writers print
// numbers rounded to what they mean: boxes to 0.01 px, scores and scales
// to 1e-4 (see Rounded).
type Record struct {
	Image string `json:"image"`
	// Model and ModelSHA256 say which model produced the record
	// (NewModel), Threshold the score threshold it was scanned at.
	Model       string  `json:"model,omitempty"`
	ModelSHA256 string  `json:"model_sha256,omitempty"`
	Threshold   float64 `json:"threshold"`
	Width       int     `json:"width,omitempty"`
	Height      int     `json:"height,omitempty"`
	Padded      bool    `json:"padded,omitempty"`
	// NonFinite counts NaN or infinite heatmap cells (the network
	// overflowed); they are never detections.
	NonFinite  int           `json:"nonfinite,omitempty"`
	Detections []Detection   `json:"detections"`
	Heatmaps   []HeatmapFile `json:"heatmaps,omitempty"`
	ElapsedMS  float64       `json:"elapsed_ms"`
	Error      string        `json:"error,omitempty"`
}

// Model identifies the model that records come from.
type Model struct {
	Name   string // e.g. the model file's base name, or "embedded:dress-fcn"
	SHA256 string // the first 12 hex digits of the SHA-256 of the model file
}

// NewModel names a model and hashes its file's bytes.
func NewModel(name string, file []byte) Model {
	sum := sha256.Sum256(file)
	return Model{Name: name, SHA256: hex.EncodeToString(sum[:6])}
}

// With names the pair of this model and a second-stage verifier (file
// its bytes): "MODEL+VERIFIER", hashed over the model's name and hash and
// the verifier's bytes, so records of the pair never pass for the model's
// alone.
func (m Model) With(name string, file []byte) Model {
	sum := sha256.Sum256(append([]byte(m.Name+"\x00"+m.SHA256+"\x00"), file...))
	return Model{Name: m.Name + "+" + name, SHA256: hex.EncodeToString(sum[:6])}
}

// NewRecord is the record of one image scanned with model at threshold:
// its size and detections, without heatmap files or timing.
func NewRecord(image string, m Model, threshold float64, res *detect.Result) Record {
	r := Record{Image: image, Model: m.Name, ModelSHA256: m.SHA256, Threshold: threshold,
		Width: res.Width, Height: res.Height, Padded: res.Padded, NonFinite: res.NonFinite, Detections: []Detection{}}
	for _, d := range res.Detections {
		det := Detection{Box: d.Box, Score: d.Score, Scale: d.Scale}
		if d.Verified {
			det.ScanScore, det.VerifierP = &d.ScanScore, &d.VerifierP
		}
		r.Detections = append(r.Detections, det)
	}
	return r
}

// Rounded is r with its numbers rounded to what they mean: boxes to
// 0.01 px, scales to 1e-4, times to 0.01 ms, and scores (the stages'
// too) down to a multiple of 1e-4. Rounding scores down keeps them on
// the same side of any threshold of four decimals or fewer, so a reader
// that filters the written scores (the service's page, a script) keeps
// exactly the boxes the detector would at that threshold: a score of
// 0.019996 is written 0.0199, not 0.02. It shares no slices or pointers
// with r.
func (r Record) Rounded() Record {
	r.Detections = slices.Clone(r.Detections)
	for i := range r.Detections {
		d := &r.Detections[i]
		for k := range d.Box {
			d.Box[k] = roundTo(d.Box[k], 100)
		}
		d.Score, d.Scale = floorTo(d.Score, 1e4), roundTo(d.Scale, 1e4)
		d.ScanScore, d.VerifierP = floorPtr(d.ScanScore), floorPtr(d.VerifierP)
	}
	r.Heatmaps = slices.Clone(r.Heatmaps)
	for i := range r.Heatmaps {
		r.Heatmaps[i].Scale = roundTo(r.Heatmaps[i].Scale, 1e4)
	}
	r.ElapsedMS = roundTo(r.ElapsedMS, 100)
	return r
}

// floorPtr is a new *float64 holding *v floored as scores are (floorTo),
// or nil for nil.
func floorPtr(v *float64) *float64 {
	if v == nil {
		return nil
	}
	w := floorTo(*v, 1e4)
	return &w
}

// roundTo rounds v to the nearest 1/per; dividing the rounded integer by
// per gives the float nearest that decimal, so it prints short.
func roundTo(v, per float64) float64 { return math.Round(v*per) / per }

// floorTo is the largest multiple w/per with w/per ≤ v, so v ≥ k/per
// exactly when floorTo(v, per) ≥ k/per. v*per can round across a whole
// number (0.29*1e4 is 2899.9999999999995), so the floor is checked
// against v and moved by one where it missed.
func floorTo(v, per float64) float64 {
	w := math.Floor(v * per)
	switch {
	case w/per > v:
		w--
	case (w+1)/per <= v:
		w++
	}
	return w / per
}

// MarshalJSON writes failed inputs as image, model, threshold and error
// only, and rounds numbers (Rounded).
func (r Record) MarshalJSON() ([]byte, error) {
	if r.Error != "" {
		return json.Marshal(struct {
			Image       string  `json:"image"`
			Model       string  `json:"model,omitempty"`
			ModelSHA256 string  `json:"model_sha256,omitempty"`
			Threshold   float64 `json:"threshold"`
			Error       string  `json:"error"`
		}{r.Image, r.Model, r.ModelSHA256, r.Threshold, r.Error})
	}
	type plain Record
	r = r.Rounded()
	if r.Detections == nil {
		r.Detections = []Detection{}
	}
	return json.Marshal(plain(r))
}

// Resumed is what an existing JSON-lines output holds: the images it
// records, and the models that scanned them and the thresholds they were
// scanned at (each distinct, in the order they first appear; records of
// versions that named no model add neither).
type Resumed struct {
	Done       map[string]bool
	Models     []Model
	Thresholds []float64
}

// ErrOtherModel is returned when an output to be resumed holds records of
// another model than the scan's, and ErrOtherThreshold when it holds
// records scanned at another threshold: resuming would mix the two in one
// file.
var (
	ErrOtherModel     = errors.New("records of another model")
	ErrOtherThreshold = errors.New("records scanned at another threshold")
)

// Check refuses to resume when the output holds records of any model
// other than m (another name, or another hash where a record gives one:
// ErrOtherModel) or scanned at a threshold other than threshold
// (ErrOtherThreshold). name is the output's, for the message.
func (r Resumed) Check(name string, m Model, threshold float64) error {
	for _, o := range r.Models {
		if o.Name != m.Name || o.SHA256 != "" && o.SHA256 != m.SHA256 {
			return fmt.Errorf("scan: resume: %s holds %w, %s (%s), and this scan's is %s (%s): resume with that model, or scan into another file",
				name, ErrOtherModel, o.Name, o.SHA256, m.Name, m.SHA256)
		}
	}
	for _, t := range r.Thresholds {
		if t != threshold {
			return fmt.Errorf("scan: resume: %s holds %w, %g, and this scan's is %g: resume at %g, or scan into another file",
				name, ErrOtherThreshold, t, threshold, t)
		}
	}
	return nil
}

// Done reads an existing JSON-lines output (ReadDone). A final line cut
// short by a crash is truncated away so that appending continues on a
// clean line. The file is read as a stream: memory grows with the image
// names, not the file. A missing file holds nothing.
func Done(path string) (Resumed, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return Resumed{Done: map[string]bool{}}, nil
	}
	if err != nil {
		return Resumed{}, fmt.Errorf("scan: resume: %w", err)
	}
	defer f.Close()
	r, whole, err := ReadDone(f, path)
	if err != nil {
		return Resumed{}, err
	}
	st, err := f.Stat()
	if err != nil {
		return Resumed{}, fmt.Errorf("scan: resume: %w", err)
	}
	if whole != st.Size() {
		if err := os.Truncate(path, whole); err != nil {
			return Resumed{}, fmt.Errorf("scan: resume: dropping a half-written last line of %s: %w", path, err)
		}
	}
	return r, nil
}

// maxRecordLine bounds one line of a resume file; a record is a few
// hundred bytes, or a few kilobytes with many detections.
const maxRecordLine = 64 << 20

// ReadDone parses a JSON-lines output read from r (name is for
// messages): the images it records, and whole, the length of its complete
// lines. A last line without its newline was cut short by a crash: it is
// not read, and its image is scanned again. Only "image", the model and
// the threshold are read, so records of every version count; any other
// complete line is an error.
func ReadDone(r io.Reader, name string) (res Resumed, whole int64, err error) {
	res.Done = map[string]bool{}
	br := bufio.NewReader(r)
	var line []byte
	for n := 1; ; n++ {
		line = line[:0]
		for {
			chunk, err := br.ReadSlice('\n')
			if len(line)+len(chunk) > maxRecordLine {
				return Resumed{}, 0, fmt.Errorf("scan: resume: %s:%d is longer than %d bytes", name, n, maxRecordLine)
			}
			line = append(line, chunk...)
			if err == nil {
				break
			}
			if errors.Is(err, bufio.ErrBufferFull) {
				continue
			}
			if errors.Is(err, io.EOF) {
				return res, whole, nil // what is left has no newline
			}
			return Resumed{}, 0, fmt.Errorf("scan: resume: reading %s: %w", name, err)
		}
		var rec struct {
			Image       string   `json:"image"`
			Model       string   `json:"model"`
			ModelSHA256 string   `json:"model_sha256"`
			Threshold   *float64 `json:"threshold"`
		}
		if err := json.Unmarshal(line[:len(line)-1], &rec); err != nil || rec.Image == "" {
			return Resumed{}, 0, fmt.Errorf("scan: resume: %s:%d is not a scan record", name, n)
		}
		res.Done[rec.Image] = true
		if m := (Model{Name: rec.Model, SHA256: rec.ModelSHA256}); m != (Model{}) && !slices.Contains(res.Models, m) {
			res.Models = append(res.Models, m)
		}
		if rec.Threshold != nil && !slices.Contains(res.Thresholds, *rec.Threshold) { // none in records older than model names
			res.Thresholds = append(res.Thresholds, *rec.Threshold)
		}
		whole += int64(len(line))
	}
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
			if _, err := io.WriteString(w, csvHeader); err != nil {
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
