package rollback

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"

	"github.com/kafkatune/kafkatune/internal/knobs"
	"github.com/kafkatune/kafkatune/internal/rollback/rollbacktest"
	"github.com/kafkatune/kafkatune/internal/telemetry"
	"github.com/kafkatune/kafkatune/internal/testlog"
	"github.com/kafkatune/kafkatune/internal/tuner"
)

// *tuner.Search is the Banner the agent passes.
var _ Banner = (*tuner.Search)(nil)

var (
	t0   = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	good = knobs.Setting{HeapMB: 512, NetworkThreads: 2, IOThreads: 4}
	bad  = knobs.Setting{HeapMB: 256, NetworkThreads: 1, IOThreads: 1}
)

// clock is a settable clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// bans records Ban calls.
type bans struct {
	mu    sync.Mutex
	until map[knobs.Setting]time.Time
}

func (b *bans) Ban(s knobs.Setting, until time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.until == nil {
		b.until = map[knobs.Setting]time.Time{}
	}
	b.until[s] = until
}

func (b *bans) get(s knobs.Setting) (time.Time, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	u, ok := b.until[s]
	return u, ok
}

// fixture is a Keeper with stand-ins for its collaborators.
type fixture struct {
	k       *Keeper
	act     *rollbacktest.Actuator
	clock   *clock
	bans    *bans
	reg     *prometheus.Registry
	mu      sync.Mutex
	records []Rollback
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{
		act:   rollbacktest.NewActuator(good),
		clock: &clock{now: t0},
		bans:  &bans{},
		reg:   prometheus.NewRegistry(),
	}
	k, err := New(Config{
		Actuator: f.act,
		Banner:   f.bans,
		Recorder: RecorderFunc(func(r Rollback) error {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.records = append(f.records, r)
			return nil
		}),
		Registerer: f.reg,
		Logger:     testlog.New(t),
		Now:        f.clock.Now,
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	f.k = k
	return f
}

func (f *fixture) recorded() []Rollback {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Rollback(nil), f.records...)
}

func (f *fixture) rollbacks(r Reason) float64 {
	return testutil.ToFloat64(f.k.m.rollbacks.WithLabelValues(string(r)))
}

func regression(startsAt time.Time) Alert {
	return Alert{Name: telemetry.AlertP99LatencyRegression, Fingerprint: "abc123", StartsAt: startsAt}
}

func TestOnRegressionDecides(t *testing.T) {
	changeAt := t0.Add(time.Minute)
	tests := []struct {
		name    string
		setup   func(k *Keeper)
		alert   Alert
		want    Action
		wantWhy string
	}{{
		name: "regression within the window after a change",
		setup: func(k *Keeper) {
			k.Good(good, t0)
			k.Changed(bad, changeAt)
		},
		alert: regression(changeAt.Add(4 * time.Minute)),
		want:  ActionRolledBack,
	}, {
		name: "at the window's end",
		setup: func(k *Keeper) {
			k.Good(good, t0)
			k.Changed(bad, changeAt)
		},
		alert: regression(changeAt.Add(DefaultWindow)),
		want:  ActionRolledBack,
	}, {
		name: "after the window",
		setup: func(k *Keeper) {
			k.Good(good, t0)
			k.Changed(bad, changeAt)
		},
		alert:   regression(changeAt.Add(DefaultWindow + time.Second)),
		want:    ActionIgnored,
		wantWhy: WhyOutsideWindow,
	}, {
		name: "alert older than the change",
		setup: func(k *Keeper) {
			k.Good(good, t0)
			k.Changed(bad, changeAt)
		},
		alert:   regression(changeAt.Add(-time.Second)),
		want:    ActionIgnored,
		wantWhy: WhyBeforeChange,
	}, {
		name:    "no change at all",
		setup:   func(k *Keeper) { k.Good(good, t0) },
		alert:   regression(changeAt),
		want:    ActionIgnored,
		wantWhy: WhyNoChange,
	}, {
		name:    "nothing verified as good",
		setup:   func(k *Keeper) { k.Changed(bad, changeAt) },
		alert:   regression(changeAt.Add(time.Minute)),
		want:    ActionIgnored,
		wantWhy: WhyNoGood,
	}, {
		name: "the change went to the good setting",
		setup: func(k *Keeper) {
			k.Good(good, t0)
			k.Changed(good, changeAt)
		},
		alert:   regression(changeAt.Add(time.Minute)),
		want:    ActionIgnored,
		wantWhy: WhyGoodSetting,
	}, {
		name: "the changed setting was verified afterwards",
		setup: func(k *Keeper) {
			k.Changed(bad, changeAt)
			k.Good(bad, changeAt.Add(2*time.Minute))
		},
		alert:   regression(changeAt.Add(3 * time.Minute)),
		want:    ActionIgnored,
		wantWhy: WhyGoodSetting,
	}, {
		name: "another alert",
		setup: func(k *Keeper) {
			k.Good(good, t0)
			k.Changed(bad, changeAt)
		},
		alert: Alert{Name: telemetry.AlertP99AboveTarget, Fingerprint: "x",
			StartsAt: changeAt.Add(time.Minute)},
		want:    ActionIgnored,
		wantWhy: WhyOtherAlert,
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			tc.setup(f.k)
			f.clock.Set(tc.alert.StartsAt.Add(30 * time.Second))
			out, err := f.k.OnRegression(t.Context(), tc.alert)
			if err != nil {
				t.Fatalf("OnRegression: %v", err)
			}
			if out.Action != tc.want || out.Why != tc.wantWhy {
				t.Fatalf("outcome %+v, want action %q why %q", out, tc.want, tc.wantWhy)
			}
			applied := f.act.Applied()
			if tc.want == ActionIgnored {
				if len(applied) != 0 || len(f.recorded()) != 0 || f.rollbacks(ReasonRegression) != 0 {
					t.Fatalf("ignored, yet applied %v, recorded %v", applied, f.recorded())
				}
				return
			}
			if len(applied) != 1 || applied[0] != good {
				t.Fatalf("applied %v, want [%v]", applied, good)
			}
			if out.From != bad || out.To != good {
				t.Errorf("outcome from %v to %v, want %v to %v", out.From, out.To, bad, good)
			}
		})
	}
}

