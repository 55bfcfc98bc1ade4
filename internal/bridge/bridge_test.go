package bridge

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"

	"github.com/kafkatune/kafkatune/internal/status"
	"github.com/kafkatune/kafkatune/internal/telemetry"
)

// TestCyclePrometheusGoesAway shows the bridge keeping the last values and
// marking them stale while Prometheus is gone, and recovering by itself.
func TestCyclePrometheusGoesAway(t *testing.T) {
	tb := newTestBridge(t)
	ctx := context.Background()
	tb.prom.answerAll("0.012")

	first := tb.Cycle(ctx)
	if first.Stale || first.Error != "" {
		t.Fatalf("first cycle stale=%v error=%q, want fresh", first.Stale, first.Error)
	}
	wantP99(t, first, 12)
	okAt := tb.clock.Now()
	if !first.LastSuccess.Equal(okAt) {
		t.Errorf("last success = %v, want %v", first.LastSuccess, okAt)
	}

	tb.prom.stop()
	for i := range 2 {
		tb.clock.Advance(time.Second)
		s := tb.Cycle(ctx)
		if !s.Stale || s.Error == "" {
			t.Fatalf("cycle %d without Prometheus: stale=%v error=%q, want stale with error", i, s.Stale, s.Error)
		}
		wantP99(t, s, 12)
		if !s.LastSuccess.Equal(okAt) || !s.Time.Equal(okAt) {
			t.Errorf("time=%v last success=%v, want both kept at %v", s.Time, s.LastSuccess, okAt)
		}
	}
	onDisk, err := status.ReadSnapshot(tb.cfg.StatusDir)
	if err != nil {
		t.Fatalf("read snapshot: %v", err)
	}
	if !onDisk.Stale || onDisk.P99LatencyMs == nil || *onDisk.P99LatencyMs != 12 {
		t.Errorf("snapshot on disk = stale %v p99 %v, want stale 12", onDisk.Stale, deref(onDisk.P99LatencyMs))
	}
	if got := testutil.ToFloat64(tb.m.stale); got != 1 {
		t.Errorf("stale gauge = %v, want 1", got)
	}
	if got := testutil.ToFloat64(tb.m.queryErrors.WithLabelValues(telemetry.QueryP99)); got != 2 {
		t.Errorf("p99 query errors = %v, want 2", got)
	}

	tb.prom.restart()
	tb.prom.answerAll("0.030")
	tb.clock.Advance(time.Second)
	back := tb.Cycle(ctx)
	if back.Stale || back.Error != "" {
		t.Fatalf("after recovery stale=%v error=%q, want fresh", back.Stale, back.Error)
	}
	wantP99(t, back, 30)
	if got := testutil.ToFloat64(tb.m.stale); got != 0 {
		t.Errorf("stale gauge = %v, want 0", got)
	}
	logs := tb.logs.String()
	if n := strings.Count(logs, "prometheus queries failing"); n != 1 {
		t.Errorf("logged the outage %d times, want once:\n%s", n, logs)
	}
	if n := strings.Count(logs, "prometheus queries recovered"); n != 1 {
		t.Errorf("logged the recovery %d times, want once:\n%s", n, logs)
	}
}

// TestCyclePartialFailure: one query fails, the others still update; the
// failed one keeps its value and the snapshot is stale, naming the query.
func TestCyclePartialFailure(t *testing.T) {
	tb := newTestBridge(t)
	ctx := context.Background()
	tb.prom.answerAll("5")
	tb.Cycle(ctx)

	tb.prom.answerAll("7")
	tb.prom.set(telemetry.QueryConsumerRate, `{"resultType":"vector","result":[`+
		`{"metric":{"pod":"a"},"value":[1700000000,"1"]},{"metric":{"pod":"b"},"value":[1700000000,"2"]}]}`)
	tb.clock.Advance(time.Second)
	s := tb.Cycle(ctx)
	if !s.Stale || !strings.Contains(s.Error, telemetry.QueryConsumerRate) {
		t.Fatalf("stale=%v error=%q, want stale naming %s", s.Stale, s.Error, telemetry.QueryConsumerRate)
	}
	if got := deref(s.ConsumerActualRate); got != 5.0 {
		t.Errorf("consumer rate = %v, want the kept 5", got)
	}
	if got := deref(s.ProducerActualRate); got != 7.0 {
		t.Errorf("producer rate = %v, want the new 7", got)
	}
	if !s.Time.Equal(tb.clock.Now()) {
		t.Errorf("time = %v, want %v: some values are new", s.Time, tb.clock.Now())
	}
}

