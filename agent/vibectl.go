package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"log/slog"
	"strconv"

	"golang.org/x/sync/errgroup"

	"github.com/kafkatune/kafkatune/internal/vibectl"
)

// envMetricsAddr is where `agent vibectl` serves its metrics (flags belong
// to the vibectl package, so this one comes from the environment only).
const (
	envMetricsAddr     = "METRICS_ADDR"
	defaultMetricsAddr = ":9104"
)

// runVibectl is `agent vibectl`: configure vibectl and run its loop with
// the guard until the step budget is spent or ctx ends, serving the
// agent's metrics meanwhile.
func runVibectl(ctx context.Context, args []string, lookup func(string) (string, bool), stdout, stderr io.Writer) error {
	cfg, err := vibectl.ParseConfig(args, lookup, stdout)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return nil
	case errors.Is(err, vibectl.ErrNoAPIKey) && cfg.Fallback == vibectl.FallbackTune:
		slog.New(slog.NewTextHandler(stderr, nil)).Warn("no API key for vibectl, falling back to the built-in tuner",
			"component", "agent", "err", err, "fallback", cfg.Fallback)
		return runTune(ctx, fallbackTuneArgs(cfg), lookup, stdout, stderr)
	case errors.Is(err, vibectl.ErrNoAPIKey):
		// Not a typo but a missing secret: exit 1 with the one line.
		return err
	case err != nil:
		return &usageError{msg: "vibectl: " + err.Error()}
	}
	addr := defaultMetricsAddr
	if v, ok := lookup(envMetricsAddr); ok && v != "" {
		addr = v
	}
	log := slog.New(slog.NewTextHandler(stderr, nil)).With("component", "agent")
	reg, err := newRegistry()
	if err != nil {
		return err
	}
	r, err := vibectl.New(cfg, log, reg)
	if err != nil {
		return err
	}
	srv, err := listen(addr, reg, log)
	if err != nil {
		return usagef("invalid %s %q: %v", envMetricsAddr, addr, err)
	}
	g, gctx := errgroup.WithContext(ctx)
	loopCtx, stop := context.WithCancel(gctx)
	g.Go(func() error { return srv.serve(loopCtx) })
	g.Go(func() error {
		defer stop()
		return r.Run(loopCtx)
	})
	return g.Wait()
}

// fallbackTuneArgs carries the settings `agent vibectl` and `agent tune`
// share over to the tuner; the rest `agent tune` reads from the
// environment as usual.
func fallbackTuneArgs(c vibectl.Config) []string {
	args := []string{
		"-namespace", c.Namespace, "-statefulset", c.StatefulSet, "-container", c.Container,
		"-status-dir", c.StatusDir,
		"-target-latency-ms", strconv.FormatFloat(c.TargetLatencyMs, 'g', -1, 64),
		"-cpu-limit", strconv.FormatFloat(c.Limits.CPUs, 'g', -1, 64),
		"-memory-limit-mb", strconv.Itoa(c.Limits.MemoryMB),
	}
	switch {
	case c.InCluster:
		args = append(args, "-in-cluster")
	case c.Kubeconfig != "":
		args = append(args, "-kubeconfig", c.Kubeconfig)
	}
	return args
}
