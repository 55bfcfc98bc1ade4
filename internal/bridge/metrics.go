package bridge

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kafkatune/kafkatune/internal/telemetry"
)

// Sinks and results: the values of the writes counter's labels.
const (
	SinkFile      = "file"
	SinkConfigMap = "configmap"
	ResultOK      = "ok"
	ResultError   = "error"
)

// Component is the bridge's value of the build info "component" label.
const Component = "bridge"

// metrics are the bridge's own metrics. Every labelled series is created at
// start so that a zero shows as zero, not as no data.
type metrics struct {
	queryDuration *prometheus.HistogramVec
	queryErrors   *prometheus.CounterVec
	lastSuccess   prometheus.Gauge
	stale         prometheus.GaugeFunc
	writes        *prometheus.CounterVec
}

// newMetrics registers the metrics on reg. staleness is read at every
// scrape, so that a stuck refresh loop still shows as stale.
// targetMs is the P99 target, exported in seconds as the gauge the
// alerting rules compare the measured P99 with.
func newMetrics(reg prometheus.Registerer, queries []telemetry.Query, staleness func() float64, targetMs float64) (*metrics, error) {
	m := &metrics{
		queryDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    telemetry.BridgeQueryDuration,
			Help:    "Duration of each PromQL query of the bridge, in seconds.",
			Buckets: prometheus.DefBuckets,
		}, []string{telemetry.LabelQuery}),
		queryErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: telemetry.BridgeQueryErrors,
			Help: "PromQL queries of the bridge that failed or gave an unusable answer.",
		}, []string{telemetry.LabelQuery}),
		lastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: telemetry.BridgeLastSuccess,
			Help: "Unix time of the last refresh in which every query succeeded.",
		}),
		stale: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: telemetry.BridgeStale,
			Help: "1 while the published values are stale, else 0.",
		}, staleness),
		writes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: telemetry.BridgeWrites,
			Help: "Writes of the status files and the ConfigMap, by sink and result.",
		}, []string{telemetry.LabelSink, telemetry.LabelResult}),
	}
	for _, q := range queries {
		m.queryDuration.WithLabelValues(q.Name)
		m.queryErrors.WithLabelValues(q.Name)
	}
	for _, sink := range []string{SinkFile, SinkConfigMap} {
		for _, res := range []string{ResultOK, ResultError} {
			m.writes.WithLabelValues(sink, res)
		}
	}
	target := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: telemetry.TargetLatency,
		Help: "The end-to-end P99 latency target, in seconds.",
	})
	target.Set(targetMs / 1000)
	cs := []prometheus.Collector{m.queryDuration, m.queryErrors, m.lastSuccess, m.stale, m.writes, target}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register bridge metrics: %w", err)
		}
	}
	if err := telemetry.RegisterBuildInfo(reg, Component); err != nil {
		return nil, fmt.Errorf("register build info: %w", err)
	}
	return m, nil
}

func (m *metrics) write(sink string, err error) {
	res := ResultOK
	if err != nil {
		res = ResultError
	}
	m.writes.WithLabelValues(sink, res).Inc()
}