// TestCycleNoData: queries that succeed without data give nil, never a
// number, and the snapshot is not stale.
func TestCycleNoData(t *testing.T) {
	tb := newTestBridge(t)
	ctx := context.Background()
	tb.prom.answerAll("0.02")
	tb.Cycle(ctx)

	tb.prom.answerAll("NaN")
	tb.prom.set(telemetry.QueryProducerRate, emptyVector)
	tb.clock.Advance(time.Second)
	s := tb.Cycle(ctx)
	if s.Stale {
		t.Errorf("stale with answered queries: %q", s.Error)
	}
	for name, f := range snapshotFields {
		if v := *f.field(&s); v != nil {
			t.Errorf("%s = %v, want nil (no data)", name, *v)
		}
	}
	data := s.ConfigMapData()
	if data[status.KeyActualLatency] != status.NotAvailable || data[status.KeyProducerActual] != status.NotAvailable {
		t.Errorf("configmap data = %v, want N/A for no data", data)
	}
}

func TestStaleAfterWithoutCycles(t *testing.T) {
	tb := newTestBridge(t)
	if got := testutil.ToFloat64(tb.m.stale); got != 1 {
		t.Errorf("stale gauge before any cycle = %v, want 1", got)
	}
	tb.prom.answerAll("1")
	tb.Cycle(context.Background())
	if got := testutil.ToFloat64(tb.m.stale); got != 0 {
		t.Errorf("stale gauge after a good cycle = %v, want 0", got)
	}
	tb.clock.Advance(tb.cfg.EffectiveStaleAfter() + time.Second)
	if got := testutil.ToFloat64(tb.m.stale); got != 1 {
		t.Errorf("stale gauge with no cycle for longer than stale-after = %v, want 1", got)
	}
}

func TestStatusFiles(t *testing.T) {
	tb := newTestBridge(t)
	ctx := context.Background()
	dir := tb.cfg.StatusDir
	latency := filepath.Join(dir, status.LatencyFile)

	tb.prom.answerAll("NaN")
	tb.Cycle(ctx)
	if _, err := os.Stat(latency); !os.IsNotExist(err) {
		t.Fatalf("latency.txt after a cycle without P99: stat err = %v, want not exist", err)
	}

	tb.prom.answerAll("3")
	tb.prom.set(telemetry.QueryP99, vector("0.012345"))
	s := tb.Cycle(ctx)
	b, err := os.ReadFile(latency)
	if err != nil {
		t.Fatalf("read latency.txt: %v", err)
	}
	if string(b) != "12.345\n" {
		t.Errorf("latency.txt = %q, want %q", b, "12.345\n")
	}
	back, err := status.ReadSnapshot(dir)
	if err != nil {
		t.Fatalf("read snapshot: %v", err)
	}
	if !back.Time.Equal(s.Time) || !back.LastSuccess.Equal(s.LastSuccess) {
		t.Errorf("times = %v/%v, want %v/%v", back.Time, back.LastSuccess, s.Time, s.LastSuccess)
	}
	back.Time, back.LastSuccess = s.Time, s.LastSuccess
	if !reflect.DeepEqual(*back, s) {
		t.Errorf("snapshot round trip:\n got %+v\nwant %+v", *back, s)
	}

	tb.prom.set(telemetry.QueryP99, vector("NaN"))
	tb.Cycle(ctx)
	if b, _ := os.ReadFile(latency); string(b) != "12.345\n" {
		t.Errorf("latency.txt after P99 went to no data = %q, want the last real value kept", b)
	}
	if got := testutil.ToFloat64(tb.m.writes.WithLabelValues(SinkFile, ResultOK)); got != 3 {
		t.Errorf("file writes ok = %v, want 3", got)
	}
}

