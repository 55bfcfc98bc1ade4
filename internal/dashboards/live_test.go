package dashboards

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/kafkatune/kafkatune/internal/localstack/localtest"
	"github.com/kafkatune/kafkatune/internal/telemetry"
)

// PrometheusURLEnv names a running Prometheus, holding data from the real
// kafkatune components, to run the dashboards' queries against.
const PrometheusURLEnv = "KAFKATUNE_TEST_PROMETHEUS_URL"

// vibectlPrefix starts the names of the metrics only `agent vibectl`
// exports.
const vibectlPrefix = "kafkatune_vibectl_"

// Query window: long enough to hold a short local-stack run, with rate
// windows as Grafana would choose them for a 5 s scrape interval.
const (
	liveLookback = 10 * time.Minute
	liveStep     = 15 * time.Second
	queryTimeout = 10 * time.Second
)

// grafanaVars replaces each template and Grafana variable with a value
// Prometheus accepts: the "All" value for multi-value variables.
var grafanaVars = strings.NewReplacer(
	"$__rate_interval", "1m",
	"$__interval", "15s",
	"$__range", "10m",
	"$"+varTopic, ".*",
	"$"+varInstance, ".*",
)

// substitute resolves the variables in expr and fails on any it does not
// know.
func substitute(expr string) (string, error) {
	out := grafanaVars.Replace(expr)
	if i := strings.IndexByte(out, '$'); i >= 0 {
		return "", fmt.Errorf("unknown variable at %q", out[i:])
	}
	return out, nil
}

func TestSubstitute(t *testing.T) {
	tests := []struct {
		in, want string
		wantErr  bool
	}{
		{`rate(m{topic=~"$topic"}[$__rate_interval])`, `rate(m{topic=~".*"}[1m])`, false},
		{`m{instance=~"$instance"}`, `m{instance=~".*"}`, false},
		{`increase(m[$__interval])`, `increase(m[15s])`, false},
		{`m{broker=~"$broker"}`, "", true},
		{`m`, `m`, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := substitute(tt.in)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("substitute(%q) = %q, %v; want %q, error %v",
					tt.in, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

// TestQueriesReturnData runs every query of every committed dashboard
// (panel targets, variables, annotations) against a real Prometheus that
// scrapes the real components, and lists each query that returns no series.
func TestQueriesReturnData(t *testing.T) {
	prom := promv1.NewAPI(newPromClient(t, testPrometheusURL(t)))
	end := time.Now()
	r := promv1.Range{Start: end.Add(-liveLookback), End: end, Step: liveStep}

	var empty, vibectlOnly []string
	total := 0
	for _, f := range loadCommitted(t) {
		for _, q := range queries(t, f.name, f.parsed) {
			total++
			n, err := runQuery(t.Context(), prom, q, r)
			switch {
			case err != nil:
				t.Errorf("%s: %v", q.where, err)
			case n == 0 && strings.Contains(q.expr, vibectlPrefix):
				// The vibectl loop's metrics exist only while `agent
				// vibectl` runs, which needs an LLM API key; the query
				// still ran without error above.
				vibectlOnly = append(vibectlOnly, q.where)
			case n == 0:
				empty = append(empty, fmt.Sprintf("%s: %s", q.where, q.expr))
			}
		}
	}
	if len(empty) > 0 {
		t.Errorf("%d of %d dashboard queries returned no series:\n  %s",
			len(empty), total, strings.Join(empty, "\n  "))
	}
	t.Logf("%d dashboard queries ran, %d returned data; %d read only vibectl-mode metrics and ran without error: %s",
		total, total-len(empty)-len(vibectlOnly), len(vibectlOnly), strings.Join(vibectlOnly, "; "))
}

// runQuery runs q over r and returns how many series (or label values)
// it found.
func runQuery(ctx context.Context, prom promv1.API, q promQuery, r promv1.Range) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	if q.labelValues != nil {
		vals, _, _, err := prom.LabelValues(ctx, q.labelValues.label,
			[]string{q.labelValues.metric}, r.Start, r.End)
		if err != nil {
			return 0, fmt.Errorf("label values: %w", err)
		}
		return len(vals), nil
	}
	expr, err := substitute(q.expr)
	if err != nil {
		return 0, err
	}
	v, _, _, err := prom.QueryRange(ctx, expr, r)
	if err != nil {
		return 0, fmt.Errorf("query %s: %w", expr, err)
	}
	m, ok := v.(model.Matrix)
	if !ok {
		return 0, fmt.Errorf("query %s: got %s, want a matrix", expr, v.Type())
	}
	n := 0
	for _, s := range m {
		if len(s.Values) > 0 || len(s.Histograms) > 0 {
			n++
		}
	}
	return n, nil
}

func newPromClient(t *testing.T, url string) api.Client {
	t.Helper()
	c, err := api.NewClient(api.Config{Address: url})
	if err != nil {
		t.Fatalf("prometheus client for %s: %v", url, err)
	}
	return c
}

// testPrometheusURL returns the Prometheus to query: the one named by
// PrometheusURLEnv, else that of a local stack this test starts with the
// real agent binary, tuning with short trials so the agent's panels have
// data too. The stack stops when the test ends.
func testPrometheusURL(t *testing.T) string {
	t.Helper()
	if url := os.Getenv(PrometheusURLEnv); url != "" {
		return url
	}
	ctx, cancel := context.WithTimeout(t.Context(), 8*time.Minute)
	defer cancel()
	bin, err := localtest.Binaries(ctx)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cmd := exec.Command(filepath.Join(bin, "agent"), "local", "-free-ports",
		"-work-dir", filepath.Join(dir, "work"), "-status-dir", filepath.Join(dir, "status"),
		"-scrape-interval", "1s", "-tune", "-trials", "2", "-trial-warmup", "3s", "-trial-window", "5s", "-settle", "5s",
		"-producer-args", "-rate-mode fixed -rate 300")
	cmd.Env = append(os.Environ(), "AGENT_WEBHOOK_TOKEN=dashboards-live-test-token")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, "agent.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = logFile
	if err := cmd.Start(); err != nil {
		t.Fatalf("start agent local: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("agent local exited with %v (log %s)", err, logPath)
			}
		case <-time.After(2 * time.Minute):
			_ = cmd.Process.Kill()
			t.Errorf("agent local did not stop within 2 minutes of SIGTERM")
		}
		logFile.Close()
	})

	// agent local prints where everything is once the stack is up.
	urlc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if f := strings.Fields(sc.Text()); len(f) == 2 && f[0] == "prometheus" {
				urlc <- f[1]
			}
		}
	}()
	var url string
	select {
	case url = <-urlc:
	case <-ctx.Done():
		t.Fatalf("agent local did not come up (log %s)", logPath)
	}

	// Wait for two tuning trials and a full minute of rates.
	prom := promv1.NewAPI(newPromClient(t, url))
	started := time.Now()
	for {
		v, _, _, err := prom.Query(ctx, "sum("+telemetry.TunerTrials+")", time.Now())
		if vec, ok := v.(model.Vector); err == nil && ok && len(vec) == 1 && vec[0].Value >= 2 &&
			time.Since(started) > 75*time.Second {
			return url
		}
		select {
		case <-ctx.Done():
			t.Fatalf("no two tuning trials in Prometheus within the deadline (last: %v, %v; log %s)", v, err, logPath)
		case <-time.After(2 * time.Second):
		}
	}
}
