package dashboards

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
)

// PrometheusURLEnv names a running Prometheus, holding data from the real
// kafkatune components, to run the dashboards' queries against.
const PrometheusURLEnv = "KAFKATUNE_TEST_PROMETHEUS_URL"

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

	var empty []string
	total := 0
	for _, f := range loadCommitted(t) {
		for _, q := range queries(t, f.name, f.parsed) {
			total++
			n, err := runQuery(t.Context(), prom, q, r)
			switch {
			case err != nil:
				t.Errorf("%s: %v", q.where, err)
			case n == 0:
				empty = append(empty, fmt.Sprintf("%s: %s", q.where, q.expr))
			}
		}
	}
	if len(empty) > 0 {
		t.Errorf("%d of %d dashboard queries returned no series:\n  %s",
			len(empty), total, strings.Join(empty, "\n  "))
	}
	t.Logf("%d dashboard queries ran, %d returned data", total, total-len(empty))
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

// testPrometheusURL returns the Prometheus to query. Without one the test
// fails: the dashboards are only checked against real data.
func testPrometheusURL(t *testing.T) string {
	t.Helper()
	if url := os.Getenv(PrometheusURLEnv); url != "" {
		return url
	}
	t.Fatalf("no Prometheus with kafkatune data: set %s to the URL of a "+
		"Prometheus scraping the local stack (make local)", PrometheusURLEnv)
	return ""
}
