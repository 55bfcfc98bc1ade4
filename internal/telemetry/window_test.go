package telemetry

import (
	"testing"
	"time"
)

// TestTrialWindowMatchesBridge pins the trial's throughput and P99 to the
// bridge's expressions, so the tuner and the dashboards read the same
// numbers.
func TestTrialWindowMatchesBridge(t *testing.T) {
	for _, w := range []time.Duration{5 * time.Second, time.Minute, 90 * time.Second} {
		q := TrialWindow(w)
		bridge := map[string]string{}
		for _, b := range BridgeQueries(w) {
			bridge[b.Name] = b.Expr
		}
		for _, got := range []Query{q.Throughput, q.P99} {
			if want, ok := bridge[got.Name]; !ok || got.Expr != want {
				t.Errorf("window %v: %s = %q, bridge has %q", w, got.Name, got.Expr, want)
			}
		}
	}
	q := TrialWindow(90 * time.Second)
	for _, tt := range []struct{ got, want Query }{
		{q.Throughput, Query{QueryProducerRate, "sum(rate(kafkatune_producer_messages_acked_total[90s]))"}},
		{q.P99, Query{QueryP99, "histogram_quantile(0.99, sum by (le) " +
			"(rate(kafkatune_consumer_end_to_end_latency_seconds_bucket[90s])))"}},
		{q.AckedSamples, Query{QueryAckedSamples,
			"sum(count_over_time(kafkatune_producer_messages_acked_total[90s]))"}},
		{q.LatencySamples, Query{QueryLatencySamples,
			"sum(count_over_time(kafkatune_consumer_end_to_end_latency_seconds_count[90s]))"}},
	} {
		if tt.got != tt.want {
			t.Errorf("got %+v, want %+v", tt.got, tt.want)
		}
	}
}
