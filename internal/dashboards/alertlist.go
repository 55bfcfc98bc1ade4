package dashboards

import (
	"encoding/json"
	"fmt"
	"sync"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/plugins"
	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

// AlertListType is the plugin id of Grafana's alert list panel. SDK
// v0.0.22 ships no builder for it, so this file defines one.
const AlertListType = "alertlist"

// AlertListOptions are the options of Grafana's (unified) alert list panel
// that kafkatune sets. Datasource is a datasource name: the panel then lists
// the alerting rules Prometheus evaluates, not Grafana-managed ones.
type AlertListOptions struct {
	ViewMode                 string               `json:"viewMode"`
	GroupMode                string               `json:"groupMode"`
	GroupBy                  []string             `json:"groupBy"`
	MaxItems                 int                  `json:"maxItems"`
	SortOrder                int                  `json:"sortOrder"`
	DashboardAlerts          bool                 `json:"dashboardAlerts"`
	AlertName                string               `json:"alertName"`
	AlertInstanceLabelFilter string               `json:"alertInstanceLabelFilter"`
	Datasource               string               `json:"datasource"`
	ShowInactiveAlerts       bool                 `json:"showInactiveAlerts"`
	StateFilter              AlertListStateFilter `json:"stateFilter"`
}

// AlertListStateFilter selects which alert states the panel lists.
type AlertListStateFilter struct {
	Firing     bool `json:"firing"`
	Pending    bool `json:"pending"`
	Recovering bool `json:"recovering"`
	NoData     bool `json:"noData"`
	Normal     bool `json:"normal"`
	Error      bool `json:"error"`
}

// sortImportance orders alerts by state importance (firing first).
const sortImportance = 3

// alertListPanel lists Prometheus's alerting rules, firing and pending
// first, inactive ones too so the list shows what is watched.
type alertListPanel struct {
	panel dashboard.Panel
}

var _ cog.Builder[dashboard.Panel] = (*alertListPanel)(nil)

func newAlertListPanel(title, desc string) *alertListPanel {
	p := dashboard.NewPanel()
	p.Type = AlertListType
	p.Title = ptr(title)
	p.Description = ptr(desc)
	p.GridPos = &dashboard.GridPos{H: graphHeight, W: halfWidth}
	p.Options = &AlertListOptions{
		ViewMode:           "list",
		GroupMode:          "default",
		GroupBy:            []string{},
		MaxItems:           20,
		SortOrder:          sortImportance,
		Datasource:         DatasourceName,
		ShowInactiveAlerts: true,
		StateFilter: AlertListStateFilter{
			Firing: true, Pending: true, Recovering: true,
			Normal: true, Error: true, NoData: true,
		},
	}
	return &alertListPanel{panel: *p}
}

// Build returns the panel.
func (b *alertListPanel) Build() (dashboard.Panel, error) {
	return b.panel, nil
}

func unmarshalAlertListOptions(raw []byte) (any, error) {
	opts := &AlertListOptions{}
	if err := json.Unmarshal(raw, opts); err != nil {
		return nil, fmt.Errorf("decode alert list options: %w", err)
	}
	return opts, nil
}

var registerOnce sync.Once

// RegisterPanelTypes teaches the SDK's runtime every panel and query type
// the kafkatune dashboards use, so that dashboard.Dashboard can decode them:
// the SDK's own types and the alert list panel defined here. Safe to call
// more than once.
func RegisterPanelTypes() {
	registerOnce.Do(func() {
		plugins.RegisterDefaultPlugins()
		cog.NewRuntime().RegisterPanelcfgVariant(variants.PanelcfgConfig{
			Identifier:         AlertListType,
			OptionsUnmarshaler: unmarshalAlertListOptions,
		})
	})
}
