package bridge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/kafkatune/kafkatune/internal/status"
	"github.com/kafkatune/kafkatune/internal/telemetry"
)

// prometheusBinary is where Debian's prometheus package installs the server.
const prometheusBinary = "/usr/bin/prometheus"

// TestIntegrationRealPrometheus runs one bridge against a real Prometheus
// that scrapes a /metrics endpoint holding kafkatune's real histogram and
// counter names, and checks that the P99 and the rates come out of real
// PromQL. It fails when Prometheus is not installed.
func TestIntegrationRealPrometheus(t *testing.T) {
	target := serveLoadMetrics(t)
	promURL := startPrometheus(t, target)

	cfg := DefaultConfig()
	cfg.PrometheusURL = promURL
	cfg.Interval = 2 * time.Second
	cfg.Window = 10 * time.Second
	cfg.QueryTimeout = 2 * time.Second
	cfg.StatusDir = t.TempDir()
	logs := &syncBuffer{}
	b, err := New(cfg, slog.New(slog.NewTextHandler(logs, nil)), prometheus.NewRegistry())
	if err != nil {
		t.Fatalf("New: %v", err)
	}

	s := cycleUntil(t, b, 90*time.Second, func(s status.Snapshot) bool {
		return !s.Stale && s.P99LatencyMs != nil && s.ProducerActualRate != nil && *s.ProducerActualRate > 0 &&
			s.ConsumerActualRate != nil && *s.ConsumerActualRate > 0
	})

	t.Logf("p50 %v p95 %v p99 %v ms, produce p99 %v ms, producer %v/s, consumer %v/s",
		deref(s.P50LatencyMs), deref(s.P95LatencyMs), deref(s.P99LatencyMs), deref(s.ProduceP99Ms),
		deref(s.ProducerActualRate), deref(s.ConsumerActualRate))

	// The feeder observes end-to-end latencies spread evenly over
	// 10-19.9 ms, so the true P99 is about 19.8 ms; the bucket layout
	// keeps the estimate within a few percent.
	if p99 := *s.P99LatencyMs; p99 < 18 || p99 > 21 {
		t.Errorf("p99 = %.3f ms, want about 19.8", p99)
	}
	if s.P50LatencyMs == nil || s.P95LatencyMs == nil ||
		!(*s.P50LatencyMs < *s.P95LatencyMs && *s.P95LatencyMs <= *s.P99LatencyMs) {
		t.Errorf("p50 %v p95 %v p99 %v, want rising quantiles",
			deref(s.P50LatencyMs), deref(s.P95LatencyMs), deref(s.P99LatencyMs))
	}
	if s.ProduceP99Ms == nil || *s.ProduceP99Ms < 4 || *s.ProduceP99Ms > 6 {
		t.Errorf("produce p99 = %v ms, want about 5", deref(s.ProduceP99Ms))
	}
	if got := deref(s.ProducerTargetRate); got != feedTargetRate {
		t.Errorf("producer target rate = %v, want %v", got, feedTargetRate)
	}
	if got := deref(s.ConsumerLag); got != feedLag {
		t.Errorf("consumer lag = %v, want %v", got, feedLag)
	}
	if got := deref(s.ProducerErrorRate); got != 0.0 {
		t.Errorf("producer error rate = %v, want 0", got)
	}

	b2, err := os.ReadFile(filepath.Join(cfg.StatusDir, status.LatencyFile))
	if err != nil {
		t.Fatalf("read latency.txt: %v", err)
	}
	if want := status.FormatMs(s.P99LatencyMs) + "\n"; string(b2) != want {
		t.Errorf("latency.txt = %q, want %q", b2, want)
	}
}

