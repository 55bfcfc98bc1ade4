package dashboards

import (
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"

	"github.com/kafkatune/kafkatune/internal/telemetry"
)

// Agent shows what the tuning agent did: the broker settings over time with
// every change marked, its trials and scores, rollbacks, vibectl steps, and
// the alerts that can trigger a rollback.
func Agent() (dashboard.Dashboard, error) {
	b := newDashboard(AgentUID, "kafkatune / Agent",
		"What the tuning agent changed and when, how each trial scored, "+
			"and the alerts that roll a change back.")

	b.WithRow(row("Broker settings")).
		WithPanel(dashedLine(observedHeapPanel(), "^max .*")).
		WithPanel(timeSeries("Network threads (running)",
			"Network processor threads the broker runs, counted from its "+
				"per-thread metrics: the num.network.threads in effect.",
			unitCount,
			query{"count by (instance) (" +
				telemetry.BrokerNetworkProcessorIdle + ")",
				"network threads {{instance}}"}))

	b.WithRow(row("vibectl")).
		WithPanel(eventBars(timeSeries("vibectl steps",
			"vibectl steps that ended in each interval, by result. "+
				"\"failed\" includes steps that exited 0 but printed an "+
				"error.",
			unitCount,
			query{sumBy(increaseOf(telemetry.VibectlSteps), "result"),
				"{{result}}"}))).
		WithPanel(eventBars(timeSeries("Guard reverts and refused kubectl calls",
			"Knob values the guard put back within bounds after a vibectl "+
				"step, by knob, and kubectl commands the shim refused.",
			unitCount,
			query{sumBy(increaseOf(telemetry.VibectlGuardReverts),
				telemetry.LabelKnob), "revert {{knob}}"},
			query{sumBy(increaseOf(telemetry.VibectlKubectlCalls), "result"),
				"kubectl {{result}}"})))

	b.WithRow(row("Alerts")).
		WithPanel(newAlertListPanel("Alert rules",
			"Prometheus's alerting rules, firing and pending first. "+
				telemetry.AlertP99LatencyRegression+" firing soon after "+
				"a change makes the agent roll that change back.")).
		WithPanel(timeSeries("Firing alerts",
			"Number of Prometheus alerts firing.",
			unitCount, query{firingAlerts, "firing"}))

	return build(b)
}

// increaseOf is how much a counter grew in each interval.
func increaseOf(counter string) string {
	return fmt.Sprintf("increase(%s[%s])", counter, rateInterval)
}

// eventBars draws rare events as bars instead of lines.
func eventBars(b *timeseries.PanelBuilder) *timeseries.PanelBuilder {
	return b.DrawStyle(common.GraphDrawStyleBars).
		FillOpacity(80).
		Decimals(0)
}

func observedHeapPanel() *timeseries.PanelBuilder {
	heap := fmt.Sprintf(`%s="heap"`, telemetry.LabelArea)
	job := fmt.Sprintf(`job="%s"`, telemetry.JobKafka)
	return timeSeries("Heap (running)",
		"The broker JVM's maximum heap (-Xmx, dashed) and heap in use, "+
			"as the broker itself reports them: proof that a heap change "+
			"took effect.",
		unitBytes,
		query{selector(telemetry.JVMMemoryMax, job, heap), "max {{instance}}"},
		query{selector(telemetry.JVMMemoryUsed, job, heap), "used {{instance}}"})
}
