package telemetry

import (
	"fmt"
	"strconv"
	"time"
)

// Query is a named PromQL expression. Name is stable and used as the value of
// the bridge's "query" label and as the JSON key in the status snapshot.
type Query struct {
	Name string
	Expr string
}

// Query names used by the bridge, the tuner and the status snapshot.
const (
	QueryP50           = "p50_latency_seconds"
	QueryP95           = "p95_latency_seconds"
	QueryP99           = "p99_latency_seconds"
	QueryProducerTgt   = "producer_target_rate"
	QueryProducerRate  = "producer_actual_rate"
	QueryConsumerRate  = "consumer_actual_rate"
	QueryErrorRate     = "producer_error_rate"
	QueryProduceP99    = "produce_p99_latency_seconds"
	QueryConsumerLag   = "consumer_lag_messages"
	QuerySequenceGaps  = "sequence_gap_rate"
	QueryDuplicateRate = "duplicate_rate"
)

// promDuration renders d as a PromQL duration ("30s", "2m").
func promDuration(d time.Duration) string {
	if d%time.Minute == 0 {
		return strconv.FormatInt(int64(d/time.Minute), 10) + "m"
	}
	return strconv.FormatInt(int64(d/time.Second), 10) + "s"
}

// EndToEndQuantile returns the PromQL for quantile q (0 < q < 1) of the
// end-to-end latency over window, in seconds, across all consumers.
func EndToEndQuantile(q float64, window time.Duration) string {
	return quantile(q, ConsumerEndToEndLatency, window)
}

// ProduceQuantile returns the PromQL for quantile q of the producer's ack
// latency over window, in seconds.
func ProduceQuantile(q float64, window time.Duration) string {
	return quantile(q, ProducerAckLatency, window)
}

func quantile(q float64, histogram string, window time.Duration) string {
	return fmt.Sprintf("histogram_quantile(%s, sum by (le) (rate(%s_bucket[%s])))",
		strconv.FormatFloat(q, 'f', -1, 64), histogram, promDuration(window))
}

// rateOf sums the per-second rate of a counter over window.
func rateOf(counter string, window time.Duration) string {
	return fmt.Sprintf("sum(rate(%s[%s]))", counter, promDuration(window))
}

// BridgeQueries returns the queries the bridge runs every cycle, evaluated
// over window. Rates are in messages per second, latencies in seconds.
func BridgeQueries(window time.Duration) []Query {
	return []Query{
		{QueryP50, EndToEndQuantile(0.50, window)},
		{QueryP95, EndToEndQuantile(0.95, window)},
		{QueryP99, EndToEndQuantile(0.99, window)},
		{QueryProduceP99, ProduceQuantile(0.99, window)},
		{QueryProducerTgt, "sum(" + ProducerTargetRate + ")"},
		{QueryProducerRate, rateOf(ProducerAcked, window)},
		{QueryConsumerRate, rateOf(ConsumerReceived, window)},
		{QueryErrorRate, rateOf(ProducerFailed, window)},
		{QueryConsumerLag, "sum(" + ConsumerLag + ")"},
		{QuerySequenceGaps, rateOf(ConsumerSequenceGaps, window)},
		{QueryDuplicateRate, rateOf(ConsumerDuplicates, window)},
	}
}