func TestRollbackBansRecordsAndCounts(t *testing.T) {
	f := newFixture(t)
	f.k.Good(good, t0)
	changeAt := t0.Add(time.Minute)
	f.k.Changed(bad, changeAt)
	now := changeAt.Add(5 * time.Minute)
	f.clock.Set(now)

	alert := regression(changeAt.Add(4 * time.Minute))
	out, err := f.k.OnRegression(t.Context(), alert)
	if err != nil || out.Action != ActionRolledBack {
		t.Fatalf("OnRegression = %+v, %v; want a rollback", out, err)
	}
	wantUntil := now.Add(DefaultCooldown)
	if until, ok := f.bans.get(bad); !ok || !until.Equal(wantUntil) {
		t.Errorf("ban of %v: %v (banned %v), want until %v", bad, until, ok, wantUntil)
	}
	if _, ok := f.bans.get(good); ok {
		t.Error("the good setting was banned")
	}
	if !out.BannedUntil.Equal(wantUntil) {
		t.Errorf("outcome banned until %v, want %v", out.BannedUntil, wantUntil)
	}

	recs := f.recorded()
	if len(recs) != 1 {
		t.Fatalf("recorded %d rollbacks, want 1", len(recs))
	}
	r := recs[0]
	if r.Reason != ReasonRegression || r.Bad != bad || r.Good != good ||
		!r.ChangedAt.Equal(changeAt) || !r.At.Equal(now) || r.Alert == nil ||
		r.Alert.Fingerprint != alert.Fingerprint {
		t.Errorf("recorded %+v", r)
	}
	if got := f.rollbacks(ReasonRegression); got != 1 {
		t.Errorf("rollbacks{reason=regression} = %v, want 1", got)
	}
	if got := testutil.ToFloat64(f.k.m.last); got != float64(now.Unix()) {
		t.Errorf("last rollback timestamp %v, want %v", got, now.Unix())
	}
	if cur, _ := f.act.Current(t.Context()); cur != good {
		t.Errorf("broker runs %v, want %v", cur, good)
	}
}

