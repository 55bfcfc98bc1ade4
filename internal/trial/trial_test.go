package trial_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"

	"github.com/kafkatune/kafkatune/internal/actuator"
	"github.com/kafkatune/kafkatune/internal/knobs"
	"github.com/kafkatune/kafkatune/internal/testlog"
	"github.com/kafkatune/kafkatune/internal/trial"
)

// standIn implements actuator.Actuator for the tests: Apply records the
// setting (or fails with applyErr), Current returns it, or drift once set
// (a broker that changed during the window).
type standIn struct {
	mu       sync.Mutex
	cur      knobs.Setting
	applyErr error
	drift    *knobs.Setting
	applies  int
}

var _ actuator.Actuator = (*standIn)(nil)

func (a *standIn) Apply(_ context.Context, s knobs.Setting) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.applies++
	if a.applyErr != nil {
		return a.applyErr
	}
	a.cur = s
	return nil
}

func (a *standIn) Current(context.Context) (knobs.Setting, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.drift != nil {
		return *a.drift, nil
	}
	return a.cur, nil
}

var tuned = knobs.Setting{HeapMB: 512, NetworkThreads: 3, IOThreads: 8}

func newEvaluator(t *testing.T, act actuator.Actuator, prom promv1.API, warmup, window time.Duration) *trial.Evaluator {
	t.Helper()
	e, err := trial.New(trial.Config{Warmup: warmup, Window: window, QueryTimeout: 5 * time.Second},
		act, prom, testlog.New(t))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return e
}

// TestEvaluateRealPrometheus measures windows of a real Prometheus that
// scrapes a feeder: before any series exist, with steady traffic, with a
// setting that drifts during the window, and after the traffic stops.
func TestEvaluateRealPrometheus(t *testing.T) {
	f := startFeeder(t)
	prom := startPrometheus(t, f.addr)
	ctx := context.Background()

	t.Run("no series", func(t *testing.T) {
		m, err := newEvaluator(t, &standIn{}, prom, time.Second, 2*time.Second).Evaluate(ctx, tuned)
		if err != nil {
			t.Fatalf("Evaluate: %v", err)
		}
		if !errors.Is(m.Err, trial.ErrNoData) || !strings.Contains(m.Err.Error(), "no series") {
			t.Errorf("Err = %v, want no data: no series", m.Err)
		}
		if !m.Verified {
			t.Errorf("Verified = false, want true (the setting read back)")
		}
	})

	f.running.Store(true)
	t.Run("steady traffic", func(t *testing.T) {
		m, err := newEvaluator(t, &standIn{}, prom, 2*time.Second, 5*time.Second).Evaluate(ctx, tuned)
		if err != nil || m.Err != nil {
			t.Fatalf("Evaluate = %+v, %v; want a measurement", m, err)
		}
		t.Logf("throughput %.1f msg/s, p99 %.2f ms, %d samples", m.ThroughputMsgs, m.P99Ms, m.Samples)
		if !m.Verified || !m.Valid() {
			t.Errorf("Verified %v, Problem %v: want a valid, verified measurement", m.Verified, m.Problem())
		}
		if m.ThroughputMsgs < 0.9*feedRate || m.ThroughputMsgs > 1.1*feedRate {
			t.Errorf("throughput = %.1f msg/s, want about %d", m.ThroughputMsgs, feedRate)
		}
		// Latencies spread evenly over 10-19.9 ms: the true P99 is about
		// 19.8 ms and the bucket layout keeps the estimate within 5%.
		if m.P99Ms < 18.8 || m.P99Ms > 20.8 {
			t.Errorf("p99 = %.2f ms, want about 19.8", m.P99Ms)
		}
		// A 5 s window scraped every second holds about 5 points.
		if m.Samples < 3 || m.Samples > 7 {
			t.Errorf("samples = %d, want about 5", m.Samples)
		}
	})

	t.Run("setting drifts", func(t *testing.T) {
		other := knobs.Start()
		act := &standIn{drift: &other}
		m, err := newEvaluator(t, act, prom, time.Second, 2*time.Second).Evaluate(ctx, tuned)
		if err != nil {
			t.Fatalf("Evaluate: %v", err)
		}
		var mismatch *actuator.MismatchError
		if m.Verified || !errors.As(m.Err, &mismatch) || mismatch.Got != other {
			t.Errorf("Verified %v, Err %v: want unverified with a mismatch against %s", m.Verified, m.Err, other)
		}
		if m.ThroughputMsgs <= 0 {
			t.Errorf("throughput = %v, want the window still measured", m.ThroughputMsgs)
		}
	})

	f.running.Store(false)
	t.Run("traffic stopped", func(t *testing.T) {
		m, err := newEvaluator(t, &standIn{}, prom, 2*time.Second, 3*time.Second).Evaluate(ctx, tuned)
		if err != nil {
			t.Fatalf("Evaluate: %v", err)
		}
		if !errors.Is(m.Err, trial.ErrNoData) || !strings.Contains(m.Err.Error(), "NaN") ||
			!strings.Contains(m.Err.Error(), "p99_latency_seconds") {
			t.Errorf("Err = %v, want no data: NaN on the P99", m.Err)
		}
		if m.Valid() {
			t.Errorf("a window without traffic is valid: %+v", m)
		}
	})
}

// unreachableAPI is a Prometheus API client for tests that must not query.
func unreachableAPI(t *testing.T) promv1.API {
	t.Helper()
	c, err := api.NewClient(api.Config{Address: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	return promv1.NewAPI(c)
}

func TestEvaluateApplyFails(t *testing.T) {
	refused := errors.New("num.io.threads 40 is outside the allowed range")
	act := &standIn{applyErr: refused}
	e := newEvaluator(t, act, unreachableAPI(t), time.Hour, time.Hour)
	m, err := e.Evaluate(context.Background(), tuned)
	if err != nil {
		t.Fatalf("Evaluate returned %v, want the failure in the measurement", err)
	}
	if !errors.Is(m.Err, refused) || m.Verified || m.Valid() {
		t.Errorf("measurement %+v, want Err wrapping the apply error and Verified false", m)
	}
}

func TestEvaluateCancelled(t *testing.T) {
	e := newEvaluator(t, &standIn{}, unreachableAPI(t), time.Hour, time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	m, err := e.Evaluate(ctx, tuned)
	if !errors.Is(err, context.Canceled) || m.Valid() {
		t.Fatalf("Evaluate after cancel = %+v, %v; want context.Canceled", m, err)
	}
}

func TestConfig(t *testing.T) {
	tests := []struct {
		cfg  trial.Config
		want string
	}{
		{trial.Config{}, ""},
		{trial.DefaultConfig(), ""},
		{trial.Config{Window: 1500 * time.Millisecond}, "window 1.5s"},
		{trial.Config{Window: 500 * time.Millisecond}, "window 500ms"},
		{trial.Config{Warmup: -time.Second}, "warm-up -1s"},
		{trial.Config{QueryTimeout: -time.Second}, "query timeout -1s"},
	}
	for _, tt := range tests {
		err := tt.cfg.Validate()
		if (tt.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("Validate(%+v) = %v, want %q", tt.cfg, err, tt.want)
		}
	}
	if _, err := trial.New(trial.Config{}, nil, unreachableAPI(t), testlog.New(t)); err == nil {
		t.Error("New without an actuator succeeded")
	}
}
