// Package rollback puts the broker back on the last setting the agent
// verified as good when a change the agent made goes wrong: a P99
// regression alert that starts shortly after the change (issue 4), or the
// agent's own apply failing or the broker not coming back (issue 7).
//
// The agent tells a Keeper about every change it makes (Changed) and every
// setting it verified as good (Good). The Alertmanager webhook calls
// OnRegression; the agent calls OnFailure. A rollback applies the last
// good setting through the actuator, bans the bad setting for a cooldown,
// and hands a Rollback to a Recorder (the tuner's ledger and metrics, see
// TunerRecorder). Rollbacks are serialized: a duplicate notification, or
// one that arrives while a rollback runs, changes nothing.
package rollback

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kafkatune/kafkatune/internal/actuator"
	"github.com/kafkatune/kafkatune/internal/knobs"
	"github.com/kafkatune/kafkatune/internal/telemetry"
)

// Defaults of Config.
const (
	// DefaultWindow: a regression alert counts against a change when it
	// starts at most this long after it. The regression rule needs about
	// 4 to 5 minutes after a change to fire (a 1-minute window, "for: 3m",
	// the evaluation interval), so 10 minutes leaves room without blaming
	// a change for what happens much later.
	DefaultWindow = 10 * time.Minute
	// DefaultCooldown is how long a rolled-back setting stays banned.
	DefaultCooldown = time.Hour
)

// Reason says why a rollback ran. The values are the reason label of the
// rollback metrics, so they are few and fixed.
type Reason string

// Reasons for a rollback.
const (
	// ReasonRegression: the P99 regression alert fired shortly after a
	// change.
	ReasonRegression Reason = "regression"
	// ReasonApplyFailed: the agent's apply of a setting failed.
	ReasonApplyFailed Reason = "apply_failed"
	// ReasonNotReady: the broker was not ready again within the agent's
	// deadline after a change.
	ReasonNotReady Reason = "not_ready"
)

// Reasons returns every Reason.
func Reasons() []Reason {
	return []Reason{ReasonRegression, ReasonApplyFailed, ReasonNotReady}
}

// Action is what a Keeper did about a notification or a failure. The
// values are the result label of the webhook's notification metric.
type Action string

// Actions.
const (
	// ActionRolledBack: the broker now runs the last good setting.
	ActionRolledBack Action = "rolled_back"
	// ActionIgnored: nothing to do (Outcome.Why says why).
	ActionIgnored Action = "ignored"
	// ActionError: a rollback was due but did not complete.
	ActionError Action = "error"
)

// Values of Outcome.Why: why a Keeper did nothing, or what failed.
const (
	WhyOtherAlert      = "not the regression alert"
	WhyNoGood          = "no setting verified as good yet"
	WhyNoChange        = "no setting change recorded"
	WhyAlreadyRolled   = "the last change is already rolled back"
	WhyBeforeChange    = "the alert started before the last change"
	WhyOutsideWindow   = "the alert started after the rollback window"
	WhyGoodSetting     = "the broker runs the last good setting"
	WhyRollbackRunning = "a rollback is already running"
	WhyUnknownReason   = "unknown rollback reason"
	WhyRollbackFailed  = "applying the last good setting failed"
	WhyWaitAborted     = "gave up waiting for a change in progress"
)

// Alert is the part of an Alertmanager alert a Keeper looks at.
type Alert struct {
	// Name is the alertname label.
	Name string
	// Fingerprint identifies the alert's label set (for logs).
	Fingerprint string
	// StartsAt is when the alert started firing.
	StartsAt time.Time
}

// Banner keeps a setting out of the search until a time. *tuner.Search
// satisfies it, but it is not safe for concurrent use and the Keeper calls
// Ban from the webhook's goroutine: the agent must serialize the calls
// with its own use of the search.
type Banner interface {
	Ban(s knobs.Setting, until time.Time)
}

// Rollback describes one completed rollback.
type Rollback struct {
	Reason Reason
	// Bad is the setting rolled back; Good the one the broker runs now.
	Bad, Good knobs.Setting
	// ChangedAt is when the agent changed to Bad; At when the rollback
	// completed.
	ChangedAt, At time.Time
	// BannedUntil is when Bad may be tried again (zero when it was not
	// banned, because Bad was the good setting itself).
	BannedUntil time.Time
	// Alert is the regression alert (ReasonRegression only).
	Alert *Alert
	// Cause is the failure that led to the rollback (failures only).
	Cause string
}

// Recorder records completed rollbacks, for example in the tuner's ledger
// and metrics (TunerRecorder).
type Recorder interface {
	RecordRollback(Rollback) error
}

// RecorderFunc adapts a function to Recorder.
type RecorderFunc func(Rollback) error

// RecordRollback calls f.
func (f RecorderFunc) RecordRollback(r Rollback) error { return f(r) }

// Outcome is what a Keeper did.
type Outcome struct {
	Action Action
	// Reason is the rollback's reason (set unless the alert was ignored
	// for not being the regression alert).
	Reason Reason
	// Why says why nothing was done, or what failed.
	Why string
	// From and To are the bad and the good setting (when a rollback was
	// due).
	From, To    knobs.Setting
	BannedUntil time.Time
}

