package rollback

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Metric names of the Keeper, served with the agent's other metrics
// (telemetry.DefaultTunerAddr). The label is reason (Reasons).
const (
	// MetricRollbacks counts completed rollbacks, by reason.
	MetricRollbacks = "kafkatune_agent_rollbacks_total"
	// MetricRollbackErrors counts rollbacks that were due but did not
	// complete, by reason.
	MetricRollbackErrors = "kafkatune_agent_rollback_errors_total"
	// MetricLastRollback is the Unix time of the last completed rollback
	// (0 before the first).
	MetricLastRollback = "kafkatune_agent_last_rollback_timestamp_seconds"
)

// LabelReason is the label of the rollback metrics.
const LabelReason = "reason"

type metrics struct {
	rollbacks *prometheus.CounterVec
	errors    *prometheus.CounterVec
	last      prometheus.Gauge
}

// newMetrics creates the Keeper's metrics, every series at zero, and
// registers them on reg unless reg is nil.
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		rollbacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: MetricRollbacks,
			Help: "Rollbacks to the last good broker setting, by reason.",
		}, []string{LabelReason}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: MetricRollbackErrors,
			Help: "Rollbacks that were due but did not complete, by reason.",
		}, []string{LabelReason}),
		last: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: MetricLastRollback,
			Help: "Unix time of the last completed rollback.",
		}),
	}
	for _, r := range Reasons() {
		m.rollbacks.WithLabelValues(string(r))
		m.errors.WithLabelValues(string(r))
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.rollbacks, m.errors, m.last} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register rollback metrics: %w", err)
		}
	}
	return m, nil
}
