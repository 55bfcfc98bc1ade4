package dashboards

import (
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/heatmap"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
)

// Grafana units used by the panels.
const (
	unitSeconds  = "s"
	unitMillis   = "ms"
	unitOpsRate  = "ops"
	unitBytes    = "bytes"
	unitBytesSec = "Bps"
	unitPercent  = "percent"
	unitFraction = "percentunit"
	unitCount    = "short"
	unitDateTime = "dateTimeAsIso"
)

// Panel sizes on Grafana's 24-column grid.
const (
	fullWidth   = 24
	halfWidth   = 12
	thirdWidth  = 8
	quarterWid  = 6
	graphHeight = 8
	statHeight  = 4
)

func ptr[T any](v T) *T { return &v }

// promRef points at the provisioned Prometheus datasource.
func promRef() common.DataSourceRef {
	return common.DataSourceRef{
		Type: ptr("prometheus"),
		Uid:  ptr(DatasourceUID),
	}
}

// query is one PromQL target. Legend names the series it draws.
type query struct {
	expr   string
	legend string
}

// target turns q into the SDK's Prometheus query with the given refId.
func (q query) target(refID string, instant bool) *prometheus.DataqueryBuilder {
	b := prometheus.NewDataqueryBuilder().
		Datasource(promRef()).
		RefId(refID).
		Expr(q.expr).
		LegendFormat(q.legend)
	if instant {
		return b.Instant()
	}
	return b.Range()
}

// refID names the i-th query of a panel A, B, C, ...
func refID(i int) string {
	return string(rune('A' + i))
}

func legendTable() *common.VizLegendOptionsBuilder {
	return common.NewVizLegendOptionsBuilder().
		ShowLegend(true).
		DisplayMode(common.LegendDisplayModeTable).
		Placement(common.LegendPlacementBottom).
		Calcs([]string{"lastNotNull", "max"})
}

func tooltipAll() *common.VizTooltipOptionsBuilder {
	return common.NewVizTooltipOptionsBuilder().
		Mode(common.TooltipDisplayModeMulti).
		Sort(common.SortOrderDescending)
}

// timeSeries is a line graph whose y axis starts at 0, with a table
// legend naming each series.
func timeSeries(title, desc, unit string, qs ...query) *timeseries.PanelBuilder {
	b := timeseries.NewPanelBuilder().
		Title(title).
		Description(desc).
		Datasource(promRef()).
		Unit(unit).
		Min(0).
		Height(graphHeight).
		Span(halfWidth).
		LineWidth(1).
		FillOpacity(10).
		ShowPoints(common.VisibilityModeNever).
		SpanNulls(common.BoolOrFloat64{Bool: ptr(false)}).
		Legend(legendTable()).
		Tooltip(tooltipAll())
	for i, q := range qs {
		b.WithTarget(q.target(refID(i), false))
	}
	return b
}

// dashedLine styles the series whose display names match the regular
// expression re as dashed reference lines (a target or a limit drawn next to
// the measured values).
func dashedLine(b *timeseries.PanelBuilder, re string) *timeseries.PanelBuilder {
	return b.OverrideByRegexp(re, []dashboard.DynamicConfigValue{
		{Id: "custom.lineStyle", Value: map[string]any{
			"fill": "dash", "dash": []int{10, 10},
		}},
		{Id: "custom.fillOpacity", Value: 0},
		{Id: "color", Value: map[string]any{
			"mode": "fixed", "fixedColor": "red",
		}},
	})
}

// statPanel shows the latest value of one instant query.
func statPanel(title, desc, unit string, q query) *stat.PanelBuilder {
	return stat.NewPanelBuilder().
		Title(title).
		Description(desc).
		Datasource(promRef()).
		Unit(unit).
		Height(statHeight).
		Span(fullWidth / 6).
		GraphMode(common.BigValueGraphModeArea).
		ColorMode(common.BigValueColorModeValue).
		ReduceOptions(common.NewReduceDataOptionsBuilder().
			Calcs([]string{"lastNotNull"})).
		WithTarget(q.target(refID(0), false))
}

// thresholds builds absolute thresholds: base color, then each step.
func thresholds(base string, steps ...dashboard.Threshold) *dashboard.ThresholdsConfigBuilder {
	all := append([]dashboard.Threshold{{Color: base}}, steps...)
	return dashboard.NewThresholdsConfigBuilder().
		Mode(dashboard.ThresholdsModeAbsolute).
		Steps(all)
}