// Config configures a Keeper. Actuator is required; zero values of the
// other fields take defaults.
type Config struct {
	// Actuator applies the last good setting.
	Actuator actuator.Actuator
	// Banner bans rolled-back settings (optional).
	Banner Banner
	// Recorder records rollbacks (optional).
	Recorder Recorder
	// Window is how long after a change a regression alert counts against
	// it (DefaultWindow).
	Window time.Duration
	// Cooldown is how long a rolled-back setting is banned
	// (DefaultCooldown).
	Cooldown time.Duration
	// Registerer receives the Keeper's metrics (optional).
	Registerer prometheus.Registerer
	// Logger (optional) gets a line per decision.
	Logger *slog.Logger
	// Now is the clock (time.Now).
	Now func() time.Time
}

// Validate reports whether c can make a Keeper.
func (c Config) Validate() error {
	if c.Actuator == nil {
		return errors.New("rollback: an actuator is required")
	}
	if c.Window < 0 {
		return fmt.Errorf("rollback window %s: must not be negative", c.Window)
	}
	if c.Cooldown < 0 {
		return fmt.Errorf("rollback cooldown %s: must not be negative", c.Cooldown)
	}
	return nil
}

func (c Config) withDefaults() Config {
	if c.Window == 0 {
		c.Window = DefaultWindow
	}
	if c.Cooldown == 0 {
		c.Cooldown = DefaultCooldown
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// change is a setting and when the agent changed to it.
type change struct {
	s          knobs.Setting
	at         time.Time
	rolledBack bool
}

// Keeper remembers the agent's last change and last good setting and rolls
// back to the latter. It is safe for concurrent use.
type Keeper struct {
	cfg Config
	m   *metrics

	// broker is held while the broker is being changed (Apply or a
	// rollback); a channel so that waiting for it honours a context.
	broker chan struct{}

	mu      sync.Mutex
	running bool    // a rollback is running or waiting for broker
	last    *change // the agent's last change
	good    *change // the last setting verified as good
}

// New returns a Keeper configured by cfg.
func New(cfg Config) (*Keeper, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	return &Keeper{
		cfg:    cfg.withDefaults(),
		m:      m,
		broker: make(chan struct{}, 1),
	}, nil
}

// Changed records that the agent changed the broker to s at the given
// time.
func (k *Keeper) Changed(s knobs.Setting, at time.Time) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.last = &change{s: s, at: at}
}

// Good records that the agent verified s as good at the given time.
func (k *Keeper) Good(s knobs.Setting, at time.Time) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.good = &change{s: s, at: at}
}

// LastGood returns the last setting verified as good, if any.
func (k *Keeper) LastGood() (knobs.Setting, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.good == nil {
		return knobs.Setting{}, false
	}
	return k.good.s, true
}

// Apply changes the broker to s through the actuator and, once it is in
// effect, records the change as Changed does. It waits while a rollback
// runs, so that the agent's own changes and rollbacks never overlap. When
// Apply fails the broker's state is unknown: call OnFailure with s.
func (k *Keeper) Apply(ctx context.Context, s knobs.Setting) error {
	if err := k.acquire(ctx); err != nil {
		return fmt.Errorf("wait for a rollback to finish: %w", err)
	}
	defer k.release()
	if err := k.cfg.Actuator.Apply(ctx, s); err != nil {
		return fmt.Errorf("apply %s: %w", s, err)
	}
	k.Changed(s, k.cfg.Now())
	return nil
}

// OnRegression handles a firing P99 regression alert. It rolls back to the
// last good setting when the alert started within the window after the
// agent's last change, that change is not rolled back yet, and the changed
// setting is not the last good one. Otherwise, or when another rollback is
// running, it does nothing and says why. The error is non-nil only when a
// due rollback failed (Action is then ActionError).
func (k *Keeper) OnRegression(ctx context.Context, a Alert) (Outcome, error) {
	if a.Name != telemetry.AlertP99LatencyRegression {
		return Outcome{Action: ActionIgnored, Why: WhyOtherAlert}, nil
	}
	return k.run(ctx, request{reason: ReasonRegression, alert: &a})
}

// OnFailure rolls back to the last good setting after the agent's change
// to attempted failed (ReasonApplyFailed) or left the broker not ready in
// time (ReasonNotReady); cause is logged and recorded. attempted is banned
// for the cooldown unless it is the last good setting, which is then
// applied again. The error is non-nil only when the rollback failed.
func (k *Keeper) OnFailure(ctx context.Context, reason Reason, attempted knobs.Setting,
	cause error,
) (Outcome, error) {
	if reason != ReasonApplyFailed && reason != ReasonNotReady {
		return Outcome{Action: ActionIgnored, Reason: reason, Why: WhyUnknownReason},
			fmt.Errorf("rollback reason %q: want %s or %s", reason, ReasonApplyFailed, ReasonNotReady)
	}
	causeText := ""
	if cause != nil {
		causeText = cause.Error()
	}
	return k.run(ctx, request{reason: reason, attempted: attempted, cause: causeText})
}

