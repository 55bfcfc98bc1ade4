package dashboards

import (
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"

	"github.com/kafkatune/kafkatune/internal/telemetry"
)

// idleFloorPercent is the idle share below which a Kafka thread pool is
// the bottleneck: below 30% performance suffers, at 0% add threads.
const idleFloorPercent = 30

// dataPathRequests are the request types on the producer's and the
// consumer's path.
const dataPathRequests = "Produce|FetchConsumer"

// Broker shows the broker from the inside, through its JMX metrics: how
// busy the network and request handler threads are (the knobs the agent
// turns), request rates and times, and the JVM heap and GC.
func Broker() (dashboard.Dashboard, error) {
	b := newDashboard(BrokerUID, "kafkatune / Broker",
		"The Kafka broker's JMX metrics: thread pool idle time, requests "+
			"and their total time, heap and garbage collection.").
		Annotation(settingChanges()).
		WithVariable(variable(varInstance, "instance",
			telemetry.BrokerNetworkIdle))

	b.WithRow(row("Thread pools")).
		WithPanel(idlePanel(networkIdlePanel())).
		WithPanel(idlePanel(handlerIdlePanel())).
		WithPanel(timeSeries("Request queue",
			"Requests received by the network threads and waiting for a "+
				"request handler (I/O) thread. A queue that stays above 0 "+
				"means too few I/O threads.",
			unitCount,
			query{broker(telemetry.BrokerRequestQueueSize),
				"queued {{instance}}"}))

	b.WithRow(row("Requests")).
		WithPanel(timeSeries("Request rate by type",
			"Requests per second, by request type; types without "+
				"traffic are left out.",
			unitOpsRate,
			query{sumBy(rate(broker(telemetry.BrokerRequests)),
				telemetry.LabelRequest) + " > 0", "{{request}}"})).
		WithPanel(requestTimePanel()).
		WithPanel(timeSeries("Messages in",
			"Messages appended to the broker's logs per second, all topics.",
			unitOpsRate,
			query{sumBy(rate(broker(telemetry.BrokerMessagesIn)),
				"instance"), "messages in {{instance}}"})).
		WithPanel(timeSeries("Bytes in and out",
			"Bytes per second received from producers and sent to "+
				"consumers, all topics.",
			unitBytesSec,
			query{sumBy(rate(broker(telemetry.BrokerBytesIn)), "instance"),
				"in {{instance}}"},
			query{sumBy(rate(broker(telemetry.BrokerBytesOut)), "instance"),
				"out {{instance}}"}))

	b.WithRow(row("JVM")).
		WithPanel(dashedLine(heapPanel(), "^max .*")).
		WithPanel(gcPanel())

	return build(b)
}

// broker selects a broker series of the chosen instances.
func broker(metric string) string {
	return selector(metric, matchInstance)
}

// jvm selects a JVM series of the broker (the JMX exporter's defaults).
func jvm(metric string, matchers ...string) string {
	all := append([]string{fmt.Sprintf(`job="%s"`, telemetry.JobKafka),
		matchInstance}, matchers...)
	return selector(metric, all...)
}

// idlePanel draws a dashed line at the idle floor and colors below it.
func idlePanel(b *timeseries.PanelBuilder) *timeseries.PanelBuilder {
	return b.
		Thresholds(thresholds("red", step(idleFloorPercent, "green"))).
		ThresholdsStyle(common.NewGraphThresholdsStyleConfigBuilder().
			Mode(common.GraphThresholdsStyleModeDashed))
}

func networkIdlePanel() *timeseries.PanelBuilder {
	return timeSeries("Network processor idle",
		"Share of time the network threads are idle: the average, and "+
			"each thread. Below the dashed line (30%) the network threads "+
			"are the bottleneck: raise num.network.threads.",
		unitPercent,
		query{percent(broker(telemetry.BrokerNetworkIdle)),
			"average {{instance}}"},
		query{percent(broker(telemetry.BrokerNetworkProcessorIdle)),
			"processor {{network_processor}} {{instance}}"}).
		Span(thirdWidth)
}

func handlerIdlePanel() *timeseries.PanelBuilder {
	return timeSeries("Request handler (I/O) idle",
		"Share of time the request handler (I/O) threads are idle, "+
			"from the rate of their idle time. Below the dashed line "+
			"(30%) raise num.io.threads. In combined broker+controller "+
			"mode Kafka counts the controller's handler pool in the same "+
			"meter, so an idle broker reads up to 200%.",
		unitPercent,
		query{percent(rate(broker(
			telemetry.BrokerRequestHandlerIdleSeconds))),
			"idle {{instance}}"}).
		Span(thirdWidth)
}

func requestTimePanel() *timeseries.PanelBuilder {
	sel := func(q string) string {
		return selector(telemetry.BrokerRequestTotalTime, matchInstance,
			fmt.Sprintf(`%s=~"%s"`, telemetry.LabelRequest, dataPathRequests),
			fmt.Sprintf(`%s="%s"`, telemetry.LabelQuantile, q))
	}
	return timeSeries("Produce and fetch total time",
		"The broker's own P50 and P99 of the total time of produce and "+
			"consumer fetch requests, from receipt to response sent. "+
			"Consumer fetches include the long-poll wait for new data "+
			"(fetch.max.wait.ms), so a high fetch time alone is not a "+
			"problem.",
		unitSeconds,
		query{sel("0.5"), "{{request}} P50 {{instance}}"},
		query{sel("0.99"), "{{request}} P99 {{instance}}"})
}

func heapPanel() *timeseries.PanelBuilder {
	heap := fmt.Sprintf(`%s="heap"`, telemetry.LabelArea)
	return timeSeries("Heap used and max",
		"JVM heap in use and the maximum heap (-Xmx, dashed): the heap "+
			"knob the agent turns.",
		unitBytes,
		query{jvm(telemetry.JVMMemoryUsed, heap), "used {{instance}}"},
		query{jvm(telemetry.JVMMemoryMax, heap), "max {{instance}}"})
}

func gcPanel() *timeseries.PanelBuilder {
	return timeSeries("GC time",
		"Share of wall-clock time spent in garbage collection, per "+
			"collector. A small heap shows up here first.",
		unitFraction,
		query{sumBy(rate(jvm(telemetry.JVMGCSeconds+"_sum")), "gc",
			"instance"), "{{gc}} {{instance}}"})
}