func step(value float64, color string) dashboard.Threshold {
	return dashboard.Threshold{Value: ptr(value), Color: color}
}

// heatmapPanel draws pre-bucketed Prometheus histogram data (format
// heatmap), without Grafana re-bucketing it.
func heatmapPanel(title, desc, unit string, q query) *heatmap.PanelBuilder {
	t := q.target(refID(0), false).
		Format(prometheus.PromQueryFormatHeatmap)
	return heatmap.NewPanelBuilder().
		Title(title).
		Description(desc).
		Datasource(promRef()).
		Height(graphHeight).
		Span(halfWidth).
		Calculate(false).
		YAxis(heatmap.NewYAxisConfigBuilder().Unit(unit).Min(0)).
		RowsFrame(heatmap.NewRowsHeatmapOptionsBuilder().
			Layout(common.HeatmapCellLayoutLe)).
		Color(heatmap.NewHeatmapColorOptionsBuilder().
			Mode(heatmap.HeatmapColorModeScheme).
			Scheme("Oranges").
			Scale(heatmap.HeatmapColorScaleExponential).
			Exponent(0.5).
			Steps(64)).
		CellGap(1).
		ShowLegend().
		Tooltip(heatmap.NewHeatmapTooltipBuilder().
			Mode(common.TooltipDisplayModeSingle).
			YHistogram(true)).
		WithTarget(t)
}

// row starts a new row of panels.
func row(title string) *dashboard.RowBuilder {
	return dashboard.NewRowBuilder(title)
}

// variable is a multi-value template variable over the values of label in
// metric, "All" matching every value (and series without the label).
func variable(name, label, metric string) *dashboard.QueryVariableBuilder {
	def := fmt.Sprintf("label_values(%s, %s)", metric, label)
	return dashboard.NewQueryVariableBuilder(name).
		Label(name).
		Datasource(promRef()).
		Query(dashboard.StringOrMap{Map: map[string]any{
			"query": def,
			"refId": "PrometheusVariableQueryEditor-VariableQuery",
		}}).
		Definition(def).
		Refresh(dashboard.VariableRefreshOnTimeRangeChanged).
		Sort(dashboard.VariableSortAlphabeticalAsc).
		Multi(true).
		IncludeAll(true).
		AllValue(".*").
		Current(dashboard.VariableOption{
			Selected: ptr(true),
			Text:     dashboard.StringOrArrayOfString{String: ptr("All")},
			Value:    dashboard.StringOrArrayOfString{String: ptr("$__all")},
		})
}

// newDashboard sets what every kafkatune dashboard shares.
func newDashboard(uid, title, desc string) *dashboard.DashboardBuilder {
	return dashboard.NewDashboardBuilder(title).
		Uid(uid).
		Description(desc).
		Tags([]string{"kafkatune"}).
		Refresh("10s").
		Time("now-30m", "now").
		Timezone(common.TimeZoneBrowser).
		Tooltip(dashboard.DashboardCursorSyncCrosshair).
		Readonly().
		Link(dashboard.NewDashboardLinkBuilder("kafkatune").
			Type(dashboard.DashboardLinkTypeDashboards).
			Tags([]string{"kafkatune"}).
			AsDropdown(false).
			IncludeVars(false).
			KeepTime(true))
}

// build finishes b and numbers every panel and row 1, 2, 3, ... in order,
// so panel ids are unique and stable across regenerations. Links and
// annotation toggles go back to the dashboard's top bar: the SDK tucks them
// into the controls menu, where a viewer would not find them.
func build(b cog.Builder[dashboard.Dashboard]) (dashboard.Dashboard, error) {
	d, err := b.Build()
	if err != nil {
		return dashboard.Dashboard{}, err
	}
	for i := range d.Links {
		d.Links[i].Placement = nil
	}
	for i := range d.Annotations.List {
		d.Annotations.List[i].Placement = nil
	}
	var id uint32
	for _, p := range d.Panels {
		id++
		switch {
		case p.Panel != nil:
			p.Panel.Id = ptr(id)
		case p.RowPanel != nil:
			p.RowPanel.Id = id
			for i := range p.RowPanel.Panels {
				id++
				p.RowPanel.Panels[i].Id = ptr(id)
			}
		}
	}
	return d, nil
}
