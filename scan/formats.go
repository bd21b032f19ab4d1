package scan

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"io"
	"slices"
	"strconv"
)

const csvHeader = "image,width,height,x1,y1,x2,y2,score,scale,threshold,model,model_sha256,error\n"

// csvWriter writes one row per detection; an image without detections
// gets one row with empty box fields, a failed image one row with the
// error, so that every input scanned has a row.
type csvWriter struct{ w io.Writer }

func (c *csvWriter) Write(r Record) error {
	r = r.Rounded()
	var buf bytes.Buffer
	cw := csv.NewWriter(&buf)
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	tail := []string{f(r.Threshold), r.Model, r.ModelSHA256, r.Error}
	if r.Error != "" || len(r.Detections) == 0 {
		size := []string{"", ""}
		if r.Error == "" {
			size = []string{strconv.Itoa(r.Width), strconv.Itoa(r.Height)}
		}
		cw.Write(slices.Concat([]string{r.Image}, size, []string{"", "", "", "", "", ""}, tail))
	}
	if r.Error == "" {
		for _, d := range r.Detections {
			cw.Write(slices.Concat([]string{r.Image, strconv.Itoa(r.Width), strconv.Itoa(r.Height),
				f(d.Box[0]), f(d.Box[1]), f(d.Box[2]), f(d.Box[3]), f(d.Score), f(d.Scale)}, tail))
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	_, err := c.w.Write(buf.Bytes())
	return err
}

func (c *csvWriter) Close() error { return nil }

// cocoWriter gathers a COCO-style detection file and writes it on Close:
// images with ids in input order, one annotation per detection with
// bbox [x, y, w, h] and score, and failed images listed under "errors".
type cocoWriter struct {
	w      io.Writer
	images []cocoImage
	anns   []cocoAnn
	errs   []Record
}

type cocoImage struct {
	ID          int     `json:"id"`
	FileName    string  `json:"file_name"`
	Width       int     `json:"width"`
	Height      int     `json:"height"`
	Model       string  `json:"model,omitempty"`
	ModelSHA256 string  `json:"model_sha256,omitempty"`
	Threshold   float64 `json:"threshold"`
}

type cocoAnn struct {
	ID         int        `json:"id"`
	ImageID    int        `json:"image_id"`
	CategoryID int        `json:"category_id"`
	BBox       [4]float64 `json:"bbox"`
	Area       float64    `json:"area"`
	Score      float64    `json:"score"`
	Scale      float64    `json:"scale"`
	IsCrowd    int        `json:"iscrowd"`
}

func (c *cocoWriter) Write(r Record) error {
	if r.Error != "" {
		c.errs = append(c.errs, r)
		return nil
	}
	r = r.Rounded()
	id := len(c.images) + 1
	c.images = append(c.images, cocoImage{id, r.Image, r.Width, r.Height, r.Model, r.ModelSHA256, r.Threshold})
	for _, d := range r.Detections {
		w, h := roundTo(d.Box[2]-d.Box[0], 100), roundTo(d.Box[3]-d.Box[1], 100)
		c.anns = append(c.anns, cocoAnn{len(c.anns) + 1, id, 1, [4]float64{d.Box[0], d.Box[1], w, h}, roundTo(w*h, 100), d.Score, d.Scale, 0})
	}
	return nil
}

func (c *cocoWriter) Close() error {
	doc := map[string]any{
		"images":      nonNil(c.images),
		"annotations": nonNil(c.anns),
		"categories":  []map[string]any{{"id": 1, "name": "dress"}},
	}
	if len(c.errs) > 0 {
		doc["errors"] = c.errs
	}
	b, err := json.MarshalIndent(doc, "", " ")
	if err != nil {
		return err
	}
	_, err = c.w.Write(append(b, '\n'))
	return err
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
