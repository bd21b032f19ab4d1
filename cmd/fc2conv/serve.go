package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	iofs "io/fs"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/fc2conv/fc2conv/detect"
	"github.com/fc2conv/fc2conv/nn"
	"github.com/fc2conv/fc2conv/serve"
)

func runServe(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("serve", "", "Serves detection over HTTP: POST /v1/detect (an image as the body or the multipart\nfield \"image\"; query parameters threshold, scales, step, flip, class, heatmap=png),\nGET /v1/model, GET /healthz, GET /metrics (Prometheus), and a page at / to try it\nin a browser. SIGTERM or Ctrl-C stops it after the requests in flight.", stderr)
	modelPath := fs.String("model", "", "model `file` (.safetensors, FC or converted); default: the embedded dress model")
	verifierPath := fs.String("verifier", "", verifierHelp)
	scoring := addVerifierScoringFlags(fs)
	addr := fs.String("addr", "127.0.0.1:8080", "`host:port` to listen on (port 0 picks a free one); 0.0.0.0:8080 for every interface")
	workers := fs.Int("workers", 1, "images scanned at once; each uses GOMAXPROCS / workers threads")
	maxInFlight := fs.Int("max-in-flight", 0, "detect requests admitted at once, running or queued; more get 503 (default: 4 × workers)")
	maxBody := fs.Int("max-body-mb", serve.DefaultMaxBodyBytes>>20, "largest request body in MiB")
	maxMpx := fs.Float64("max-megapixels", float64(serve.DefaultMaxPixels)/1e6, "largest image, width × height in millions of pixels (checked before decoding)")
	timeout := fs.Duration("timeout", serve.DefaultTimeout, "longest a detect request may take, waiting for a worker included")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	usageErr := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "fc2conv serve: "+format+"\n", a...)
		return exitUsage
	}
	switch {
	case fs.NArg() > 0:
		return usageErr("unexpected argument %q (serve takes flags only)", fs.Arg(0))
	case *workers < 1 || *workers > 1024:
		return usageErr("--workers %d out of range [1,1024]", *workers)
	case *maxInFlight != 0 && (*maxInFlight < *workers || *maxInFlight > 1<<16):
		return usageErr("--max-in-flight %d out of range [--workers, 65536]", *maxInFlight)
	case *maxBody < 1 || *maxBody > 1<<14:
		return usageErr("--max-body-mb %d out of range [1,16384]", *maxBody)
	case !(*maxMpx > 0) || *maxMpx*1e6 > detect.MaxImagePixels:
		return usageErr("--max-megapixels %v out of range (0,%g]", *maxMpx, float64(detect.MaxImagePixels)/1e6)
	case *timeout <= 0:
		return usageErr("--timeout %v must be > 0", *timeout)
	}
	var opt detect.Options
	if err := scoring.set(&opt); err != nil {
		return usageErr("%v", err)
	}
	det, model, err := openDetection(&opt, "--model", *modelPath, *verifierPath, nn.Limits{})
	if err != nil {
		if ferr, isOption := optionFlagErr(err); isOption {
			return usageErr("%v", ferr)
		}
		fmt.Fprintf(stderr, "fc2conv serve: %v\n", err)
		if errors.Is(err, iofs.ErrNotExist) {
			return exitUsage
		}
		return exitFail
	}
	srv, err := serve.New(serve.Config{Detector: det, Options: opt, Model: model, Workers: *workers, MaxInFlight: *maxInFlight,
		MaxBodyBytes: int64(*maxBody) << 20, MaxPixels: int(*maxMpx * 1e6), Timeout: *timeout})
	if err != nil {
		fmt.Fprintf(stderr, "fc2conv serve: %v\n", err)
		return exitFail
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(stderr, "fc2conv serve: --addr: %v\n", err)
		return exitFail
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	fmt.Fprintf(stderr, "fc2conv serve: listening on http://%s (model %s, workers %d)\n", ln.Addr(), model.Name, *workers)
	t0 := time.Now()
	if err := srv.Serve(ctx, ln); err != nil {
		fmt.Fprintf(stderr, "fc2conv serve: %v\n", err)
		return exitFail
	}
	fmt.Fprintf(stderr, "fc2conv serve: stopped after %s; requests in flight finished\n", time.Since(t0).Round(time.Second))
	return exitOK
}
