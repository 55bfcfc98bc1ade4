package loadgen

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sync/errgroup"

	"github.com/kafkatune/kafkatune/internal/telemetry"
)

// shutdownTimeout bounds the metrics server's graceful shutdown.
const shutdownTimeout = 5 * time.Second

// Main runs the loadgen command line args (without the program name) until
// ctx ends or the run's duration has passed. Configuration falls back to
// the environment through lookup; help goes to stdout, logs to stderr. A
// *UsageError means bad input (exit status 2).
func Main(ctx context.Context, args []string, lookup func(string) (string, bool),
	stdout, stderr io.Writer,
) error {
	cmd, err := Parse(args, lookup, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	log := NewLogger(stderr, cmd.LogLevel, cmd.LogFormat)
	logStart(log, cmd)

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	work, err := newWorkload(cmd, log, reg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cmd.MetricsAddr)
	if err != nil {
		return fmt.Errorf("listen for metrics: %w", err)
	}
	log.Info("serving metrics", "addr", ln.Addr().String(), "path", "/metrics")

	g, gctx := errgroup.WithContext(ctx)
	runCtx, stop := context.WithCancel(gctx)
	defer stop()
	g.Go(func() error { return serveMetrics(runCtx, ln, reg, log) })
	g.Go(func() error {
		defer stop() // the workload is done: stop serving too
		return work(runCtx)
	})
	return g.Wait()
}

// newWorkload builds the producer or consumer of cmd and registers its
// metrics and build info on reg.
func newWorkload(cmd *Command, log *slog.Logger, reg *prometheus.Registry) (func(context.Context) error, error) {
	component := telemetry.SubsystemConsumer
	if cmd.Mode == ModeProduce {
		component = telemetry.SubsystemProducer
	}
	if err := telemetry.RegisterBuildInfo(reg, component); err != nil {
		return nil, fmt.Errorf("register build info: %w", err)
	}
	if cmd.Mode == ModeProduce {
		p, err := NewProducer(cmd.Producer, log, reg)
		if err != nil {
			return nil, err
		}
		return p.Run, nil
	}
	cc := cmd.Consumer
	var ll *latencyLog
	if cc.LatencyLog != "" {
		var err error
		if ll, err = openLatencyLog(cc.LatencyLog); err != nil {
			return nil, err
		}
		cc.OnMessage = ll.record
	}
	c, err := NewConsumer(cc, log, reg)
	if err != nil {
		if ll != nil {
			_ = ll.close()
		}
		return nil, err
	}
	if ll == nil {
		return c.Run, nil
	}
	return func(ctx context.Context) error {
		err := c.Run(ctx)
		return errors.Join(err, ll.close())
	}, nil
}

// NewLogger returns the slog logger on w in format text or json.
func NewLogger(w io.Writer, level slog.Level, format string) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func logStart(log *slog.Logger, cmd *Command) {
	attrs := []any{"mode", cmd.Mode, "metrics_addr", cmd.MetricsAddr}
	if cmd.Mode == ModeProduce {
		c := cmd.Producer
		attrs = append(attrs, "broker", c.Broker, "topic", c.Topic,
			"partitions", c.Partitions, "message_size", c.MessageSize,
			"rate_mode", string(c.RateMode), "rate", c.Rate, "max_rate", c.MaxRate,
			"target_latency_ms", c.TargetLatencyMs, "rate_mult", c.RateMult,
			"rate_margin", c.RateMargin, "raise_below", c.RaiseBelow, "adjust_interval", c.AdjustInterval,
			"partition_skew", c.PartitionSkew, "partitioner", c.Partitioner, "max_in_flight", c.MaxInFlight,
			"duration", c.Duration, "acks", c.Acks, "idempotence", c.Idempotence,
			"linger_ms", c.LingerMs, "compression", c.Compression,
			"status_dir", c.StatusDir)
	} else {
		c := cmd.Consumer
		attrs = append(attrs, "broker", c.Broker, "topic", c.Topic,
			"group", c.Group, "duration", c.Duration)
	}
	log.Info("loadgen starting", attrs...)
}

// serveMetrics serves reg on /metrics until ctx ends, then shuts the server
// down within shutdownTimeout.
func serveMetrics(ctx context.Context, ln net.Listener, reg *prometheus.Registry, log *slog.Logger) error {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		Registry:          reg,
		EnableOpenMetrics: true,
	}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve metrics: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("metrics server shutdown failed", "err", err)
	}
	<-errc
	return nil
}

// ExitCode maps Main's error to the process exit status: 0 for nil, 2 for
// bad input, 1 otherwise.
func ExitCode(err error) int {
	var ue *UsageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ue):
		return 2
	default:
		return 1
	}
}
