package telemetry

import (
	"fmt"
	"time"
)

// Names of the sample-count queries of a trial window.
const (
	QueryAckedSamples   = "producer_acked_samples"
	QueryLatencySamples = "end_to_end_latency_samples"
)

// TrialQueries measure one tuning trial over a window that ends at the
// query's evaluation time. Throughput and P99 are the bridge's own
// expressions (see BridgeQueries) over that window; the two sample counts
// say how many raw scraped points, summed over series, the window held for
// each of them.
type TrialQueries struct {
	// Throughput is the producer's acknowledged messages per second.
	Throughput Query
	// P99 is the consumer end-to-end P99 latency in seconds.
	P99 Query
	// AckedSamples counts the points of the acknowledged-messages counter.
	AckedSamples Query
	// LatencySamples counts the points of the end-to-end histogram's
	// _count series.
	LatencySamples Query
}

// TrialWindow returns the queries of a trial window of the given length,
// which must be whole seconds (PromQL ranges here are rendered in seconds).
func TrialWindow(window time.Duration) TrialQueries {
	return TrialQueries{
		Throughput:     Query{QueryProducerRate, rateOf(ProducerAcked, window)},
		P99:            Query{QueryP99, EndToEndQuantile(0.99, window)},
		AckedSamples:   Query{QueryAckedSamples, samplesOf(ProducerAcked, window)},
		LatencySamples: Query{QueryLatencySamples, samplesOf(ConsumerEndToEndLatency+"_count", window)},
	}
}

// samplesOf counts the raw samples of series over window, summed over all
// series of that name.
func samplesOf(series string, window time.Duration) string {
	return fmt.Sprintf("sum(count_over_time(%s[%s]))", series, promDuration(window))
}
