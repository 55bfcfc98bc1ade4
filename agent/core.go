package main

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kafkatune/kafkatune/internal/actuator"
	"github.com/kafkatune/kafkatune/internal/knobs"
	"github.com/kafkatune/kafkatune/internal/rollback"
	"github.com/kafkatune/kafkatune/internal/tuner"
	"github.com/kafkatune/kafkatune/internal/webhook"
)

// core is what the agent does around one actuator: it keeps the last good
// setting, rolls back when the P99 regression alert arrives on the
// webhook, and records every change and rollback in the ledger and the
// tuner metrics.
type core struct {
	act     actuator.Actuator
	keeper  *rollback.Keeper
	hook    *webhook.Handler
	ledger  *tuner.Ledger
	metrics *tuner.Metrics
	bans    *banner
	log     *slog.Logger
}

// coreConfig configures newCore.
type coreConfig struct {
	token          string
	statusDir      string
	rollbackWindow time.Duration
	cooldown       time.Duration
}

// newCore reads the broker's setting, takes it as the first good one, and
// builds the keeper and the webhook handler.
func newCore(ctx context.Context, act actuator.Actuator, cfg coreConfig, reg prometheus.Registerer, log *slog.Logger) (*core, error) {
	metrics, err := tuner.NewMetrics(reg)
	if err != nil {
		return nil, err
	}
	ledger, err := tuner.OpenLedger(cfg.statusDir)
	if err != nil {
		return nil, err
	}
	c := &core{act: act, ledger: ledger, metrics: metrics, bans: &banner{}, log: log}
	c.keeper, err = rollback.New(rollback.Config{
		Actuator:   act,
		Banner:     c.bans,
		Recorder:   rollback.TunerRecorder{Ledger: ledger, Metrics: metrics},
		Window:     cfg.rollbackWindow,
		Cooldown:   cfg.cooldown,
		Registerer: reg,
		Logger:     log.With("component", "rollback"),
	})
	if err != nil {
		ledger.Close()
		return nil, err
	}
	c.hook, err = webhook.New(webhook.Config{
		Token:      cfg.token,
		Keeper:     c.keeper,
		Registerer: reg,
		Logger:     log.With("component", "webhook"),
	})
	if err != nil {
		ledger.Close()
		return nil, err
	}
	cur, err := act.Current(ctx)
	if err != nil {
		ledger.Close()
		return nil, fmt.Errorf("read the broker's setting: %w", err)
	}
	// The setting the broker runs when the agent starts is the baseline a
	// rollback returns to until the tuner verifies a better one.
	c.keeper.Good(cur, time.Now())
	metrics.SetCurrent(cur, time.Now())
	log.Info("agent ready", "setting", cur.String(), "rollback_window", cfg.rollbackWindow)
	return c, nil
}

// Apply changes the broker through the keeper (so a rollback never overlaps
// a change), keeps the metrics current and, when the apply fails, rolls
// back to the last good setting.
func (c *core) Apply(ctx context.Context, s knobs.Setting) error {
	err := c.keeper.Apply(ctx, s)
	if err == nil {
		c.metrics.SetCurrent(s, time.Now())
		return nil
	}
	out, rerr := c.keeper.OnFailure(ctx, rollback.ReasonApplyFailed, s, err)
	c.log.Warn("apply failed", "setting", s.String(), "err", err,
		"rollback", out.Action, "rollback_why", out.Why, "rollback_err", rerr)
	return err
}

// Current reads the broker's setting.
func (c *core) Current(ctx context.Context) (knobs.Setting, error) { return c.act.Current(ctx) }

func (c *core) close() error { return c.ledger.Close() }

// banner forwards bans to the optimizer of the tuning run in progress (if
// any); it is the keeper's Banner.
type banner struct {
	mu  sync.Mutex
	opt *lockedOptimizer
}

func (b *banner) Ban(s knobs.Setting, until time.Time) {
	b.mu.Lock()
	opt := b.opt
	b.mu.Unlock()
	if opt != nil {
		opt.Ban(s, until)
	}
}

func (b *banner) set(opt *lockedOptimizer) {
	b.mu.Lock()
	b.opt = opt
	b.mu.Unlock()
}

// lockedOptimizer makes an optimizer safe for the keeper's bans, which
// come from the webhook's goroutine, and tells the keeper every new
// incumbent as the last good setting.
type lockedOptimizer struct {
	mu     sync.Mutex
	opt    tuner.Optimizer
	keeper *rollback.Keeper
}

func (o *lockedOptimizer) Next() (knobs.Setting, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.opt.Next()
}

func (o *lockedOptimizer) Tell(s knobs.Setting, m tuner.Measurement) (tuner.Outcome, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	out, err := o.opt.Tell(s, m)
	if err == nil && m.Valid() && o.opt.Best() == s {
		o.keeper.Good(s, time.Now())
	}
	return out, err
}

func (o *lockedOptimizer) Best() knobs.Setting {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.opt.Best()
}

func (o *lockedOptimizer) BestScore() float64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.opt.BestScore()
}

func (o *lockedOptimizer) Ban(s knobs.Setting, until time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.opt.Ban(s, until)
}
