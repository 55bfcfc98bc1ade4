package dashboards

import (
	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"

	"github.com/kafkatune/kafkatune/internal/telemetry"
)

// Dashboard uids, stable so that links and bookmarks survive regeneration.
const (
	OverviewUID = "kafkatune-overview"
	BrokerUID   = "kafkatune-broker"
	AgentUID    = "kafkatune-agent"
)

// Legends of the reference lines drawn dashed.
const (
	legendTargetRate    = "target rate"
	legendTargetLatency = "target P99"
)

// Overview is the first dashboard a user sees: does the broker keep up, what
// is the end-to-end P99 against its target, are messages lost or
// duplicated, and is anything firing.
func Overview() (dashboard.Dashboard, error) {
	b := newDashboard(OverviewUID, "kafkatune / Overview",
		"Load generator view of the Kafka broker: throughput against the "+
			"target, end-to-end latency against the P99 target, errors, "+
			"lag and delivery correctness.").
		Annotation(settingChanges()).
		WithVariable(variable(varTopic, telemetry.LabelTopic,
			telemetry.ConsumerReceived)).
		WithVariable(variable(varInstance, "instance", telemetry.BuildInfo))

	b.WithRow(row("Now"))
	for _, p := range overviewStats() {
		b.WithPanel(p)
	}

	b.WithRow(row("Throughput")).
		WithPanel(dashedLine(throughputPanel(), "^"+legendTargetRate+"$")).
		WithPanel(bytesPanel())

	b.WithRow(row("Latency")).
		WithPanel(dashedLine(endToEndPanel(), "^"+legendTargetLatency+"$")).
		WithPanel(heatmapPanel("End-to-end latency distribution",
			"How many messages arrived with each end-to-end latency, per "+
				"histogram bucket. A second band above the main one is a "+
				"stall (GC pause, full request queue) hitting some messages.",
			unitSeconds,
			query{sumBy(increaseBuckets(telemetry.ConsumerEndToEndLatency),
				"le"), "{{le}}"})).
		WithPanel(quantilePanel("Produce (ack) latency",
			"Time from the actual send to the broker's delivery report "+
				"(acks=all), per quantile.",
			telemetry.ProducerAckLatency)).
		WithPanel(quantilePanel("Send delay (schedule slip)",
			"Time from the send time the schedule intended to the moment "+
				"the client actually sent. It grows when the producer "+
				"cannot keep its rate: that delay is part of the "+
				"end-to-end latency, never hidden (coordinated omission).",
			telemetry.ProducerSendDelay))

	b.WithRow(row("Errors and correctness")).
		WithPanel(errorsPanel()).
		WithPanel(timeSeries("Consumer lag",
			"Messages between the consumer's position and the high "+
				"watermark, summed over its partitions.",
			unitCount,
			query{sumBy(loadgen(telemetry.ConsumerLag), "instance"),
				"lag {{instance}}"})).
		WithPanel(correctnessPanel()).
		WithPanel(timeSeries("Producer messages in flight",
			"Messages sent and not yet acknowledged or failed.",
			unitCount,
			query{sumBy(loadgen(telemetry.ProducerInFlight), "instance"),
				"in flight {{instance}}"}))

	b.WithRow(row("Bridge")).
		WithPanel(timeSeries("Bridge freshness",
			"Seconds since the bridge last refreshed every value of "+
				"latency.txt and the ConfigMap. The values are marked "+
				"stale past three refresh intervals.",
			unitSeconds,
			query{"time() - max(" + telemetry.BridgeLastSuccess + ")",
				"since last full refresh"})).
		WithPanel(timeSeries("Bridge query errors",
			"PromQL queries of the bridge that failed, per second, by "+
				"query.",
			unitOpsRate,
			query{sumBy(rate(telemetry.BridgeQueryErrors),
				telemetry.LabelQuery), "{{query}}"}))

	return build(b)
}

