package telemetry

import (
	"fmt"
	"time"
)

// TargetLatency is the consumer end-to-end P99 target, in seconds, as a
// gauge. The bridge exports it (and the consumer may too) so that alerting
// rules compare the measured P99 with the same target the tuner works to.
const TargetLatency = "kafkatune_target_latency_seconds"

// Scrape job names. prometheus.yml must use exactly these, because the
// alerting rules select on them.
const (
	JobProducer = "producer"
	JobConsumer = "consumer"
	JobExporter = "exporter"
	JobAgent    = "agent"
	JobKafka    = "kafka"
)

// Recording rules (prometheus/rules/recording.yml), named
// level:metric:operations. Dashboards, the bridge and the alerts read these
// series instead of repeating the expressions.
const (
	RuleP50Latency1m = "kafkatune:e2e_latency_seconds:p50_1m"
	RuleP95Latency1m = "kafkatune:e2e_latency_seconds:p95_1m"
	RuleP99Latency1m = "kafkatune:e2e_latency_seconds:p99_1m"
	RuleP50Latency5m = "kafkatune:e2e_latency_seconds:p50_5m"
	RuleP95Latency5m = "kafkatune:e2e_latency_seconds:p95_5m"
	RuleP99Latency5m = "kafkatune:e2e_latency_seconds:p99_5m"

	RuleProduceP99Latency1m = "kafkatune:produce_ack_latency_seconds:p99_1m"
	RuleProduceP99Latency5m = "kafkatune:produce_ack_latency_seconds:p99_5m"

	RuleProducerSentRate1m     = "kafkatune:producer_sent:rate1m"
	RuleProducerAckedRate1m    = "kafkatune:producer_acked:rate1m"
	RuleProducerAckedRate5m    = "kafkatune:producer_acked:rate5m"
	RuleConsumerReceivedRate1m = "kafkatune:consumer_received:rate1m"
	RuleConsumerReceivedRate5m = "kafkatune:consumer_received:rate5m"
	RuleProducerErrorRatio5m   = "kafkatune:producer_error_ratio:rate5m"
	RuleProducerTargetRate     = "kafkatune:producer_target_messages_per_second:sum"
	RuleConsumerLag            = "kafkatune:consumer_lag_messages:sum"
	RuleTargetLatency          = "kafkatune:target_latency_seconds:min"
)

// targetLookback is how long the recorded target outlives the last scrape
// of TargetLatency, so a bridge restart does not disarm the latency alerts.
const targetLookback = time.Hour

// dropNaN filters out NaN samples (NaN >= 0 is false) and keeps the rest.
const dropNaN = " >= 0"

// Alert names (prometheus/rules/alerts.yml). The agent's Alertmanager
// webhook acts on AlertP99LatencyRegression.
const (
	AlertP99LatencyRegression  = "KafkaP99LatencyRegression"
	AlertP99AboveTarget        = "KafkaP99AboveTarget"
	AlertLoadGeneratorDown     = "KafkaLoadGeneratorDown"
	AlertProducerStalled       = "KafkaProducerStalled"
	AlertBridgeDown            = "KafkaBridgeDown"
	AlertBridgeStale           = "KafkaBridgeStale"
	AlertConsumerFallingBehind = "KafkaConsumerFallingBehind"
)

// Alerts returns every alert name defined in the alerting rules.
func Alerts() []string {
	return []string{
		AlertP99LatencyRegression,
		AlertP99AboveTarget,
		AlertLoadGeneratorDown,
		AlertProducerStalled,
		AlertBridgeDown,
		AlertBridgeStale,
		AlertConsumerFallingBehind,
	}
}

// Histograms returns the names of the metrics kafkatune exports as
// histograms. PromQL reads them through their _bucket, _sum and _count
// series, never by the bare name.
func Histograms() []string {
	return []string{
		ProducerAckLatency,
		ProducerSendDelay,
		ConsumerEndToEndLatency,
		BridgeQueryDuration,
	}
}

// RecordingRule is one recording rule: the series it records and the PromQL
// it evaluates.
type RecordingRule struct {
	Record string
	Expr   string
}

// RecordingRules returns the recording rules exactly as
// prometheus/rules/recording.yml must hold them; a test keeps the file and
// this list equal.
//
// Recorded quantiles drop the NaN that histogram_quantile returns for a
// window without traffic, so an idle minute is a gap rather than a value
// that poisons the baselines the alerts compute over time.
func RecordingRules() []RecordingRule {
	rules := make([]RecordingRule, 0, 17)
	for _, q := range []struct {
		record string
		q      float64
		window time.Duration
	}{
		{RuleP50Latency1m, 0.50, time.Minute},
		{RuleP95Latency1m, 0.95, time.Minute},
		{RuleP99Latency1m, 0.99, time.Minute},
		{RuleP50Latency5m, 0.50, 5 * time.Minute},
		{RuleP95Latency5m, 0.95, 5 * time.Minute},
		{RuleP99Latency5m, 0.99, 5 * time.Minute},
	} {
		expr := EndToEndQuantile(q.q, q.window) + dropNaN
		rules = append(rules, RecordingRule{q.record, expr})
	}

	rules = append(rules,
		RecordingRule{RuleProduceP99Latency1m,
			ProduceQuantile(0.99, time.Minute) + dropNaN},
		RecordingRule{RuleProduceP99Latency5m,
			ProduceQuantile(0.99, 5*time.Minute) + dropNaN},
		RecordingRule{RuleProducerSentRate1m, rateOf(ProducerSent, time.Minute)},
		RecordingRule{RuleProducerAckedRate1m, rateOf(ProducerAcked, time.Minute)},
		RecordingRule{RuleProducerAckedRate5m, rateOf(ProducerAcked, 5*time.Minute)},
		RecordingRule{RuleConsumerReceivedRate1m, rateOf(ConsumerReceived, time.Minute)},
		RecordingRule{RuleConsumerReceivedRate5m, rateOf(ConsumerReceived, 5*time.Minute)},
		RecordingRule{RuleProducerErrorRatio5m, errorRatio(5 * time.Minute)},
		RecordingRule{RuleProducerTargetRate, "sum(" + ProducerTargetRate + ")"},
		RecordingRule{RuleConsumerLag, "sum(" + ConsumerLag + ")"},
		RecordingRule{RuleTargetLatency, fmt.Sprintf("min(last_over_time(%s[%s]))",
			TargetLatency, promDuration(targetLookback))},
	)
	return rules
}

// errorRatio is the share of finished sends that failed over window. A
// producer that never failed may have no failure series at all, which counts
// as zero; a window without any finished send has no ratio.
func errorRatio(window time.Duration) string {
	failed := "(" + rateOf(ProducerFailed, window) + " or vector(0))"
	return fmt.Sprintf("(%s / (%s + %s))%s",
		failed, rateOf(ProducerAcked, window), failed, dropNaN)
}
