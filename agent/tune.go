package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/kafkatune/kafkatune/internal/knobs"
	"github.com/kafkatune/kafkatune/internal/telemetry"
	"github.com/kafkatune/kafkatune/internal/trial"
	"github.com/kafkatune/kafkatune/internal/tuner"
)

// tuneConfig is the configuration of a tuning run.
type tuneConfig struct {
	enabled  bool
	trials   int
	warmup   time.Duration
	window   time.Duration
	settle   time.Duration
	seed     uint64
	limits   knobs.Limits
	targetMs float64
}

// Flag names of the tuning run, with their environment variables.
const (
	flagTune        = "tune"
	flagTrials      = "trials"
	flagTrialWarmup = "trial-warmup"
	flagTrialWindow = "trial-window"
	flagSettle      = "settle"
	flagSeed        = "seed"
	flagCPULimit    = "cpu-limit"
	flagMemLimit    = "memory-limit-mb"
)

var tuneEnv = map[string]string{
	flagTune:        "AGENT_TUNE",
	flagTrials:      "TUNE_TRIALS",
	flagTrialWarmup: "TUNE_TRIAL_WARMUP",
	flagTrialWindow: "TUNE_TRIAL_WINDOW",
	flagSettle:      "TUNE_SETTLE",
	flagSeed:        "TUNE_SEED",
	flagCPULimit:    "K8S_SANDBOX_CPU_LIMIT",
	flagMemLimit:    "K8S_SANDBOX_MEM_LIMIT_MB",
}

// registerFlags defines the tuning flags on fs with c's defaults; -tune
// itself only where tuning is optional (agent local).
func (c *tuneConfig) registerFlags(fs *flag.FlagSet, optional bool) {
	if optional {
		fs.BoolVar(&c.enabled, flagTune, false, "tune the broker with the built-in optimizer once the stack is up")
	}
	fs.IntVar(&c.trials, flagTrials, 12, "tuning trial `budget` (the final return to the best setting comes on top)")
	fs.DurationVar(&c.warmup, flagTrialWarmup, trial.DefaultWarmup, "warm-up `duration` after each change, before measuring")
	fs.DurationVar(&c.window, flagTrialWindow, trial.DefaultWindow, "measured `duration` of each trial, whole seconds")
	fs.DurationVar(&c.settle, flagSettle, defaultSettle,
		"before the first trial, wait until the producers' rate has not risen for this `duration` (0: do not wait)")
	fs.Uint64Var(&c.seed, flagSeed, 1, "`seed` of the search, for repeatable runs")
	fs.Float64Var(&c.limits.CPUs, flagCPULimit, knobs.DefaultCPUs, "CPU `limit` the thread bounds derive from")
	fs.IntVar(&c.limits.MemoryMB, flagMemLimit, knobs.DefaultMemoryMB, "memory limit in `MiB` the heap bound derives from (heap at most half)")
}

// validate reports the first bad tuning setting, naming the command and
// the flag.
func (c tuneConfig) validate(cmd string) error {
	bad := func(name string, v any, want string) error {
		return usagef("%s: invalid -%s (env %s) %v: want %s", cmd, name, tuneEnv[name], v, want)
	}
	switch {
	case c.trials < 1 || c.trials > 1000:
		return bad(flagTrials, c.trials, "1 to 1000")
	case c.warmup < 0:
		return bad(flagTrialWarmup, c.warmup, "0 or above")
	case c.window < time.Second || c.window%time.Second != 0:
		return bad(flagTrialWindow, c.window, "whole seconds, at least 1s")
	case c.settle < 0:
		return bad(flagSettle, c.settle, "0 or above")
	}
	if err := c.limits.Validate(); err != nil {
		return usagef("%s: invalid -%s/-%s (env %s/%s): %v", cmd, flagCPULimit, flagMemLimit,
			tuneEnv[flagCPULimit], tuneEnv[flagMemLimit], err)
	}
	return nil
}

// tuning is a built-in optimizer run through the agent's core.
type tuning struct {
	cfg  tuneConfig
	core *core
	prom promv1.API
	log  *slog.Logger
}

