package dashboards

import (
	"fmt"
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/statetimeline"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"

	"github.com/kafkatune/kafkatune/internal/telemetry"
)

// Agent shows what the tuning agent did: the broker settings over time with
// every change marked, its trials and scores, rollbacks, vibectl steps, and
// the alerts that can trigger a rollback.
func Agent() (dashboard.Dashboard, error) {
	b := newDashboard(AgentUID, "kafkatune / Agent",
		"What the tuning agent changed and when, how each trial scored, "+
			"and the alerts that roll a change back.").
		Annotation(settingChanges())

	b.WithRow(row("Broker settings")).
		WithPanel(currentSettingStat()).
		WithPanel(statPanel("Time since last change",
			"How long ago the tuner last changed the broker's setting.",
			unitSeconds,
			query{"time() - (max(" + telemetry.TunerLastChange + ") > 0)",
				"since last change"}).Span(fullWidth / 4)).
		WithPanel(statPanel("Best score",
			"Score of the incumbent setting's latest measurement: "+
				"producer messages per second, penalized when P99 is "+
				"over the target.",
			unitOpsRate, query{"max(" + telemetry.TunerBestScore + ")",
				"best score"}).Span(fullWidth / 4)).
		WithPanel(statPanel("Rollbacks since start",
			"Changes rolled back after a P99 regression alert.",
			unitCount, query{"sum(" + telemetry.TunerRollbacks + ")",
				"rollbacks"}).Span(fullWidth / 4)).
		WithPanel(settingTimeline()).
		WithPanel(dashedLine(observedHeapPanel(), "^max .*")).
		WithPanel(timeSeries("Network threads (running)",
			"Network processor threads the broker runs, counted from its "+
				"per-thread metrics: the num.network.threads in effect.",
			unitCount,
			query{"count by (instance) (" +
				telemetry.BrokerNetworkProcessorIdle + ")",
				"network threads {{instance}}"}))

	b.WithRow(row("Trials")).
		WithPanel(eventBars(timeSeries("Trials by result",
			"Trials that ended in each interval: kept (the setting became "+
				"the incumbent), not kept, or failed (apply, verify or "+
				"measure).",
			unitCount,
			query{sumBy(increaseOf(telemetry.TunerTrials),
				telemetry.LabelResult), "{{result}}"}))).
		WithPanel(dashedLine(timeSeries("Scores",
			"The latest trial's score and the incumbent's (dashed).",
			unitOpsRate,
			query{"max(" + telemetry.TunerTrialScore + ")", "trial score"},
			query{"max(" + telemetry.TunerBestScore + ")", "best score"}),
			"^best score$")).
		WithPanel(timeSeries("Trial throughput",
			"Producer throughput the latest valid trial measured.",
			unitOpsRate,
			query{"max(" + telemetry.TunerTrialThroughput + ")",
				"trial throughput"})).
		WithPanel(dashedLine(timeSeries("Trial P99",
			"End-to-end P99 the latest valid trial measured, against the "+
				"target (dashed).",
			unitSeconds,
			query{"max(" + telemetry.TunerTrialP99 + ")", "trial P99"},
			query{telemetry.RuleTargetLatency, legendTargetLatency}),
			"^"+legendTargetLatency+"$")).
		WithPanel(eventBars(timeSeries("Rollbacks",
			"Changes the agent rolled back because "+
				telemetry.AlertP99LatencyRegression+" fired after them.",
			unitCount,
			query{"sum(" + increaseOf(telemetry.TunerRollbacks) + ")",
				"rollbacks"})).Span(fullWidth))

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

// settingLegend names a setting by the labels of the tuner's info metric.
var settingLegend = fmt.Sprintf(
	"heap {{%s}} MiB, {{%s}} network, {{%s}} I/O threads",
	telemetry.LabelHeapMB, telemetry.LabelNetworkThreads,
	telemetry.LabelIOThreads)

// runningSetting selects the info series of the setting the broker runs.
var runningSetting = telemetry.TunerCurrentSetting + " == 1"

func currentSettingStat() *stat.PanelBuilder {
	return statPanel("Current setting",
		"The broker setting the tuner applied last and verified.",
		unitCount, query{runningSetting, settingLegend}).
		TextMode(common.BigValueTextModeName).
		GraphMode(common.BigValueGraphModeNone).
		Span(fullWidth / 4)
}

// settingTimeline draws one lane per setting, filled while it ran.
func settingTimeline() *statetimeline.PanelBuilder {
	return statetimeline.NewPanelBuilder().
		Title("Settings over time").
		Description("Which heap and thread setting the broker ran when; " +
			"each change is also marked on every graph of the kafkatune " +
			"dashboards.").
		Datasource(promRef()).
		Height(graphHeight).
		Span(fullWidth).
		ShowValue(common.VisibilityModeNever).
		MergeValues(true).
		Mappings([]dashboard.ValueMapping{{ValueMap: &dashboard.ValueMap{
			Type: dashboard.MappingTypeValueToText,
			Options: map[string]dashboard.ValueMappingResult{
				"1": {Text: ptr("running"), Color: ptr("green")},
			},
		}}}).
		Legend(common.NewVizLegendOptionsBuilder().
			ShowLegend(false).
			DisplayMode(common.LegendDisplayModeList).
			Placement(common.LegendPlacementBottom)).
		WithTarget(query{runningSetting, settingLegend}.target(refID(0), false))
}

// settingChanges marks each change of the broker's setting on every graph,
// naming the new setting.
func settingChanges() *dashboard.AnnotationQueryBuilder {
	labels := strings.Join([]string{telemetry.LabelHeapMB,
		telemetry.LabelNetworkThreads, telemetry.LabelIOThreads}, ", ")
	expr := fmt.Sprintf("(changes(%s[1m]) > 0) * on (instance) "+
		"group_left (%s) (%s)", telemetry.TunerLastChange, labels,
		runningSetting)
	return dashboard.NewAnnotationQueryBuilder().
		Name("Setting changes").
		Datasource(promRef()).
		Enable(true).
		IconColor("orange").
		Expr(expr).
		Step("1m").
		TitleFormat("Broker setting changed").
		TextFormat(settingLegend)
}
