// Package bridge turns PromQL answers into the files and the ConfigMap the
// load generators, the agent and vibectl read: every interval it asks
// Prometheus for the end-to-end latency quantiles and the message rates,
// and publishes them as a status.Snapshot. It never publishes a number it
// did not get from Prometheus: a failed query keeps the last value and
// marks it stale, a query without data gives "no data".
package bridge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"
	"k8s.io/client-go/kubernetes"

	"github.com/kafkatune/kafkatune/internal/kube"
	"github.com/kafkatune/kafkatune/internal/status"
	"github.com/kafkatune/kafkatune/internal/telemetry"
)

// UserAgent identifies the bridge to the Kubernetes API.
const UserAgent = "kafkatune-bridge"

// maxParallelQueries bounds the queries in flight at once.
const maxParallelQueries = 4

// Option changes how New builds a Bridge.
type Option func(*options)

type options struct {
	kubeClient func() (kubernetes.Interface, error)
	now        func() time.Time
}

// WithKubeClient makes the ConfigMap output use the clients newClient
// returns, whatever Config.Kube says. The bridge calls it again on every
// refresh until it succeeds once.
func WithKubeClient(newClient func() (kubernetes.Interface, error)) Option {
	return func(o *options) { o.kubeClient = newClient }
}

// WithClock replaces time.Now for the snapshot times.
func WithClock(now func() time.Time) Option {
	return func(o *options) { o.now = now }
}

// Bridge refreshes and publishes the values. Its methods must not be called
// concurrently.
type Bridge struct {
	cfg     Config
	queries []telemetry.Query
	prom    promv1.API
	log     *slog.Logger
	m       *metrics
	cm      *configMapSink // nil when ConfigMap output is off
	now     func() time.Time

	snap        status.Snapshot
	lastSuccess time.Time
	// published and lastSuccessNano feed the stale gauge, which is read
	// concurrently by /metrics scrapes.
	published       atomic.Bool // a cycle has published values that were not stale
	lastSuccessNano atomic.Int64
	promHealth      health
	fileHealth      health
}

// New validates cfg and returns a Bridge that registers its metrics on reg.
func New(cfg Config, log *slog.Logger, reg prometheus.Registerer, opts ...Option) (*Bridge, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	o := options{now: time.Now}
	for _, opt := range opts {
		opt(&o)
	}
	client, err := api.NewClient(api.Config{Address: cfg.PrometheusURL})
	if err != nil {
		return nil, fmt.Errorf("create prometheus client: %w", err)
	}
	b := &Bridge{
		cfg:     cfg,
		queries: telemetry.BridgeQueries(cfg.Window),
		prom:    promv1.NewAPI(client),
		log:     log,
		now:     o.now,
		snap:    status.Snapshot{Stale: true, TargetLatencyMs: cfg.TargetLatencyMs},
	}
	if b.m, err = newMetrics(reg, b.queries, b.staleGauge, cfg.TargetLatencyMs); err != nil {
		return nil, err
	}
	b.cm = newConfigMapSink(cfg, o.kubeClient)
	if b.cm == nil {
		log.Info("configmap output off", "reason", "no kubeconfig or in-cluster config given")
	}
	return b, nil
}