// request is one call of OnRegression or OnFailure.
type request struct {
	reason    Reason
	alert     *Alert        // ReasonRegression
	attempted knobs.Setting // failures
	cause     string        // failures
}

// plan is a rollback that is due.
type plan struct {
	bad, good knobs.Setting
	changedAt time.Time
}

// run serializes rollbacks: one runs at a time, and a request that comes
// while one runs is ignored, not queued.
func (k *Keeper) run(ctx context.Context, req request) (Outcome, error) {
	log := k.cfg.Logger.With("reason", string(req.reason))
	if req.alert != nil {
		log = log.With("alertname", req.alert.Name, "fingerprint", req.alert.Fingerprint,
			"starts_at", req.alert.StartsAt)
	}
	k.mu.Lock()
	if k.running {
		k.mu.Unlock()
		log.Info("rollback not started", "why", WhyRollbackRunning)
		return Outcome{Action: ActionIgnored, Reason: req.reason, Why: WhyRollbackRunning}, nil
	}
	k.running = true
	k.mu.Unlock()
	defer func() {
		k.mu.Lock()
		k.running = false
		k.mu.Unlock()
	}()

	// A change the agent is making finishes first; the plan then sees it.
	if err := k.acquire(ctx); err != nil {
		k.m.errors.WithLabelValues(string(req.reason)).Inc()
		log.Error("rollback not started", "why", WhyWaitAborted, "err", err)
		return Outcome{Action: ActionError, Reason: req.reason, Why: WhyWaitAborted},
			fmt.Errorf("wait for the change in progress: %w", err)
	}
	defer k.release()

	p, why := k.plan(req)
	if why != "" {
		log.Info("rollback not needed", "why", why)
		return Outcome{Action: ActionIgnored, Reason: req.reason, Why: why}, nil
	}
	return k.rollBack(ctx, log, req, p)
}

// plan decides whether req calls for a rollback, and from what to what.
// It returns a reason when it does not.
func (k *Keeper) plan(req request) (plan, string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.good == nil {
		return plan{}, WhyNoGood
	}
	if req.alert == nil {
		// A failed change: whatever the broker runs now, go back.
		at := k.cfg.Now()
		if k.last != nil && k.last.s == req.attempted && !k.last.rolledBack {
			at = k.last.at
		}
		k.last = &change{s: req.attempted, at: at}
		return plan{bad: req.attempted, good: k.good.s, changedAt: at}, ""
	}

	switch starts := req.alert.StartsAt; {
	case k.last == nil:
		return plan{}, WhyNoChange
	case k.last.rolledBack:
		return plan{}, WhyAlreadyRolled
	case starts.Before(k.last.at):
		return plan{}, WhyBeforeChange
	case starts.After(k.last.at.Add(k.cfg.Window)):
		return plan{}, WhyOutsideWindow
	case k.last.s == k.good.s:
		return plan{}, WhyGoodSetting
	}
	return plan{bad: k.last.s, good: k.good.s, changedAt: k.last.at}, ""
}

// rollBack applies p.good, then bans p.bad and records the rollback.
func (k *Keeper) rollBack(ctx context.Context, log *slog.Logger, req request, p plan) (Outcome, error) {
	out := Outcome{Reason: req.reason, From: p.bad, To: p.good}
	log = log.With("bad", p.bad.String(), "good", p.good.String())
	if req.cause != "" {
		log = log.With("cause", req.cause)
	}
	log.Warn("rolling back")

	if err := k.cfg.Actuator.Apply(ctx, p.good); err != nil {
		k.m.errors.WithLabelValues(string(req.reason)).Inc()
		log.Error("rollback failed", "err", err)
		out.Action, out.Why = ActionError, WhyRollbackFailed
		return out, fmt.Errorf("roll back to %s: %w", p.good, err)
	}
	now := k.cfg.Now()
	k.mu.Lock()
	if k.last != nil && k.last.s == p.bad {
		k.last.rolledBack = true
	}
	k.mu.Unlock()

	rb := Rollback{Reason: req.reason, Bad: p.bad, Good: p.good, ChangedAt: p.changedAt,
		At: now, Alert: req.alert, Cause: req.cause}
	if p.bad != p.good {
		rb.BannedUntil = now.Add(k.cfg.Cooldown)
		if k.cfg.Banner != nil {
			k.cfg.Banner.Ban(p.bad, rb.BannedUntil)
		}
	}
	k.m.rollbacks.WithLabelValues(string(req.reason)).Inc()
	k.m.last.Set(float64(now.UnixNano()) / 1e9)
	if k.cfg.Recorder != nil {
		if err := k.cfg.Recorder.RecordRollback(rb); err != nil {
			// The broker is back on the good setting; only the record is
			// missing, so this is not the rollback's failure.
			log.Error("rollback not recorded", "err", err)
		}
	}
	log.Warn("rolled back", "banned_until", rb.BannedUntil)
	out.Action, out.BannedUntil = ActionRolledBack, rb.BannedUntil
	return out, nil
}

func (k *Keeper) acquire(ctx context.Context) error {
	select {
	case k.broker <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (k *Keeper) release() { <-k.broker }