func TestDuplicateNotificationRollsBackOnce(t *testing.T) {
	f := newFixture(t)
	f.k.Good(good, t0)
	f.k.Changed(bad, t0.Add(time.Minute))
	alert := regression(t0.Add(4 * time.Minute))
	f.clock.Set(t0.Add(5 * time.Minute))

	for i, want := range []Action{ActionRolledBack, ActionIgnored, ActionIgnored} {
		out, err := f.k.OnRegression(t.Context(), alert)
		if err != nil || out.Action != want {
			t.Fatalf("notification %d: %+v, %v; want %s", i+1, out, err, want)
		}
		if i > 0 && out.Why != WhyAlreadyRolled {
			t.Errorf("notification %d ignored because %q, want %q", i+1, out.Why, WhyAlreadyRolled)
		}
	}
	if n := len(f.act.Applied()); n != 1 {
		t.Errorf("applied %d times, want 1", n)
	}
	if got := f.rollbacks(ReasonRegression); got != 1 {
		t.Errorf("rollbacks = %v, want 1", got)
	}

	// A new change re-arms the keeper.
	worse := knobs.Setting{HeapMB: 256, NetworkThreads: 1, IOThreads: 2}
	f.k.Changed(worse, t0.Add(10*time.Minute))
	f.clock.Set(t0.Add(15 * time.Minute))
	out, err := f.k.OnRegression(t.Context(), regression(t0.Add(14*time.Minute)))
	if err != nil || out.Action != ActionRolledBack || out.From != worse {
		t.Fatalf("after a new change: %+v, %v; want a rollback from %v", out, err, worse)
	}
}

func TestConcurrentNotificationsRollBackOnce(t *testing.T) {
	f := newFixture(t)
	f.k.Good(good, t0)
	f.k.Changed(bad, t0.Add(time.Minute))
	f.clock.Set(t0.Add(5 * time.Minute))
	alert := regression(t0.Add(4 * time.Minute))

	entered, release := f.act.Hold()
	defer release()
	first := make(chan Outcome, 1)
	go func() {
		out, err := f.k.OnRegression(context.Background(), alert)
		if err != nil {
			t.Errorf("first OnRegression: %v", err)
		}
		first <- out
	}()
	<-entered // the first rollback is applying

	out, err := f.k.OnRegression(t.Context(), alert)
	if err != nil || out.Action != ActionIgnored || out.Why != WhyRollbackRunning {
		t.Fatalf("second notification during the rollback: %+v, %v", out, err)
	}
	out, err = f.k.OnFailure(t.Context(), ReasonNotReady, bad, errors.New("timeout"))
	if err != nil || out.Why != WhyRollbackRunning {
		t.Fatalf("failure during the rollback: %+v, %v", out, err)
	}
	release()
	if out := <-first; out.Action != ActionRolledBack {
		t.Fatalf("first notification: %+v, want a rollback", out)
	}
	if n := len(f.act.Applied()); n != 1 {
		t.Errorf("applied %d times, want 1", n)
	}
}

func TestFailedRollbackCanBeRetried(t *testing.T) {
	f := newFixture(t)
	f.k.Good(good, t0)
	f.k.Changed(bad, t0.Add(time.Minute))
	f.clock.Set(t0.Add(5 * time.Minute))
	alert := regression(t0.Add(4 * time.Minute))

	f.act.FailWith(errors.New("broker not ready"))
	out, err := f.k.OnRegression(t.Context(), alert)
	if err == nil || out.Action != ActionError || out.Why != WhyRollbackFailed {
		t.Fatalf("failing apply: %+v, %v; want an error", out, err)
	}
	if !strings.Contains(err.Error(), "broker not ready") {
		t.Errorf("error %q does not carry the cause", err)
	}
	if got := testutil.ToFloat64(f.k.m.errors.WithLabelValues(string(ReasonRegression))); got != 1 {
		t.Errorf("rollback errors = %v, want 1", got)
	}
	if len(f.recorded()) != 0 || f.rollbacks(ReasonRegression) != 0 {
		t.Error("a failed rollback was recorded as done")
	}
	if _, banned := f.bans.get(bad); banned {
		t.Error("banned before the rollback completed")
	}

	f.act.FailWith(nil)
	out, err = f.k.OnRegression(t.Context(), alert)
	if err != nil || out.Action != ActionRolledBack {
		t.Fatalf("retry: %+v, %v; want a rollback", out, err)
	}
}