func TestStatusFileWriteError(t *testing.T) {
	tb := newTestBridge(t)
	// A status "directory" that is a file cannot be written into.
	blocker := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tb.Bridge.cfg.StatusDir = blocker
	tb.prom.answerAll("1")
	tb.Cycle(context.Background())
	tb.Cycle(context.Background())
	if got := testutil.ToFloat64(tb.m.writes.WithLabelValues(SinkFile, ResultError)); got != 2 {
		t.Errorf("file write errors = %v, want 2", got)
	}
	if n := strings.Count(tb.logs.String(), "publish failing"); n != 1 {
		t.Errorf("logged the failing file sink %d times, want once", n)
	}
}

func TestCycleCanceledPublishesNothing(t *testing.T) {
	tb := newTestBridge(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	tb.Cycle(ctx)
	if _, err := os.Stat(filepath.Join(tb.cfg.StatusDir, status.SnapshotFile)); !os.IsNotExist(err) {
		t.Errorf("snapshot written during shutdown: stat err = %v", err)
	}
}

func TestRunStopsWithContext(t *testing.T) {
	tb := newTestBridge(t)
	tb.prom.answerAll("1")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tb.Run(ctx) }()
	deadline := time.After(10 * time.Second)
	for {
		if _, err := status.ReadSnapshot(tb.cfg.StatusDir); err == nil {
			break
		}
		select {
		case <-deadline:
			t.Fatal("no snapshot written by Run")
		case <-time.After(20 * time.Millisecond):
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v, want nil after cancel", err)
	}
}

// TestSnapshotFieldsCoverQueries keeps telemetry's queries and the
// snapshot from drifting apart, and checks the seconds to milliseconds
// conversion of every latency.
func TestSnapshotFieldsCoverQueries(t *testing.T) {
	for _, q := range telemetry.BridgeQueries(time.Minute) {
		f, ok := snapshotFields[q.Name]
		if !ok {
			t.Errorf("query %s has no snapshot field", q.Name)
			continue
		}
		want := 1.0
		if strings.HasSuffix(q.Name, "_seconds") {
			want = secondsToMs
		}
		if f.scale != want {
			t.Errorf("query %s scale = %v, want %v", q.Name, f.scale, want)
		}
	}
}

func TestMetricsLint(t *testing.T) {
	tb := newTestBridge(t)
	mfs, err := tb.reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	problems, err := promlint.NewWithMetricFamilies(mfs).Lint()
	if err != nil {
		t.Fatalf("lint: %v", err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
	nq := len(telemetry.BridgeQueries(time.Minute))
	counts := map[string]int{
		telemetry.BridgeQueryDuration: nq,
		telemetry.BridgeQueryErrors:   nq,
		telemetry.BridgeLastSuccess:   1,
		telemetry.BridgeStale:         1,
		telemetry.BridgeWrites:        4,
		telemetry.BuildInfo:           1,
		telemetry.TargetLatency:       1,
	}
	for name, want := range counts {
		if got := testutil.CollectAndCount(tb.reg, name); got != want {
			t.Errorf("%s has %d series at start, want %d", name, got, want)
		}
	}
}

func TestTargetLatencyGauge(t *testing.T) {
	tb := newTestBridge(t)
	want := fmt.Sprintf(`# HELP %[1]s The end-to-end P99 latency target, in seconds.
# TYPE %[1]s gauge
%[1]s %[2]g
`, telemetry.TargetLatency, tb.cfg.TargetLatencyMs/1000)
	if err := testutil.GatherAndCompare(tb.reg, strings.NewReader(want), telemetry.TargetLatency); err != nil {
		t.Error(err)
	}
}

func wantP99(t *testing.T, s status.Snapshot, ms float64) {
	t.Helper()
	if s.P99LatencyMs == nil || *s.P99LatencyMs != ms {
		t.Errorf("p99 = %v, want %v", deref(s.P99LatencyMs), ms)
	}
}
