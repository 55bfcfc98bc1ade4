package rollback

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kafkatune/kafkatune/internal/rollback/rollbacktest"
	"github.com/kafkatune/kafkatune/internal/telemetry"
	"github.com/kafkatune/kafkatune/internal/tuner"
)

func TestTunerRecorder(t *testing.T) {
	dir := t.TempDir()
	ledger, err := tuner.OpenLedger(dir)
	if err != nil {
		t.Fatalf("open ledger: %v", err)
	}
	defer ledger.Close()
	reg := prometheus.NewRegistry()
	tm, err := tuner.NewMetrics(reg)
	if err != nil {
		t.Fatalf("tuner metrics: %v", err)
	}

	k, err := New(Config{
		Actuator: rollbacktest.NewActuator(good),
		Recorder: TunerRecorder{Ledger: ledger, Metrics: tm, Run: "run1"},
		Now:      func() time.Time { return t0.Add(6 * time.Minute) },
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	k.Good(good, t0)
	k.Changed(bad, t0.Add(time.Minute))
	if out, err := k.OnRegression(t.Context(), regression(t0.Add(5*time.Minute))); err != nil ||
		out.Action != ActionRolledBack {
		t.Fatalf("OnRegression = %+v, %v", out, err)
	}

	recs, err := tuner.ReadLedger(ledger.Path())
	if err != nil {
		t.Fatalf("read ledger: %v", err)
	}
	if len(recs) != 1 {
		t.Fatalf("ledger has %d records, want 1", len(recs))
	}
	r := recs[0]
	if r.Run != "run1" || r.Decision != DecisionRollback || r.Best != good.String() ||
		r.HeapMB != bad.HeapMB || r.NetworkThreads != bad.NetworkThreads ||
		r.IOThreads != bad.IOThreads || r.Kept || r.Trial != 0 {
		t.Errorf("ledger record %+v", r)
	}
	for _, want := range []string{
		"regression", telemetry.AlertP99LatencyRegression, "4m0s after", "banned until",
	} {
		if !strings.Contains(r.Reason, want) {
			t.Errorf("ledger reason %q lacks %q", r.Reason, want)
		}
	}
	if got := gathered(t, reg, telemetry.TunerRollbacks); got != 1 {
		t.Errorf("%s = %v, want 1", telemetry.TunerRollbacks, got)
	}
}

// gathered returns the value of the single counter series name in reg.
func gathered(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatalf("no single series %s", name)
	return 0
}

func TestTunerRecorderWithoutLedger(t *testing.T) {
	if err := (TunerRecorder{}).RecordRollback(Rollback{Reason: ReasonNotReady}); err != nil {
		t.Errorf("RecordRollback without ledger or metrics: %v", err)
	}
}
