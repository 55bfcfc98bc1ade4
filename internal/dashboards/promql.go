package dashboards

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/kafkatune/kafkatune/internal/telemetry"
)

// Grafana template variables the queries refer to. TestQueriesReturnData
// substitutes each with a value Prometheus accepts.
const (
	varTopic     = "topic"
	varInstance  = "instance"
	rateInterval = "$__rate_interval"
)

// Label matchers that follow the dashboard's variables. "All" selects ".*",
// which also matches series without the label.
var (
	matchTopic    = fmt.Sprintf(`%s=~"$%s"`, telemetry.LabelTopic, varTopic)
	matchInstance = fmt.Sprintf(`instance=~"$%s"`, varInstance)
)

// selector renders metric{m1,m2,...}.
func selector(metric string, matchers ...string) string {
	if len(matchers) == 0 {
		return metric
	}
	return metric + "{" + strings.Join(matchers, ",") + "}"
}

// loadgen selects a load generator series filtered by topic and instance.
func loadgen(metric string) string {
	return selector(metric, matchTopic, matchInstance)
}

// sumBy wraps expr in sum, or sum by (labels) when labels are given.
func sumBy(expr string, labels ...string) string {
	if len(labels) == 0 {
		return "sum(" + expr + ")"
	}
	return fmt.Sprintf("sum by (%s) (%s)", strings.Join(labels, ", "), expr)
}

// rate is the per-second rate of sel over Grafana's rate interval.
func rate(sel string) string {
	return fmt.Sprintf("rate(%s[%s])", sel, rateInterval)
}

// histogramQuantile is quantile q of a classic histogram, over the rate
// interval, across every series the matchers select.
func histogramQuantile(q float64, histogram string, matchers ...string) string {
	return fmt.Sprintf("histogram_quantile(%s, %s)",
		strconv.FormatFloat(q, 'f', -1, 64),
		sumBy(rate(selector(histogram+"_bucket", matchers...)), "le"))
}

// percent turns a 0..1 ratio into 0..100.
func percent(expr string) string {
	return "100 * " + expr
}
