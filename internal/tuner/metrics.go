package tuner

import (
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kafkatune/kafkatune/internal/knobs"
	"github.com/kafkatune/kafkatune/internal/telemetry"
)

// Metrics are the tuner's metrics (see telemetry.Tuner*), updated by Run
// or by a driver of its own. Every series exists from the start.
type Metrics struct {
	trials     *prometheus.CounterVec
	bestScore  prometheus.Gauge
	setting    *prometheus.GaugeVec
	lastChange prometheus.Gauge
	throughput prometheus.Gauge
	p99        prometheus.Gauge
	score      prometheus.Gauge
	rollbacks  prometheus.Counter

	mu      sync.Mutex
	current *knobs.Setting
}

// NewMetrics creates the tuner's metrics and registers them on reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	gauge := func(name, help string) prometheus.Gauge {
		return prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help})
	}
	m := &Metrics{
		trials: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: telemetry.TunerTrials,
			Help: "Tuner trials, by result (kept, not_kept, failed).",
		}, []string{telemetry.LabelResult}),
		bestScore: gauge(telemetry.TunerBestScore,
			"Mean measured score of the incumbent setting (msg/s, penalized over the P99 target)."),
		setting: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: telemetry.TunerCurrentSetting,
			Help: "The broker setting the tuner applied last; always 1.",
		}, []string{telemetry.LabelHeapMB, telemetry.LabelNetworkThreads, telemetry.LabelIOThreads}),
		lastChange: gauge(telemetry.TunerLastChange,
			"Unix time the tuner last changed the broker setting."),
		throughput: gauge(telemetry.TunerTrialThroughput,
			"Producer throughput measured by the latest valid trial, in messages per second."),
		p99: gauge(telemetry.TunerTrialP99,
			"Consumer end-to-end P99 latency measured by the latest valid trial, in seconds."),
		score: gauge(telemetry.TunerTrialScore, "Score of the latest trial."),
		rollbacks: prometheus.NewCounter(prometheus.CounterOpts{
			Name: telemetry.TunerRollbacks,
			Help: "Changes the tuner rolled back after a P99 regression.",
		}),
	}
	for _, r := range []string{telemetry.TunerResultKept, telemetry.TunerResultNotKept, telemetry.TunerResultFailed} {
		m.trials.WithLabelValues(r)
	}
	for _, c := range []prometheus.Collector{
		m.trials, m.bestScore, m.setting, m.lastChange, m.throughput, m.p99, m.score, m.rollbacks,
	} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register tuner metrics: %w", err)
		}
	}
	return m, nil
}

// ObserveTrial records one trial: its result, its measurement (when
// valid) and the incumbent's score after it.
func (m *Metrics) ObserveTrial(meas Measurement, out Outcome, bestScore float64) {
	result := telemetry.TunerResultNotKept
	switch {
	case !meas.Valid():
		result = telemetry.TunerResultFailed
	case out.Kept:
		result = telemetry.TunerResultKept
	}
	m.trials.WithLabelValues(result).Inc()
	m.score.Set(out.Score)
	m.bestScore.Set(bestScore)
	if meas.Valid() {
		m.throughput.Set(meas.ThroughputMsgs)
		m.p99.Set(meas.P99Ms / 1000)
	}
}

// SetCurrent records that the broker now runs s. When s differs from the
// previous setting, the info metric moves to s and the last change time
// becomes at.
func (m *Metrics) SetCurrent(s knobs.Setting, at time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.current != nil && *m.current == s {
		return
	}
	m.current = &s
	m.setting.Reset()
	m.setting.WithLabelValues(strconv.Itoa(s.HeapMB), strconv.Itoa(s.NetworkThreads),
		strconv.Itoa(s.IOThreads)).Set(1)
	m.lastChange.Set(float64(at.UnixNano()) / 1e9)
}

// Rollback counts a change rolled back.
func (m *Metrics) Rollback() { m.rollbacks.Inc() }
