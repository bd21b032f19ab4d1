package serve

import (
	"encoding/json"
	"net/http"
)

// ModelInfo is the body of GET /v1/model. Sizes are width and height in
// input pixels.
type ModelInfo struct {
	Name     string   `json:"name"`
	SHA256   string   `json:"sha256"`
	Labels   []string `json:"labels"`
	Positive int      `json:"positive"`
	// Class and Threshold are what a detect request uses when it sets
	// neither.
	Class     int        `json:"class"`
	Threshold float64    `json:"threshold"`
	Channels  int        `json:"channels"`
	Window    Size       `json:"window"`
	Stride    Size       `json:"stride"`
	Field     Size       `json:"receptive_field"`
	Padded    bool       `json:"padded"`
	Layers    []LayerRow `json:"layers"`
	// Limits are the server's, so a client can check before uploading.
	Limits Limits `json:"limits"`
}

// Size is a width and a height.
type Size struct {
	W int `json:"width"`
	H int `json:"height"`
}

// LayerRow is one layer: its name, type, configuration as the conversion
// table prints it, its output shape on the window ([C, H, W]) and its
// number of weights.
type LayerRow struct {
	Name    string `json:"name"`
	Type    string `json:"type"`
	Config  string `json:"config"`
	Output  [3]int `json:"output"`
	Weights int    `json:"weights"`
}

// Limits are the server's request limits.
type Limits struct {
	MaxBodyBytes   int64   `json:"max_body_bytes"`
	MaxPixels      int     `json:"max_pixels"`
	TimeoutSeconds float64 `json:"timeout_seconds"`
	Workers        int     `json:"workers"`
	MaxInFlight    int     `json:"max_in_flight"`
}

// modelInfo describes the served model.
func (s *Server) modelInfo() (ModelInfo, error) {
	d := s.cfg.Detector
	net := d.Network()
	g := d.Geometry()
	info := ModelInfo{
		Name: s.cfg.Model.Name, SHA256: s.cfg.Model.SHA256,
		Labels: append([]string{}, net.Labels...), Positive: net.Positive,
		Class: d.Class(), Threshold: d.Threshold(), Channels: net.Input.Channels,
		Window: Size{g.Window.W, g.Window.H}, Stride: Size{g.Stride.W, g.Stride.H},
		Field: Size{g.Field.W, g.Field.H}, Padded: g.Padded,
		Limits: Limits{MaxBodyBytes: s.cfg.MaxBodyBytes, MaxPixels: s.cfg.MaxPixels,
			TimeoutSeconds: s.cfg.Timeout.Seconds(), Workers: s.cfg.Workers, MaxInFlight: s.cfg.MaxInFlight},
	}
	shapes, err := net.Shapes(net.Input.Window())
	if err != nil {
		return ModelInfo{}, err
	}
	for i, l := range net.Layers {
		n := 0
		for _, p := range l.Params() {
			if p.Value != nil {
				n += len(p.Value.Data)
			}
		}
		out := shapes[i+1]
		info.Layers = append(info.Layers, LayerRow{Name: l.Name(), Type: string(l.Kind()), Config: l.String(),
			Output: [3]int{out.C, out.H, out.W}, Weights: n})
	}
	return info, nil
}

func (s *Server) handleModel(w http.ResponseWriter, r *http.Request) {
	info, err := s.modelInfo()
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, info)
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, map[string]string{"status": "ok"})
}

func (s *Server) handleMetrics(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	s.metrics.write(w)
}

func writeJSON(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "", err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(append(b, '\n'))
}