func TestOnFailure(t *testing.T) {
	f := newFixture(t)
	f.k.Good(good, t0)
	f.clock.Set(t0.Add(time.Hour)) // far outside any window: failures do not care

	out, err := f.k.OnFailure(t.Context(), ReasonApplyFailed, bad, errors.New("mismatch"))
	if err != nil || out.Action != ActionRolledBack || out.From != bad || out.To != good {
		t.Fatalf("OnFailure = %+v, %v; want a rollback from %v to %v", out, err, bad, good)
	}
	if _, ok := f.bans.get(bad); !ok {
		t.Error("failed setting not banned")
	}
	recs := f.recorded()
	if len(recs) != 1 || recs[0].Cause != "mismatch" || recs[0].Reason != ReasonApplyFailed {
		t.Fatalf("recorded %+v", recs)
	}
	if got := f.rollbacks(ReasonApplyFailed); got != 1 {
		t.Errorf("rollbacks{reason=apply_failed} = %v, want 1", got)
	}

	// The regression alert for the same change afterwards: already done.
	out, err = f.k.OnRegression(t.Context(), regression(t0.Add(time.Hour)))
	if err != nil || out.Why != WhyAlreadyRolled {
		t.Fatalf("regression after the failure rollback: %+v, %v", out, err)
	}

	// Failing on the good setting itself: apply it again, ban nothing.
	f.bans = &bans{}
	f.k.cfg.Banner = f.bans
	out, err = f.k.OnFailure(t.Context(), ReasonNotReady, good, errors.New("not ready"))
	if err != nil || out.Action != ActionRolledBack || !out.BannedUntil.IsZero() {
		t.Fatalf("failure of the good setting: %+v, %v", out, err)
	}
	if _, ok := f.bans.get(good); ok {
		t.Error("the good setting was banned")
	}
	if applied := f.act.Applied(); len(applied) != 2 || applied[1] != good {
		t.Errorf("applied %v, want the good setting twice", applied)
	}

	if _, err := f.k.OnFailure(t.Context(), ReasonRegression, bad, nil); err == nil {
		t.Error("OnFailure accepted the regression reason")
	}
}

func TestOnFailureWithoutGood(t *testing.T) {
	f := newFixture(t)
	out, err := f.k.OnFailure(t.Context(), ReasonApplyFailed, bad, errors.New("x"))
	if err != nil || out.Action != ActionIgnored || out.Why != WhyNoGood {
		t.Fatalf("OnFailure = %+v, %v; want ignored for lack of a good setting", out, err)
	}
	if n := len(f.act.Applied()); n != 0 {
		t.Errorf("applied %d times", n)
	}
}

func TestApplyRecordsAndWaitsForRollback(t *testing.T) {
	f := newFixture(t)
	f.k.Good(good, t0)
	f.clock.Set(t0.Add(time.Minute))
	if err := f.k.Apply(t.Context(), bad); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	f.clock.Set(t0.Add(5 * time.Minute))

	entered, release := f.act.Hold()
	defer release()
	done := make(chan Outcome, 1)
	go func() {
		out, _ := f.k.OnRegression(context.Background(), regression(t0.Add(4*time.Minute)))
		done <- out
	}()
	<-entered

	// The agent's next change waits for the rollback; here it gives up.
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if err := f.k.Apply(ctx, bad); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Apply during a rollback: %v, want a deadline error", err)
	}
	release()
	if out := <-done; out.Action != ActionRolledBack || out.From != bad {
		t.Fatalf("rollback after Apply: %+v", out)
	}
	applied := f.act.Applied()
	if len(applied) != 2 || applied[0] != bad || applied[1] != good {
		t.Errorf("applied %v, want [%v %v]", applied, bad, good)
	}

	f.act.FailWith(errors.New("boom"))
	if err := f.k.Apply(t.Context(), bad); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("failing Apply: %v", err)
	}
}