// overviewStats are the headline numbers, read from the recorded series
// that the bridge and the alerts use.
func overviewStats() []cog.Builder[dashboard.Panel] {
	return []cog.Builder[dashboard.Panel]{
		statPanel("P99 end-to-end (1m)",
			"Recorded P99 over the last minute: the series the alerts "+
				"and the bridge read.",
			unitSeconds, query{telemetry.RuleP99Latency1m, "P99"}),
		statPanel("Target P99",
			"The end-to-end P99 target the bridge exports.",
			unitSeconds, query{telemetry.RuleTargetLatency, "target"}),
		statPanel("Produced (acked)", "Acknowledged messages per second (1m).",
			unitOpsRate, query{telemetry.RuleProducerAckedRate1m, "acked"}),
		statPanel("Consumed", "Received messages per second (1m).",
			unitOpsRate,
			query{telemetry.RuleConsumerReceivedRate1m, "consumed"}),
		statPanel("Consumer lag", "Messages not yet consumed, all consumers.",
			unitCount, query{telemetry.RuleConsumerLag, "lag"}),
		statPanel("Firing alerts",
			"Prometheus alerts firing now; the Agent dashboard lists them.",
			unitCount, query{firingAlerts, "firing"}),
	}
}

// firingAlerts counts Prometheus's firing alerts, 0 when none fire.
const firingAlerts = `count(ALERTS{alertstate="firing"}) or vector(0)`

func throughputPanel() *timeseries.PanelBuilder {
	return timeSeries("Produce and consume rate",
		"Messages per second sent, acknowledged by the broker and "+
			"received by the consumer, and the producer's target rate "+
			"(dashed; 0 in max mode). Acked below target means the broker "+
			"does not keep up.",
		unitOpsRate,
		query{sumBy(rate(loadgen(telemetry.ProducerSent))), "sent"},
		query{sumBy(rate(loadgen(telemetry.ProducerAcked))), "acked"},
		query{sumBy(rate(loadgen(telemetry.ConsumerReceived))), "consumed"},
		query{sumBy(loadgen(telemetry.ProducerTargetRate)), legendTargetRate})
}

func bytesPanel() *timeseries.PanelBuilder {
	return timeSeries("Payload throughput",
		"Payload bytes per second acknowledged and received.",
		unitBytesSec,
		query{sumBy(rate(loadgen(telemetry.ProducerBytesAcked))), "acked"},
		query{sumBy(rate(loadgen(telemetry.ConsumerBytesReceived))),
			"received"})
}

func endToEndPanel() *timeseries.PanelBuilder {
	hist := telemetry.ConsumerEndToEndLatency
	return timeSeries("End-to-end latency",
		"Consumer receive time minus the send time the producer's "+
			"schedule intended, per quantile, against the P99 target "+
			"(dashed).",
		unitSeconds,
		query{histogramQuantile(0.50, hist, matchTopic, matchInstance), "P50"},
		query{histogramQuantile(0.95, hist, matchTopic, matchInstance), "P95"},
		query{histogramQuantile(0.99, hist, matchTopic, matchInstance), "P99"},
		query{telemetry.RuleTargetLatency, legendTargetLatency})
}

// quantilePanel draws P50 and P99 of a latency histogram.
func quantilePanel(title, desc, hist string) *timeseries.PanelBuilder {
	return timeSeries(title, desc, unitSeconds,
		query{histogramQuantile(0.50, hist, matchTopic, matchInstance), "P50"},
		query{histogramQuantile(0.99, hist, matchTopic, matchInstance), "P99"})
}

func errorsPanel() *timeseries.PanelBuilder {
	by := telemetry.LabelReason
	return timeSeries("Errors by reason",
		"Messages that finally failed to produce, and errors the "+
			"consumer's client reported, per second and reason; and "+
			"producer clients recreated after a fatal error (a broker "+
			"restart can cause one).",
		unitOpsRate,
		query{sumBy(rate(loadgen(telemetry.ProducerRecreated))),
			"producer recreated"},
		query{sumBy(rate(loadgen(telemetry.ProducerFailed)), by),
			"produce: {{" + by + "}}"},
		query{sumBy(rate(loadgen(telemetry.ConsumerErrors)), by),
			"consume: {{" + by + "}}"})
}

func correctnessPanel() *timeseries.PanelBuilder {
	return timeSeries("Sequence gaps, duplicates and foreign records",
		"Per second: messages missing from a producer's sequence, "+
			"messages seen twice, and records kafkatune did not write. "+
			"All three stay at 0 on a healthy run.",
		unitOpsRate,
		query{sumBy(rate(loadgen(telemetry.ConsumerSequenceGaps))), "gaps"},
		query{sumBy(rate(loadgen(telemetry.ConsumerDuplicates))),
			"duplicates"},
		query{sumBy(rate(loadgen(telemetry.ConsumerForeign))), "foreign"})
}

// increaseBuckets is the per-bucket increase of a histogram over the rate
// interval, for heatmaps.
func increaseBuckets(hist string) string {
	return "increase(" + loadgen(hist+"_bucket") + "[" + rateInterval + "])"
}
