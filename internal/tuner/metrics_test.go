package tuner

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/kafkatune/kafkatune/internal/knobs"
	"github.com/kafkatune/kafkatune/internal/telemetry"
)

func TestMetrics(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	m.SetCurrent(knobs.Start(), time.Unix(100, 0))
	m.SetCurrent(knobs.Setting{HeapMB: 1024, NetworkThreads: 4, IOThreads: 6}, time.Unix(200, 0))
	m.SetCurrent(knobs.Setting{HeapMB: 1024, NetworkThreads: 4, IOThreads: 6}, time.Unix(300, 0))
	ok := Measurement{ThroughputMsgs: 20000, P99Ms: 45, Verified: true}
	m.ObserveTrial(ok, Outcome{Score: 20000, Kept: true}, 20000)
	m.ObserveTrial(ok, Outcome{Score: 19000}, 20000)
	m.ObserveTrial(Measurement{Err: errors.New("x")}, Outcome{}, 20000)
	m.Rollback()

	want := `
# HELP kafkatune_tuner_current_setting_info The broker setting the tuner applied last; always 1.
# TYPE kafkatune_tuner_current_setting_info gauge
kafkatune_tuner_current_setting_info{heap_mb="1024",io_threads="6",network_threads="4"} 1
# HELP kafkatune_tuner_last_change_timestamp_seconds Unix time the tuner last changed the broker setting.
# TYPE kafkatune_tuner_last_change_timestamp_seconds gauge
kafkatune_tuner_last_change_timestamp_seconds 200
# HELP kafkatune_tuner_trials_total Tuner trials, by result (kept, not_kept, failed).
# TYPE kafkatune_tuner_trials_total counter
kafkatune_tuner_trials_total{result="failed"} 1
kafkatune_tuner_trials_total{result="kept"} 1
kafkatune_tuner_trials_total{result="not_kept"} 1
# HELP kafkatune_tuner_trial_p99_latency_seconds Consumer end-to-end P99 latency measured by the latest valid trial, in seconds.
# TYPE kafkatune_tuner_trial_p99_latency_seconds gauge
kafkatune_tuner_trial_p99_latency_seconds 0.045
# HELP kafkatune_tuner_rollbacks_total Changes the tuner rolled back after a P99 regression.
# TYPE kafkatune_tuner_rollbacks_total counter
kafkatune_tuner_rollbacks_total 1
`
	names := []string{telemetry.TunerCurrentSetting, telemetry.TunerLastChange, telemetry.TunerTrials,
		telemetry.TunerTrialP99, telemetry.TunerRollbacks}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), names...); err != nil {
		t.Error(err)
	}
	if got := testutil.ToFloat64(m.bestScore); got != 20000 {
		t.Errorf("best score = %v, want 20000", got)
	}
	if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
		t.Errorf("metric lint: %v %v", problems, err)
	}
	if _, err := NewMetrics(reg); err == nil {
		t.Error("second registration succeeded, want error")
	}
}
