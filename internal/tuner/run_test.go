package tuner

import (
	"context"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/kafkatune/kafkatune/internal/knobs"
	"github.com/kafkatune/kafkatune/internal/telemetry"
)

func TestRunWritesLedgerAndMetrics(t *testing.T) {
	dir := t.TempDir()
	ledger, err := OpenLedger(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ledger.Close()
	reg := prometheus.NewPedanticRegistry()
	metrics, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	search, err := NewSearch(testConfig(2))
	if err != nil {
		t.Fatal(err)
	}
	sf := NewSurface(knobs.DefaultLimits(), 50, 0.07, 2)
	var applied []knobs.Setting
	ev := EvaluatorFunc(func(ctx context.Context, s knobs.Setting) (Measurement, error) {
		applied = append(applied, s)
		return sf.Evaluate(ctx, s)
	})
	const budget = 12
	res, err := Run(context.Background(), search, ev, RunConfig{Budget: budget, Ledger: ledger, Metrics: metrics})
	if err != nil {
		t.Fatal(err)
	}

	recs, err := ReadLedger(filepath.Join(dir, LedgerFile))
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != res.Trials || res.Trials < budget || res.Trials > budget+1 {
		t.Fatalf("ledger has %d records, result %d trials; want %d or %d", len(recs), res.Trials, budget, budget+1)
	}
	last := recs[len(recs)-1]
	if applied[len(applied)-1] != res.Best || !last.Kept || last.Best != res.Best.String() {
		t.Errorf("run ended on %v (ledger %+v), want the best %v", applied[len(applied)-1], last, res.Best)
	}
	for i, r := range recs {
		if r.Trial != i+1 || !r.Verified || r.Run == "" || r.Decision == "" {
			t.Errorf("record %d malformed: %+v", i, r)
		}
	}
	if got := testutil.ToFloat64(metrics.trials.WithLabelValues(telemetry.TunerResultFailed)); got != 0 {
		t.Errorf("failed trials = %v, want 0", got)
	}
	total := 0.0
	for _, r := range []string{telemetry.TunerResultKept, telemetry.TunerResultNotKept} {
		total += testutil.ToFloat64(metrics.trials.WithLabelValues(r))
	}
	if int(total) != res.Trials {
		t.Errorf("trials metric = %v, want %d", total, res.Trials)
	}
	if n := testutil.CollectAndCount(metrics.setting); n != 1 {
		t.Errorf("setting info series = %d, want 1", n)
	}
	if got := testutil.ToFloat64(metrics.setting.WithLabelValues(
		strconv.Itoa(res.Best.HeapMB), strconv.Itoa(res.Best.NetworkThreads), strconv.Itoa(res.Best.IOThreads))); got != 1 {
		t.Errorf("info metric for the final setting = %v, want 1", got)
	}
}

func TestRunStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	search, err := NewSearch(testConfig(1))
	if err != nil {
		t.Fatal(err)
	}
	sf := NewSurface(knobs.DefaultLimits(), 50, 0.07, 1)
	n := 0
	ev := EvaluatorFunc(func(ctx context.Context, s knobs.Setting) (Measurement, error) {
		n++
		if n == 3 {
			cancel()
			return Measurement{}, ctx.Err()
		}
		return sf.Evaluate(ctx, s)
	})
	res, err := Run(ctx, search, ev, RunConfig{Budget: 10})
	if err == nil || res.Stopped != StopCancelled || res.Trials != 2 {
		t.Errorf("Run = %+v, %v; want cancelled after 2 recorded trials", res, err)
	}
}

func TestRunRecordsFailures(t *testing.T) {
	search, err := NewRandomSearch(testConfig(1))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ledger, err := OpenLedger(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ledger.Close()
	ev := EvaluatorFunc(func(ctx context.Context, s knobs.Setting) (Measurement, error) {
		if s != knobs.Start() {
			return Measurement{}, context.DeadlineExceeded
		}
		return Measurement{ThroughputMsgs: 100, P99Ms: 10, Verified: true}, nil
	})
	res, err := Run(context.Background(), search, ev,
		RunConfig{Budget: 3, Ledger: ledger, Now: func() time.Time { return time.Unix(0, 0) }})
	if err != nil {
		t.Fatal(err)
	}
	recs, _ := ReadLedger(ledger.Path())
	// Three search trials, then the final one back on the start.
	if res.Best != knobs.Start() || len(recs) != 4 || !recs[3].Kept || recs[3].HeapMB != knobs.Start().HeapMB {
		t.Fatalf("Run = %+v with records %+v; want the start kept and restored in a 4th trial", res, recs)
	}
	if r := recs[1]; r.Error == "" || r.Kept || r.Decision != string(DecisionFailed) {
		t.Errorf("failed trial recorded as %+v", r)
	}
	if _, err := Run(context.Background(), search, ev, RunConfig{}); err == nil {
		t.Error("Run with a zero budget succeeded, want error")
	}
}
