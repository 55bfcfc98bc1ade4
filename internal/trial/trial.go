// Package trial runs one tuning trial against a live broker: apply a
// setting through an actuator, warm up, measure producer throughput and
// consumer end-to-end P99 over a window with PromQL (the bridge's own
// queries, from internal/telemetry), and read the setting back. It
// implements tuner.Evaluator.
package trial

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"

	"github.com/kafkatune/kafkatune/internal/actuator"
	"github.com/kafkatune/kafkatune/internal/knobs"
	"github.com/kafkatune/kafkatune/internal/telemetry"
	"github.com/kafkatune/kafkatune/internal/tuner"
)

// Defaults of Config.
const (
	// DefaultWarmup gives the adaptive producer time to find the new
	// setting's limit again: after a large change of limit its controller
	// needs 10 to 15 adjustments of 5 s (loadgen.Controller).
	DefaultWarmup       = time.Minute
	DefaultWindow       = time.Minute
	DefaultQueryTimeout = 10 * time.Second
)

// Config times a trial. Zero fields take their defaults.
type Config struct {
	// Warmup is the time between a successful apply and the start of the
	// window: producers reconnect, the consumer catches up, the JVM warms.
	Warmup time.Duration
	// Window is the measured time, in whole seconds.
	Window time.Duration
	// QueryTimeout bounds each PromQL query.
	QueryTimeout time.Duration
}

// DefaultConfig returns the defaults: 60 s warm-up, 60 s window, 10 s per
// query.
func DefaultConfig() Config {
	return Config{Warmup: DefaultWarmup, Window: DefaultWindow, QueryTimeout: DefaultQueryTimeout}
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.Warmup == 0 {
		c.Warmup = d.Warmup
	}
	if c.Window == 0 {
		c.Window = d.Window
	}
	if c.QueryTimeout == 0 {
		c.QueryTimeout = d.QueryTimeout
	}
	return c
}

// Validate reports a Config that cannot time a trial (after defaults).
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	if c.Warmup < 0 {
		errs = append(errs, fmt.Errorf("warm-up %v: want a positive duration", c.Warmup))
	}
	if c.Window < time.Second || c.Window%time.Second != 0 {
		errs = append(errs, fmt.Errorf("window %v: want whole seconds, at least 1s", c.Window))
	}
	if c.QueryTimeout < 0 {
		errs = append(errs, fmt.Errorf("query timeout %v: want a positive duration", c.QueryTimeout))
	}
	return errors.Join(errs...)
}

// ErrNoData is wrapped by the error of a measurement that Prometheus could
// not answer with a number: no series, or NaN (no traffic in the window).
var ErrNoData = errors.New("no data")

// Evaluator runs trials. It implements tuner.Evaluator.
type Evaluator struct {
	cfg     Config
	act     actuator.Actuator
	prom    promv1.API
	queries telemetry.TrialQueries
	logger  *slog.Logger
}

var _ tuner.Evaluator = (*Evaluator)(nil)

// New returns an Evaluator that changes the broker through act and asks
// prom for the measurements.
func New(cfg Config, act actuator.Actuator, prom promv1.API, logger *slog.Logger) (*Evaluator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("trial config: %w", err)
	}
	if act == nil || prom == nil {
		return nil, errors.New("trial: actuator and Prometheus API required")
	}
	cfg = cfg.withDefaults()
	return &Evaluator{
		cfg: cfg, act: act, prom: prom, queries: telemetry.TrialWindow(cfg.Window),
		logger: logger.With("component", "trial"),
	}, nil
}

// Evaluate applies s, warms up, measures the window and reads s back. A
// failure of any step is reported in Measurement.Err; Verified is true
// only when the broker runs s both before and after the window. The error
// return is ctx's error when ctx ends first.
func (e *Evaluator) Evaluate(ctx context.Context, s knobs.Setting) (tuner.Measurement, error) {
	log := e.logger.With("setting", s.String())
	start := time.Now()
	if err := e.act.Apply(ctx, s); err != nil {
		m := tuner.Measurement{Err: fmt.Errorf("apply %s: %w", s, err)}
		log.Warn("trial failed", "phase", "apply", "duration", since(start), "err", err)
		return m, ctx.Err()
	}
	applied := time.Now()
	log.Debug("trial warming up", "apply_duration", since(start), "warmup", e.cfg.Warmup)
	if err := sleep(ctx, e.cfg.Warmup); err != nil {
		return tuner.Measurement{Err: err}, err
	}
	windowStart := time.Now()
	if err := sleep(ctx, e.cfg.Window); err != nil {
		return tuner.Measurement{Err: err}, err
	}
	end := windowStart.Add(e.cfg.Window)

	m := e.measure(ctx, end)
	phase := "measure"
	verr := e.readBack(ctx, s)
	if m.Err == nil {
		phase = "read_back"
	}
	m.Verified = verr == nil
	m.Err = errors.Join(m.Err, verr)
	attrs := []any{
		"throughput_msgs", m.ThroughputMsgs, "p99_ms", m.P99Ms, "samples", m.Samples,
		"verified", m.Verified, "apply_duration", applied.Sub(start).Round(time.Millisecond),
		"window_start", windowStart, "window", e.cfg.Window, "duration", since(start),
	}
	if m.Err != nil {
		log.Warn("trial failed", append(attrs, "phase", phase, "err", m.Err)...)
	} else {
		log.Info("trial measured", attrs...)
	}
	return m, ctx.Err()
}

// readBack checks that the broker still runs s after the window.
func (e *Evaluator) readBack(ctx context.Context, s knobs.Setting) error {
	got, err := e.act.Current(ctx)
	if err != nil {
		return fmt.Errorf("read back after the window: %w", err)
	}
	if got != s {
		return fmt.Errorf("after the window: %w", &actuator.MismatchError{Want: s, Got: got})
	}
	return nil
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func since(t time.Time) time.Duration { return time.Since(t).Round(time.Millisecond) }