// Run refreshes at once and then every interval until ctx ends. It returns
// nil when ctx ends: failures are published as stale values, not returned.
func (b *Bridge) Run(ctx context.Context) error {
	t := time.NewTicker(b.cfg.Interval)
	defer t.Stop()
	for {
		b.Cycle(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Cycle runs every query once, updates the snapshot and publishes it to the
// status files and, when enabled, the ConfigMap. It returns the published
// snapshot. When ctx ends during the queries it publishes nothing.
func (b *Bridge) Cycle(ctx context.Context) status.Snapshot {
	now := b.now()
	results := b.queryAll(ctx)
	if ctx.Err() != nil {
		return b.snap
	}
	p99Fresh := b.apply(now, results)
	b.writeFiles(now, p99Fresh)
	if b.cm != nil {
		b.writeConfigMap(ctx, now)
	}
	return b.snap
}

// result is one query's answer.
type result struct {
	name  string
	value *float64
	err   error
}

func (b *Bridge) queryAll(ctx context.Context) []result {
	results := make([]result, len(b.queries))
	var g errgroup.Group
	g.SetLimit(maxParallelQueries)
	for i, q := range b.queries {
		g.Go(func() error {
			v, err := b.query(ctx, q)
			results[i] = result{name: q.Name, value: v, err: err}
			return nil
		})
	}
	_ = g.Wait() // the goroutines report through results
	return results
}

// query runs q at Prometheus's own "now" (so that a skewed local clock
// cannot move the window) with its own deadline.
func (b *Bridge) query(ctx context.Context, q telemetry.Query) (*float64, error) {
	ctx, cancel := context.WithTimeout(ctx, b.cfg.QueryTimeout)
	defer cancel()
	start := time.Now()
	v, warnings, _, err := b.prom.Query(ctx, q.Expr, time.Time{})
	b.m.queryDuration.WithLabelValues(q.Name).Observe(time.Since(start).Seconds())
	if err == nil {
		if len(warnings) > 0 {
			b.log.Debug("prometheus warnings", "query", q.Name, "warnings", strings.Join(warnings, "; "))
		}
		var val *float64
		if val, err = sampleValue(v); err == nil {
			return val, nil
		}
	}
	b.m.queryErrors.WithLabelValues(q.Name).Inc()
	return nil, fmt.Errorf("query %s: %w", q.Name, err)
}

// apply folds the answers into the snapshot: a successful query replaces its
// value (nil for no data), a failed one keeps the last value. It reports
// whether the P99 was answered in this cycle.
func (b *Bridge) apply(now time.Time, results []result) (p99Fresh bool) {
	var errs []error
	for _, r := range results {
		if r.err != nil {
			errs = append(errs, r.err)
			continue
		}
		f, ok := snapshotFields[r.name]
		if !ok {
			continue // a query a newer telemetry added; nowhere to put it
		}
		*f.field(&b.snap) = scaled(r.value, f.scale)
		p99Fresh = p99Fresh || r.name == telemetry.QueryP99
	}
	if len(errs) < len(results) || b.snap.Time.IsZero() {
		b.snap.Time = now
	}
	if len(errs) == 0 {
		b.lastSuccess = now
		b.lastSuccessNano.Store(now.UnixNano())
		b.m.lastSuccess.Set(float64(now.UnixNano()) / 1e9)
	}
	b.snap.LastSuccess = b.lastSuccess
	b.snap.Error = summarize(errs)
	b.snap.Stale = len(errs) > 0 || b.isOld(now, b.lastSuccess)
	b.published.Store(!b.snap.Stale)
	b.logQueryHealth(now, errs, len(results))
	return p99Fresh
}

// isOld reports whether a last success at t is too old to trust at now.
func (b *Bridge) isOld(now, t time.Time) bool {
	return t.IsZero() || now.Sub(t) > b.cfg.EffectiveStaleAfter()
}

// staleGauge is the value of the stale gauge: 1 when the last cycle was
// stale or when no cycle succeeded within the stale-after time.
func (b *Bridge) staleGauge() float64 {
	var last time.Time
	if n := b.lastSuccessNano.Load(); n != 0 {
		last = time.Unix(0, n)
	}
	return boolGauge(!b.published.Load() || b.isOld(b.now(), last))
}

func (b *Bridge) logQueryHealth(now time.Time, errs []error, total int) {
	if len(errs) > 0 {
		if b.promHealth.fail(now) {
			b.log.Warn("prometheus queries failing; keeping last values as stale",
				"failed", len(errs), "total", total, "err", errs[0])
		}
		return
	}
	if down, ok := b.promHealth.recover(now); ok {
		b.log.Info("prometheus queries recovered", "down_for", down.Round(time.Millisecond))
	}
}

// summarize renders errs as one line: the first error and how many more.
func summarize(errs []error) string {
	switch len(errs) {
	case 0:
		return ""
	case 1:
		return errs[0].Error()
	default:
		return fmt.Sprintf("%v (and %d more failed queries)", errs[0], len(errs)-1)
	}
}

func (b *Bridge) writeFiles(now time.Time, p99Fresh bool) {
	err := status.WriteSnapshot(b.cfg.StatusDir, &b.snap)
	if err == nil && p99Fresh {
		// Only a P99 answered in this cycle is written: while Prometheus
		// is down latency.txt keeps its time, so readers can see its age.
		err = status.WriteLatency(b.cfg.StatusDir, b.snap.P99LatencyMs)
	}
	b.m.write(SinkFile, err)
	b.logWriteHealth(&b.fileHealth, now, SinkFile, err)
}

func (b *Bridge) writeConfigMap(ctx context.Context, now time.Time) {
	out, err := b.cm.write(ctx, b.snap.ConfigMapData())
	b.m.write(SinkConfigMap, err)
	if out == kube.Created {
		b.log.Info("configmap created", "namespace", b.cfg.ConfigMapNamespace, "name", b.cfg.ConfigMapName)
	}
	b.logWriteHealth(&b.cm.health, now, SinkConfigMap, err)
	if err != nil {
		b.log.Debug("configmap write failed", "err", err)
	}
}

func (b *Bridge) logWriteHealth(h *health, now time.Time, sink string, err error) {
	if err != nil {
		if h.fail(now) {
			b.log.Warn("publish failing; retrying every interval", "sink", sink, "err", err)
		}
		return
	}
	if down, ok := h.recover(now); ok {
		b.log.Info("publish recovered", "sink", sink, "down_for", down.Round(time.Millisecond))
	}
}

// health remembers whether something works, so that logs report changes
// instead of every failed attempt.
type health struct {
	failing bool
	since   time.Time
}

// fail records a failure and reports whether it is the first of a run.
func (h *health) fail(now time.Time) bool {
	if h.failing {
		return false
	}
	h.failing, h.since = true, now
	return true
}

// recover records a success and, when it ends a run of failures, reports
// how long the run lasted.
func (h *health) recover(now time.Time) (time.Duration, bool) {
	if !h.failing {
		return 0, false
	}
	h.failing = false
	return now.Sub(h.since), true
}

func boolGauge(v bool) float64 {
	if v {
		return 1
	}
	return 0
}

var errNoKube = errors.New("no kubernetes client")
