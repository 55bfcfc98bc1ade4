package trial_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/kafkatune/kafkatune/internal/childproc"
	"github.com/kafkatune/kafkatune/internal/telemetry"
)

// prometheusBinary is where Debian's prometheus package installs the server.
const prometheusBinary = "/usr/bin/prometheus"

// feedRate is the feeder's message rate per second.
const feedRate = 100

// feeder serves the producer's and consumer's metrics under their real
// names. Its series appear when traffic first starts; while it runs, it
// acknowledges feedRate messages a second, each with an end-to-end latency
// spread evenly over 10-19.9 ms (a true P99 of about 19.8 ms).
type feeder struct {
	running atomic.Bool
	addr    string
}

func startFeeder(t *testing.T) *feeder {
	t.Helper()
	reg := prometheus.NewRegistry()
	e2e := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: telemetry.ConsumerEndToEndLatency, Help: "test latency",
		Buckets: telemetry.LatencyBuckets(),
	}, []string{telemetry.LabelTopic})
	acked := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: telemetry.ProducerAcked, Help: "test counter",
	}, []string{telemetry.LabelTopic})
	reg.MustRegister(e2e, acked)
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))

	f := &feeder{addr: srv.Listener.Addr().String()}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		var sent int
		var ran time.Duration // time spent running, to pace by the clock
		last := time.Now()
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-tick.C:
				if f.running.Load() {
					ran += now.Sub(last)
				}
				last = now
			}
			for due := int(ran.Seconds() * feedRate); sent < due; sent++ {
				e2e.WithLabelValues("t").Observe(0.010 + float64(sent%100)*0.0001)
				acked.WithLabelValues("t").Inc()
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		srv.Close()
	})
	return f
}

// startPrometheus runs the real Prometheus on a free loopback port with
// temporary storage, scraping target every second, and returns an API
// client once it is ready. It is stopped when the test ends.
func startPrometheus(t *testing.T, target string) promv1.API {
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
	cfg := fmt.Sprintf("global:\n  scrape_interval: 1s\nscrape_configs:\n"+
		"  - job_name: trial-test\n    static_configs:\n      - targets: [%q]\n", target)
	cfgFile := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	port, err := childproc.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	logFile, err := os.Create(filepath.Join(dir, "prometheus.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--config.file="+cfgFile,
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--log.level=warn")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatalf("start prometheus: %v", err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		_ = logFile.Close()
		if t.Failed() {
			if b, err := os.ReadFile(logFile.Name()); err == nil {
				t.Logf("prometheus log:\n%s", b)
			}
		}
	})
	url := "http://" + addr
	if err := waitReady(url, exited, time.Minute); err != nil {
		t.Fatalf("prometheus at %s: %v", url, err)
	}
	client, err := api.NewClient(api.Config{Address: url})
	if err != nil {
		t.Fatal(err)
	}
	return promv1.NewAPI(client)
}

// waitReady polls Prometheus's readiness endpoint until it answers 200.
func waitReady(url string, exited <-chan struct{}, wait time.Duration) error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return errors.New("exited before it was ready")
		default:
		}
		if resp, err := client.Get(url + "/-/ready"); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("not ready within %v", wait)
}
