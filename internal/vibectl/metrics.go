package vibectl

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kafkatune/kafkatune/internal/telemetry"
)

// Step results (telemetry.VibectlResults).
const (
	ResultOK      = "ok"
	ResultFailed  = "failed"
	ResultTimeout = "timeout"
)

type metrics struct {
	steps    *prometheus.CounterVec
	duration prometheus.Histogram
	reverts  *prometheus.CounterVec
	lastStep prometheus.Gauge
	kubectl  *prometheus.CounterVec
}

// newMetrics registers the loop's metrics on reg, every series created at
// zero so that dashboards see 0 rather than no data.
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		steps: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: telemetry.VibectlSteps,
			Help: "vibectl steps, by result (ok, failed, timeout).",
		}, []string{telemetry.LabelResult}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:                        telemetry.VibectlStepDuration,
			Help:                        "Wall time of each vibectl step.",
			Buckets:                     telemetry.VibectlStepBuckets(),
			NativeHistogramBucketFactor: 1.1,
		}),
		reverts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: telemetry.VibectlGuardReverts,
			Help: "StatefulSet values the guard reverted, by knob.",
		}, []string{telemetry.LabelKnob}),
		lastStep: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: telemetry.VibectlLastStep,
			Help: "Unix time at which the last vibectl step ended.",
		}),
		kubectl: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: telemetry.VibectlKubectlCalls,
			Help: "kubectl commands vibectl issued through the shim, by result.",
		}, []string{telemetry.LabelResult}),
	}
	for _, c := range []prometheus.Collector{m.steps, m.duration, m.reverts, m.lastStep, m.kubectl} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	for _, r := range telemetry.VibectlResults {
		m.steps.WithLabelValues(r)
	}
	for _, k := range telemetry.VibectlGuardKnobs {
		m.reverts.WithLabelValues(k)
	}
	for _, r := range telemetry.VibectlKubectlResults {
		m.kubectl.WithLabelValues(r)
	}
	return m, nil
}
