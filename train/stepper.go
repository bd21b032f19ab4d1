package train

import (
	"errors"
	"fmt"
	"math"

	"github.com/fc2conv/fc2conv/backprop"
	"github.com/fc2conv/fc2conv/graph"
	"github.com/fc2conv/fc2conv/nn"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Trainers name the training paths Config.Trainer takes.
var Trainers = []string{"native", "gorgonia"}

// stepper runs one optimisation step on a batch and returns its loss.
type stepper interface {
	step(xs, ys []float32, lr float64) (float64, error)
	close()
}

func newStepper(cfg Config, net *nn.Network) (stepper, error) {
	switch cfg.Trainer {
	case "", "native":
		t, err := backprop.New(net, cfg.Batch, backprop.Options{Seed: cfg.Seed})
		if err != nil {
			return nil, &FieldError{Field: "Config.Arch", Err: err}
		}
		adam := backprop.NewAdam()
		adam.WeightDecay = cfg.WeightDecay
		return &nativeStepper{t: t, adam: adam}, nil
	case "gorgonia":
		return newGorgoniaStepper(cfg, net)
	}
	return nil, &FieldError{Field: "Config.Trainer", Err: fmt.Errorf("%q is not one of %v", cfg.Trainer, Trainers)}
}

// nativeStepper is package backprop with its Adam.
type nativeStepper struct {
	t    *backprop.Net
	adam *backprop.Adam
}

func (s *nativeStepper) step(xs, ys []float32, lr float64) (float64, error) {
	l, err := s.t.Step(xs, ys)
	if err == nil && !math.IsNaN(l) && !math.IsInf(l, 0) {
		s.adam.Step(s.t.Params(), lr)
	}
	return l, err
}

func (s *nativeStepper) close() {}

// gorgoniaStepper is the graph path: gorgonia's autodiff and AdamSolver.
type gorgoniaStepper struct {
	g      *graph.Graph
	loss   *G.Node
	y      *G.Node
	vm     G.VM
	solver *G.AdamSolver
	batch  int
}

func newGorgoniaStepper(cfg Config, net *nn.Network) (*gorgoniaStepper, error) {
	// The labels node below is two columns wide.
	if len(net.Labels) != 2 {
		return nil, fieldErr("Config.Trainer", "gorgonia trains two-class models only; this one has %d classes", len(net.Labels))
	}
	graph.UseFastGEMM()
	g, err := graph.Build(net, graph.Options{Batch: cfg.Batch, Training: true})
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	y := G.NewMatrix(g.G, G.Float32, G.WithShape(cfg.Batch, 2), G.WithName("labels"))
	loss, err := crossEntropy(g.Logits, y)
	if err != nil {
		return nil, fmt.Errorf("train: loss: %w", err)
	}
	if _, err := G.Grad(loss, g.Learnables...); err != nil {
		return nil, fmt.Errorf("train: gradients: %w", err)
	}
	return &gorgoniaStepper{g: g, loss: loss, y: y, batch: cfg.Batch,
		vm:     G.NewTapeMachine(g.G, G.BindDualValues(g.Learnables...)),
		solver: G.NewAdamSolver(G.WithLearnRate(cfg.LR))}, nil
}

func (s *gorgoniaStepper) step(xs, ys []float32, lr float64) (float64, error) {
	// Wrapped per step, without copying: batches come from several
	// buffers (see batchMaker.run).
	in := s.g.Input.Shape()
	xT := tensor.New(tensor.WithShape(in...), tensor.WithBacking(xs))
	yT := tensor.New(tensor.WithShape(s.batch, 2), tensor.WithBacking(ys))
	G.WithLearnRate(lr)(s.solver)
	if err := G.Let(s.g.Input, xT); err != nil {
		return 0, err
	}
	if err := G.Let(s.y, yT); err != nil {
		return 0, err
	}
	if err := s.vm.RunAll(); err != nil {
		return 0, err
	}
	defer s.vm.Reset()
	if err := s.g.UpdateRunningStats(); err != nil {
		return 0, err
	}
	if err := s.solver.Step(G.NodesToValueGrads(s.g.Learnables)); err != nil {
		return 0, fmt.Errorf("solver: %w", err)
	}
	return float64(s.loss.Value().Data().(float32)), nil
}

func (s *gorgoniaStepper) close() { s.vm.Close() }

// crossEntropy is the mean of −Σ y·log softmax(logits).
func crossEntropy(logits, y *G.Node) (*G.Node, error) {
	if logits == nil {
		return nil, errors.New("network does not end in a softmax")
	}
	logp, err := G.LogSoftMax(logits)
	if err != nil {
		return nil, err
	}
	prod, err := G.HadamardProd(logp, y)
	if err != nil {
		return nil, err
	}
	s, err := G.Sum(prod, 1)
	if err != nil {
		return nil, err
	}
	m, err := G.Mean(s)
	if err != nil {
		return nil, err
	}
	return G.Neg(m)
}