// run measures the start, searches for up to cfg.trials trials and ends
// on the best verified setting. On cancellation it still puts the best
// setting back, with a fresh deadline.
func (t *tuning) run(ctx context.Context) (tuner.Result, error) {
	if err := t.settle(ctx); err != nil {
		return tuner.Result{}, err
	}
	start, err := t.core.Current(ctx)
	if err != nil {
		return tuner.Result{}, fmt.Errorf("read the broker's current setting: %w", err)
	}
	bounds := t.cfg.limits.Bounds()
	if err := bounds.Check(start); err != nil {
		return tuner.Result{}, fmt.Errorf("the broker's current setting %s is outside the bounds: %w", start, err)
	}
	search, err := tuner.NewSearch(tuner.Config{
		Bounds:    bounds,
		Objective: tuner.Objective{TargetP99Ms: t.cfg.targetMs},
		Start:     start,
		Seed:      t.cfg.seed,
	})
	if err != nil {
		return tuner.Result{}, err
	}
	opt := &lockedOptimizer{opt: search, keeper: t.core.keeper}
	t.core.bans.set(opt)
	defer t.core.bans.set(nil)
	ev, err := trial.New(trial.Config{Warmup: t.cfg.warmup, Window: t.cfg.window}, t.core, t.prom, t.log)
	if err != nil {
		return tuner.Result{}, err
	}
	t.log.Info("tuning started", "start", start.String(), "trials", t.cfg.trials,
		"warmup", t.cfg.warmup, "window", t.cfg.window, "target_p99_ms", t.cfg.targetMs,
		"bounds_heap_mb", fmt.Sprintf("%d-%d", bounds.HeapMB.Min, bounds.HeapMB.Max),
		"bounds_network_threads", fmt.Sprintf("%d-%d", bounds.NetworkThreads.Min, bounds.NetworkThreads.Max),
		"bounds_io_threads", fmt.Sprintf("%d-%d", bounds.IOThreads.Min, bounds.IOThreads.Max),
		"ledger", t.core.ledger.Path())
	res, err := tuner.Run(ctx, opt, ev, tuner.RunConfig{
		Budget: t.cfg.trials, Ledger: t.core.ledger, Metrics: t.core.metrics, Logger: t.log,
	})
	if err != nil && ctx.Err() != nil {
		// Cancelled mid-trial: the broker may run a setting not yet
		// verified. Put the best one back before giving up.
		backCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Minute)
		defer cancel()
		if aerr := t.core.Apply(backCtx, res.Best); aerr != nil {
			return res, errors.Join(err, fmt.Errorf("put back the best setting %s: %w", res.Best, aerr))
		}
		t.log.Info("tuning cancelled; best setting put back", "best", res.Best.String())
		return res, err
	}
	if err != nil {
		return res, err
	}
	t.log.Info("tuning finished", "best", res.Best.String(), "best_score", res.BestScore,
		"trials", res.Trials, "stopped", res.Stopped, "start", start.String())
	return res, nil
}

// Settling: the adaptive producer climbs from its start rate. Until it
// stops climbing, a trial would measure the climb rather than the setting,
// so the first trial waits for the producers' target rate to have risen no
// further for -settle, and for settleTimeout more than that at most. The
// default spans a dozen of the producer's adjustments: near the limit it
// holds for a few in a row (the hold band, small steps), and 20 s once
// ended the wait at a quarter of the rate it reached later.
const (
	defaultSettle = time.Minute
	settleTimeout = 5 * time.Minute
	settlePoll    = 2 * time.Second
)

// settle waits until the producers' target rate stops rising.
func (t *tuning) settle(ctx context.Context) error {
	quiet := t.cfg.settle
	if quiet == 0 {
		return nil
	}
	q := "sum(" + telemetry.ProducerTargetRate + ")"
	deadline := time.Now().Add(quiet + settleTimeout)
	highest, lastRise := -1.0, time.Now()
	t.log.Info("waiting for the producer's rate to settle before the first trial",
		"quiet", quiet, "timeout", quiet+settleTimeout)
	for {
		v, _, _, err := t.prom.Query(ctx, q, time.Now())
		if vec, ok := v.(model.Vector); err == nil && ok && len(vec) == 1 {
			if r := float64(vec[0].Value); r > highest {
				highest, lastRise = r, time.Now()
			}
		}
		switch {
		case highest >= 0 && time.Since(lastRise) >= quiet:
			t.log.Info("producer rate settled", "target_rate", highest)
			return nil
		case time.Now().After(deadline):
			t.log.Warn("producer rate still rising; tuning anyway", "target_rate", highest,
				"waited", quiet+settleTimeout)
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(settlePoll):
		}
	}
}

// newPromAPI returns a PromQL client for url.
func newPromAPI(url string) (promv1.API, error) {
	c, err := api.NewClient(api.Config{Address: url})
	if err != nil {
		return nil, fmt.Errorf("prometheus client for %s: %w", url, err)
	}
	return promv1.NewAPI(c), nil
}