func TestRegressionWaitsForChangeInProgress(t *testing.T) {
	f := newFixture(t)
	f.k.Good(good, t0)
	f.k.Changed(bad, t0.Add(time.Minute))
	f.clock.Set(t0.Add(5 * time.Minute))

	// The agent is changing the broker again when the alert for the
	// previous change arrives; once the change is done, the alert is
	// older than it.
	entered, release := f.act.Hold()
	applied := make(chan error, 1)
	next := knobs.Setting{HeapMB: 1024, NetworkThreads: 2, IOThreads: 4}
	go func() { applied <- f.k.Apply(context.Background(), next) }()
	<-entered

	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	out, err := f.k.OnRegression(ctx, regression(t0.Add(4*time.Minute)))
	cancel()
	if err == nil || out.Action != ActionError || out.Why != WhyWaitAborted {
		t.Fatalf("regression during a change with a short deadline: %+v, %v", out, err)
	}

	f.clock.Set(t0.Add(6 * time.Minute))
	done := make(chan Outcome, 1)
	go func() {
		out, _ := f.k.OnRegression(context.Background(), regression(t0.Add(4*time.Minute)))
		done <- out
	}()
	release()
	if err := <-applied; err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if out := <-done; out.Action != ActionIgnored || out.Why != WhyBeforeChange {
		t.Fatalf("regression after the change: %+v, want ignored (%s)", out, WhyBeforeChange)
	}
}

func TestConfig(t *testing.T) {
	if _, err := New(Config{}); err == nil {
		t.Error("New without an actuator succeeded")
	}
	act := rollbacktest.NewActuator(good)
	if _, err := New(Config{Actuator: act, Window: -time.Second}); err == nil {
		t.Error("negative window accepted")
	}
	if _, err := New(Config{Actuator: act, Cooldown: -time.Second}); err == nil {
		t.Error("negative cooldown accepted")
	}
	k, err := New(Config{Actuator: act, Window: time.Minute})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	k.Good(good, t0)
	k.Changed(bad, t0)
	k.cfg.Now = func() time.Time { return t0.Add(2 * time.Minute) }
	out, _ := k.OnRegression(t.Context(), regression(t0.Add(90*time.Second)))
	if out.Why != WhyOutsideWindow {
		t.Errorf("1-minute window, alert 90s after the change: %+v", out)
	}
	if s, ok := k.LastGood(); !ok || s != good {
		t.Errorf("LastGood = %v, %v", s, ok)
	}
}

func TestMetrics(t *testing.T) {
	f := newFixture(t)
	mfs, err := f.reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	problems, err := promlint.NewWithMetricFamilies(mfs).Lint()
	if err != nil {
		t.Fatalf("lint: %v", err)
	}
	for _, p := range problems {
		t.Errorf("metric %s: %s", p.Metric, p.Text)
	}
	want := map[string]int{
		MetricRollbacks:      len(Reasons()),
		MetricRollbackErrors: len(Reasons()),
		MetricLastRollback:   1,
	}
	for name, n := range want {
		if got := testutil.CollectAndCount(f.reg, name); got != n {
			t.Errorf("%s: %d series at start, want %d", name, got, n)
		}
		if !strings.HasPrefix(name, telemetry.Namespace+"_") {
			t.Errorf("%s lacks the %s_ prefix", name, telemetry.Namespace)
		}
	}
	if _, err := newMetrics(f.reg); err == nil {
		t.Error("registering twice succeeded")
	}
}
