package localstack_test

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/kafkatune/kafkatune/internal/localstack"
	"github.com/kafkatune/kafkatune/internal/localstack/localtest"
	"github.com/kafkatune/kafkatune/internal/rules"
	"github.com/kafkatune/kafkatune/internal/status"
	"github.com/kafkatune/kafkatune/internal/telemetry"
	"github.com/kafkatune/kafkatune/internal/testlog"
)

// Settings of the end-to-end run: a fixed rate the de-optimized broker
// keeps up with on a small machine, a producer that stops by itself so the
// consumer can drain, and a bridge window short enough for a short test.
const (
	e2eRate     = 300
	e2eProduce  = 75 * time.Second
	e2eWindow   = 30 * time.Second
	e2eMeasure  = 50 * time.Second // snapshot taken once this much has run
	e2eTolerate = 0.10             // bridge P99 within 10% of the exact one
)

// TestEndToEnd runs the real stack (Kafka, Prometheus, Alertmanager, the
// loadgen and exporter binaries) and checks the bridge's P99 against
// Prometheus and against the exact P99 of the consumer's own samples, and
// that every acknowledged message was consumed exactly once.
func TestEndToEnd(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	dir := t.TempDir()
	latLog := filepath.Join(dir, "latency.log")
	cfg := localtest.Config(dir, e2eRate)
	cfg.ProducerArgs = append(cfg.ProducerArgs, "-duration", e2eProduce.String())
	cfg.ConsumerArgs = []string{"-latency-log", latLog}
	cfg.ExporterArgs = append(cfg.ExporterArgs, "-window", e2eWindow.String())

	stack, err := localtest.Start(ctx, testlog.New(t), cfg)
	if err != nil {
		t.Fatalf("start local stack: %v", err)
	}
	t.Cleanup(func() {
		stopCtx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := stack.Stop(stopCtx); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	started := time.Now()
	cfg = stack.Config()
	prom := newAPI(t, stack.PrometheusURL())

	// 1. The bridge publishes a fresh P99 once a full window has run.
	snap, fileMs := waitSnapshot(ctx, t, stack, started.Add(e2eMeasure))
	t.Logf("bridge at %s: p99 %.3f ms (latency.txt %.3f), producer %.1f/s, consumer %.1f/s",
		snap.Time.Format(time.RFC3339), *snap.P99LatencyMs, fileMs,
		deref(snap.ProducerActualRate), deref(snap.ConsumerActualRate))
	if math.Abs(fileMs-*snap.P99LatencyMs) > 0.001 {
		t.Errorf("latency.txt %.3f ms, metrics.json %.3f ms", fileMs, *snap.P99LatencyMs)
	}

	// 2. It is the P99 Prometheus computes at that time.
	promMs := queryAt(ctx, t, prom, telemetry.EndToEndQuantile(0.99, e2eWindow), snap.Time) * 1000
	if math.Abs(promMs-fileMs) > 0.001*promMs+0.001 {
		t.Errorf("latency.txt %.3f ms, Prometheus computes %.3f ms at %s", fileMs, promMs, snap.Time)
	}

	// 3. Every metric the bridge queries exists in Prometheus.
	for _, q := range telemetry.BridgeQueries(e2eWindow) {
		for _, name := range rules.Names(q.Expr, telemetry.Namespace) {
			series, _, _, err := prom.Series(ctx, []string{name}, started, time.Now())
			if err != nil || len(series) == 0 {
				t.Errorf("query %s reads %s: no series in Prometheus (%v)", q.Name, name, err)
			}
		}
	}

	// 4. Let the producer finish, the consumer drain, and account for
	// every message.
	sent, acked, failed := waitProducerDone(ctx, t, stack.LogPath(telemetry.JobProducer))
	consumerURL := fmt.Sprintf("http://127.0.0.1:%d/metrics", cfg.Ports.Consumer)
	var got map[string]float64
	deadline := time.Now().Add(time.Minute)
	for {
		got = scrape(t, consumerURL)
		if got[telemetry.ConsumerReceived] >= float64(acked) || time.Now().After(deadline) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Logf("producer sent %d, acked %d, failed %d; consumer received %g", sent, acked, failed, got[telemetry.ConsumerReceived])
	if acked == 0 || failed != 0 || sent != acked {
		t.Errorf("producer sent %d, acked %d, failed %d: want every message acked", sent, acked, failed)
	}
	if got[telemetry.ConsumerReceived] != float64(acked) {
		t.Errorf("consumer received %g, producer acked %d", got[telemetry.ConsumerReceived], acked)
	}
	for _, name := range []string{telemetry.ConsumerSequenceGaps, telemetry.ConsumerDuplicates, telemetry.ConsumerForeign} {
		if got[name] != 0 {
			t.Errorf("%s = %g, want 0", name, got[name])
		}
	}

	// 5. The exact P99 of the consumer's own samples over the bridge's
	// window: stop the stack so the consumer flushes its latency log.
	stopCtx, stopCancel := context.WithTimeout(ctx, 2*time.Minute)
	defer stopCancel()
	if err := stack.Stop(stopCtx); err != nil {
		t.Fatalf("stop: %v", err)
	}
	samples := readLatencies(t, latLog, snap.Time.Add(-e2eWindow), snap.Time)
	exact := exactQuantile(samples, 0.99)
	t.Logf("exact p99 of %d samples in (%s, %s]: %.3f ms; bridge %.3f ms (%+.1f%%)",
		len(samples), snap.Time.Add(-e2eWindow).Format(time.TimeOnly), snap.Time.Format(time.TimeOnly),
		exact, fileMs, 100*(fileMs-exact)/exact)
	if len(samples) < e2eRate*int(e2eWindow/time.Second)/2 {
		t.Fatalf("only %d samples in the window", len(samples))
	}
	if math.Abs(fileMs-exact) > e2eTolerate*exact {
		t.Errorf("bridge p99 %.3f ms is more than %.0f%% off the exact p99 %.3f ms", fileMs, 100*e2eTolerate, exact)
	}
}

func newAPI(t *testing.T, url string) promv1.API {
	t.Helper()
	c, err := api.NewClient(api.Config{Address: url})
	if err != nil {
		t.Fatal(err)
	}
	return promv1.NewAPI(c)
}

// waitSnapshot waits for a fresh snapshot with a P99 taken at or after
// after, and returns it with latency.txt read in the same cycle.
func waitSnapshot(ctx context.Context, t *testing.T, stack *localstack.Stack, after time.Time) (*status.Snapshot, float64) {
	t.Helper()
	dir := stack.Config().StatusDir
	for {
		if err := stack.Check(); err != nil {
			t.Fatal(err)
		}
		s, err := status.ReadSnapshot(dir)
		if err == nil && !s.Stale && s.P99LatencyMs != nil && !s.Time.Before(after) {
			ms, lerr := status.ReadLatency(dir)
			again, aerr := status.ReadSnapshot(dir)
			if lerr == nil && aerr == nil && again.Time.Equal(s.Time) {
				return s, ms
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("no fresh bridge snapshot after %s in %s (last: %+v, %v)", after, dir, s, err)
		case <-time.After(300 * time.Millisecond):
		}
	}
}

func queryAt(ctx context.Context, t *testing.T, prom promv1.API, q string, at time.Time) float64 {
	t.Helper()
	v, _, _, err := prom.Query(ctx, q, at)
	if err != nil {
		t.Fatalf("query %s: %v", q, err)
	}
	vec, ok := v.(model.Vector)
	if !ok || len(vec) != 1 {
		t.Fatalf("query %s at %s: %v, want one sample", q, at, v)
	}
	return float64(vec[0].Value)
}

var stoppedLine = regexp.MustCompile(`producer stopped.*sent=(\d+).*acked=(\d+).*failed=(\d+)`)

// waitProducerDone waits for the producer's final log line and returns its
// totals.
func waitProducerDone(ctx context.Context, t *testing.T, logPath string) (sent, acked, failed int) {
	t.Helper()
	for {
		if data, err := os.ReadFile(logPath); err == nil {
			if m := stoppedLine.FindSubmatch(data); m != nil {
				atoi := func(b []byte) int { n, _ := strconv.Atoi(string(b)); return n }
				return atoi(m[1]), atoi(m[2]), atoi(m[3])
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("producer did not stop by itself (log %s)", logPath)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// scrape reads the counters and gauges of a /metrics endpoint, summed
// over labels.
func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("scrape %s: %v", url, err)
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse %s: %v", url, err)
	}
	out := map[string]float64{}
	for name, mf := range mfs {
		for _, m := range mf.GetMetric() {
			switch {
			case m.Counter != nil:
				out[name] += m.GetCounter().GetValue()
			case m.Gauge != nil:
				out[name] += m.GetGauge().GetValue()
			}
		}
	}
	return out
}

// readLatencies returns the latencies in ms of the messages received in
// (from, to], from a loadgen -latency-log file.
func readLatencies(t *testing.T, path string, from, to time.Time) []float64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []float64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		recv, lat, ok := strings.Cut(sc.Text(), " ")
		r, err1 := strconv.ParseInt(recv, 10, 64)
		l, err2 := strconv.ParseInt(lat, 10, 64)
		if !ok || err1 != nil || err2 != nil {
			t.Fatalf("bad latency log line %q", sc.Text())
		}
		if at := time.Unix(0, r); at.After(from) && !at.After(to) {
			out = append(out, float64(l)/1e6)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// exactQuantile is the nearest-rank quantile q of xs.
func exactQuantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	i := int(math.Ceil(q*float64(len(s)))) - 1
	return s[max(i, 0)]
}

func deref(p *float64) float64 {
	if p == nil {
		return math.NaN()
	}
	return *p
}