// cycleUntil runs bridge cycles until ok accepts a snapshot or the
// deadline passes.
func cycleUntil(t *testing.T, b *Bridge, wait time.Duration, ok func(status.Snapshot) bool) status.Snapshot {
	t.Helper()
	deadline := time.Now().Add(wait)
	var s status.Snapshot
	for time.Now().Before(deadline) {
		s = b.Cycle(context.Background())
		if ok(s) {
			return s
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatalf("no usable snapshot within %v; last: stale=%v error=%q p99=%v producer=%v consumer=%v",
		wait, s.Stale, s.Error, deref(s.P99LatencyMs), deref(s.ProducerActualRate), deref(s.ConsumerActualRate))
	return s
}

// Values the feeder publishes.
const (
	feedTargetRate = 100.0
	feedLag        = 3.0
)

// serveLoadMetrics serves, until the test ends, the metrics a producer
// and a consumer would export, fed with steady synthetic traffic. It
// returns the host:port to scrape.
func serveLoadMetrics(t *testing.T) string {
	t.Helper()
	reg := prometheus.NewRegistry()
	histogram := func(name string) prometheus.Histogram {
		return prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:                            name,
			Help:                            "test latency",
			Buckets:                         telemetry.LatencyBuckets(),
			NativeHistogramBucketFactor:     telemetry.NativeBucketFactor,
			NativeHistogramMaxBucketNumber:  telemetry.NativeMaxBuckets,
			NativeHistogramMinResetDuration: telemetry.NativeMinResetDuration,
		})
	}
	counter := func(name string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: "test counter"})
	}
	gauge := func(name string, v float64) prometheus.Gauge {
		g := prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: "test gauge"})
		g.Set(v)
		return g
	}
	e2e := histogram(telemetry.ConsumerEndToEndLatency)
	ack := histogram(telemetry.ProducerAckLatency)
	acked := counter(telemetry.ProducerAcked)
	received := counter(telemetry.ConsumerReceived)
	failed := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: telemetry.ProducerFailed, Help: "test counter"}, []string{telemetry.LabelReason})
	failed.WithLabelValues("timeout")
	reg.MustRegister(e2e, ack, acked, received, failed,
		counter(telemetry.ConsumerSequenceGaps), counter(telemetry.ConsumerDuplicates),
		gauge(telemetry.ProducerTargetRate, feedTargetRate), gauge(telemetry.ConsumerLag, feedLag))

	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			e2e.Observe(0.010 + float64(i%100)*0.0001)
			ack.Observe(0.005)
			acked.Inc()
			received.Inc()
		}
	}()
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		srv.Close()
	})
	return srv.Listener.Addr().String()
}

// startPrometheus runs the real Prometheus server on a free loopback port
// with temporary storage, scraping target every second, and returns its URL
// once it is ready. The process is stopped when the test ends.
func startPrometheus(t *testing.T, target string) string {
	t.Helper()
	bin := prometheusBinary
	if _, err := os.Stat(bin); err != nil {
		p, lerr := exec.LookPath("prometheus")
		if lerr != nil {
			t.Fatalf("prometheus not found at %s or on PATH (install it: apt-get install prometheus): %v", bin, err)
		}
		bin = p
	}
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "prometheus.yml")
	cfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: bridge-test
    static_configs:
      - targets: [%q]
`, target)
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	logPath := filepath.Join(dir, "prometheus.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin,
		"--config.file="+cfgFile,
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr,
		"--log.level=warn",
	)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatalf("start prometheus: %v", err)
	}
	// exited is closed when the process has ended; waitErr is then set.
	exited := make(chan struct{})
	var waitErr error
	go func() {
		waitErr = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		stopProcess(t, cmd, exited)
		_ = logFile.Close()
		if t.Failed() {
			if b, err := os.ReadFile(logPath); err == nil {
				t.Logf("prometheus log:\n%s", b)
			}
		}
	})
	url := "http://" + addr
	if !waitReady(url, exited, 60*time.Second) {
		select {
		case <-exited:
			t.Fatalf("prometheus exited before it was ready: %v", waitErr)
		default:
			t.Fatalf("prometheus at %s not ready within 60s", url)
		}
	}
	return url
}

func stopProcess(t *testing.T, cmd *exec.Cmd, exited <-chan struct{}) {
	t.Helper()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Logf("signal prometheus: %v", err)
	}
	select {
	case <-exited:
	case <-time.After(15 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
	}
}

// waitReady polls Prometheus's readiness endpoint until it answers 200,
// the process exits or wait passes, and reports whether it became ready.
func waitReady(url string, exited <-chan struct{}, wait time.Duration) bool {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return false
		default:
		}
		resp, err := client.Get(url + "/-/ready")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return true
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	return false
}

// freeAddr returns a loopback address with a port that was free a moment
// ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}
