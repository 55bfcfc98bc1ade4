package bridge

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kafkatune/kafkatune/internal/status"
	"github.com/kafkatune/kafkatune/internal/telemetry"
)

// TestPrometheusRestartRealServer runs the bridge's own loop against a real
// Prometheus that is stopped in the middle of the run and started again on
// the same address and storage. While it is down the bridge must mark its
// values stale and keep the last ones; once it is back the bridge must
// publish fresh values again without being told.
func TestPrometheusRestartRealServer(t *testing.T) {
	prom := newPromProcess(t, serveLoadMetrics(t))
	prom.start(t)

	cfg := DefaultConfig()
	cfg.PrometheusURL = prom.url()
	cfg.Interval = time.Second
	cfg.Window = 10 * time.Second
	cfg.QueryTimeout = time.Second
	cfg.StatusDir = t.TempDir()
	reg := prometheus.NewRegistry()
	logs := &syncBuffer{}
	b, err := New(cfg, slog.New(slog.NewTextHandler(logs, nil)), reg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		if t.Failed() {
			t.Logf("bridge log:\n%s", logs.String())
		}
	})

	fresh := func(s *status.Snapshot) bool { return !s.Stale && s.Error == "" && s.P99LatencyMs != nil }
	before := waitSnapshot(t, cfg.StatusDir, 90*time.Second, "fresh values", fresh)
	wantStale(t, reg, 0)

	prom.stop(t)
	down := waitSnapshot(t, cfg.StatusDir, 30*time.Second, "stale values",
		func(s *status.Snapshot) bool { return s.Stale })
	if down.Error == "" || down.P99LatencyMs == nil {
		t.Errorf("while down: error %q, p99 %v; want an error and the last p99 kept", down.Error, deref(down.P99LatencyMs))
	}
	if down.LastSuccess.Before(before.LastSuccess) {
		t.Errorf("last success went back from %v to %v", before.LastSuccess, down.LastSuccess)
	}
	// latency.txt holds the last P99 Prometheus answered, the one kept.
	onDisk, err := os.ReadFile(filepath.Join(cfg.StatusDir, status.LatencyFile))
	if err != nil {
		t.Fatalf("read latency.txt: %v", err)
	}
	if want := status.FormatMs(down.P99LatencyMs) + "\n"; string(onDisk) != want {
		t.Errorf("latency.txt = %q while down, want the kept p99 %q", onDisk, want)
	}
	wantStale(t, reg, 1)

	prom.start(t)
	back := waitSnapshot(t, cfg.StatusDir, 90*time.Second, "fresh values after the restart", fresh)
	if !back.LastSuccess.After(down.Time) {
		t.Errorf("last success %v, not after the outage at %v", back.LastSuccess, down.Time)
	}
	if p99 := *back.P99LatencyMs; p99 < 18 || p99 > 21 {
		t.Errorf("p99 after the restart = %.3f ms, want about 19.8 as before", p99)
	}
	wantStale(t, reg, 0)
}

// waitSnapshot polls the snapshot in dir until ok accepts it.
func waitSnapshot(t *testing.T, dir string, limit time.Duration, what string,
	ok func(*status.Snapshot) bool,
) *status.Snapshot {
	t.Helper()
	deadline := time.Now().Add(limit)
	var last *status.Snapshot
	for time.Now().Before(deadline) {
		if s, err := status.ReadSnapshot(dir); err == nil {
			last = s
			if ok(s) {
				return s
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("no snapshot with %s within %v; last: %+v", what, limit, last)
	return nil
}

func wantStale(t *testing.T, g prometheus.Gatherer, want float64) {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() == telemetry.BridgeStale {
			if got := mf.GetMetric()[0].GetGauge().GetValue(); got != want {
				t.Errorf("%s = %g, want %g", telemetry.BridgeStale, got, want)
			}
			return
		}
	}
	t.Errorf("%s not registered", telemetry.BridgeStale)
}

// promProcess is a real Prometheus that can be stopped and started again
// on the same address and storage, scraping target every second.
type promProcess struct {
	bin, dir, addr string
	cmd            *exec.Cmd
	exited         chan struct{}
	log            *os.File
}

func newPromProcess(t *testing.T, target string) *promProcess {
	t.Helper()
	bin := prometheusBinary
	if _, err := os.Stat(bin); err != nil {
		p, lerr := exec.LookPath("prometheus")
		if lerr != nil {
			t.Fatalf("prometheus not found at %s or on PATH (install it: apt-get install prometheus): %v", bin, err)
		}
		bin = p
	}
	p := &promProcess{bin: bin, dir: t.TempDir(), addr: freeAddr(t)}
	cfg := fmt.Sprintf("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"+
		"scrape_configs:\n  - job_name: bridge-test\n    static_configs:\n      - targets: [%q]\n", target)
	if err := os.WriteFile(filepath.Join(p.dir, "prometheus.yml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	log, err := os.Create(filepath.Join(p.dir, "prometheus.log"))
	if err != nil {
		t.Fatal(err)
	}
	p.log = log
	t.Cleanup(func() {
		if p.cmd != nil {
			p.stop(t)
		}
		_ = log.Close()
		if t.Failed() {
			if b, err := os.ReadFile(log.Name()); err == nil {
				t.Logf("prometheus log:\n%s", b)
			}
		}
	})
	return p
}

func (p *promProcess) url() string { return "http://" + p.addr }

// start runs Prometheus and waits until it is ready.
func (p *promProcess) start(t *testing.T) {
	t.Helper()
	p.cmd = exec.Command(p.bin,
		"--config.file="+filepath.Join(p.dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(p.dir, "data"),
		"--web.listen-address="+p.addr,
		"--log.level=warn",
	)
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start prometheus: %v", err)
	}
	exited := make(chan struct{})
	cmd := p.cmd
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	p.exited = exited
	if !waitReady(p.url(), exited, 60*time.Second) {
		t.Fatalf("prometheus at %s not ready within 60s (or exited)", p.url())
	}
}

// stop stops Prometheus (SIGTERM, then SIGKILL) and waits for it.
func (p *promProcess) stop(t *testing.T) {
	t.Helper()
	stopProcess(t, p.cmd, p.exited)
	p.cmd = nil
}
