package scan

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"io"
	"strconv"
)

// csvWriter writes one row per detection; an image without detections
// writes nothing, a failed image one row with the error.
type csvWriter struct{ w io.Writer }

func (c *csvWriter) Write(r Record) error {
	var buf bytes.Buffer
	cw := csv.NewWriter(&buf)
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	if r.Error != "" {
		cw.Write([]string{r.Image, "", "", "", "", "", "", "", "", r.Error})
	}
	for _, d := range r.Detections {
		cw.Write([]string{r.Image, strconv.Itoa(r.Width), strconv.Itoa(r.Height),
			f(d.Box[0]), f(d.Box[1]), f(d.Box[2]), f(d.Box[3]), f(d.Score), f(d.Scale), ""})
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
	ID       int    `json:"id"`
	FileName string `json:"file_name"`
	Width    int    `json:"width"`
	Height   int    `json:"height"`
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
	id := len(c.images) + 1
	c.images = append(c.images, cocoImage{id, r.Image, r.Width, r.Height})
	for _, d := range r.Detections {
		w, h := d.Box[2]-d.Box[0], d.Box[3]-d.Box[1]
		c.anns = append(c.anns, cocoAnn{len(c.anns) + 1, id, 1, [4]float64{d.Box[0], d.Box[1], w, h}, w * h, d.Score, d.Scale, 0})
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
