package dashboards

import (
	"bytes"
	"regexp"
	"testing"

	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

// TestDashboardsRoundTrip parses each committed dashboard into the SDK's
// dashboard type and renders it again: nothing may be lost or unknown.
func TestDashboardsRoundTrip(t *testing.T) {
	for _, f := range loadCommitted(t) {
		t.Run(f.name, func(t *testing.T) {
			again, err := Render(f.parsed)
			if err != nil {
				t.Fatalf("render parsed dashboard: %v", err)
			}
			if !bytes.Equal(again, f.raw) {
				t.Errorf("parsing and rendering %s changes it at byte %d",
					f.name, firstDiff(again, f.raw))
			}
		})
	}
}

func TestDashboardsHaveFixedUIDs(t *testing.T) {
	want := map[string]string{
		"overview.json": OverviewUID,
		"broker.json":   BrokerUID,
		"agent.json":    AgentUID,
	}
	for _, f := range loadCommitted(t) {
		if got := deref(f.parsed.Uid); got != want[f.name] {
			t.Errorf("%s: uid %q, want %q", f.name, got, want[f.name])
		}
	}
}

func TestPanelIDsUnique(t *testing.T) {
	for _, f := range loadCommitted(t) {
		seen := map[uint32]string{}
		check := func(id uint32, what string) {
			if id == 0 {
				t.Errorf("%s: %s has no id", f.name, what)
				return
			}
			if prev, ok := seen[id]; ok {
				t.Errorf("%s: id %d used by %s and %s", f.name, id, prev, what)
			}
			seen[id] = what
		}
		for _, p := range f.parsed.Panels {
			if p.RowPanel != nil {
				check(p.RowPanel.Id, "row "+deref(p.RowPanel.Title))
			}
		}
		for _, p := range panels(f.parsed) {
			if p.Id == nil {
				t.Errorf("%s: panel %q has no id", f.name, title(p))
				continue
			}
			check(*p.Id, "panel "+title(p))
		}
	}
}

// queryless are the panel types that show something other than query
// results.
var queryless = map[string]bool{AlertListType: true, "text": true}

func TestEveryPanelHasQueries(t *testing.T) {
	for _, f := range loadCommitted(t) {
		for _, p := range panels(f.parsed) {
			if queryless[p.Type] {
				continue
			}
			if len(p.Targets) == 0 {
				t.Errorf("%s: panel %q (%s) has no query", f.name, title(p), p.Type)
			}
			for i, target := range p.Targets {
				q := promTarget(target)
				if q == nil {
					continue // reported by TestQueriesUseProvisionedDatasource
				}
				if q.Expr == "" {
					t.Errorf("%s: panel %q target %d has an empty expression",
						f.name, title(p), i)
				}
				if deref(q.LegendFormat) == "" {
					t.Errorf("%s: panel %q target %d has no legend naming "+
						"its series", f.name, title(p), i)
				}
			}
		}
	}
}

func TestQueriesUseProvisionedDatasource(t *testing.T) {
	for _, f := range loadCommitted(t) {
		for _, p := range panels(f.parsed) {
			if queryless[p.Type] {
				continue
			}
			if p.Datasource == nil || deref(p.Datasource.Uid) != DatasourceUID {
				t.Errorf("%s: panel %q does not use datasource uid %q",
					f.name, title(p), DatasourceUID)
			}
		}
		for _, q := range queries(t, f.name, f.parsed) {
			if q.datasource == nil || deref(q.datasource.Uid) != DatasourceUID ||
				deref(q.datasource.Type) != "prometheus" {
				t.Errorf("%s: query does not use the prometheus datasource "+
					"uid %q", q.where, DatasourceUID)
			}
		}
	}
}

// TestGraphsHaveUnitsAndZeroMin: every graph says what it measures and its
// y axis starts at 0 (no exaggerated wiggles).
func TestGraphsHaveUnitsAndZeroMin(t *testing.T) {
	for _, f := range loadCommitted(t) {
		for _, p := range panels(f.parsed) {
			if p.Type != "timeseries" && p.Type != "stat" {
				continue
			}
			defaults := fieldDefaults(p)
			if deref(defaults.Unit) == "" {
				t.Errorf("%s: panel %q has no unit", f.name, title(p))
			}
			if p.Type == "timeseries" && (defaults.Min == nil || *defaults.Min != 0) {
				t.Errorf("%s: panel %q y axis does not start at 0", f.name, title(p))
			}
		}
	}
}

func fieldDefaults(p dashboard.Panel) dashboard.FieldConfig {
	if p.FieldConfig == nil {
		return dashboard.FieldConfig{}
	}
	return p.FieldConfig.Defaults
}

// TestAlertListReadsPrometheusRules: the alert list filters by datasource
// name, so it must name the provisioned Prometheus datasource.
func TestAlertListReadsPrometheusRules(t *testing.T) {
	found := 0
	for _, f := range loadCommitted(t) {
		for _, p := range panels(f.parsed) {
			if p.Type != AlertListType {
				continue
			}
			found++
			opts, ok := p.Options.(*AlertListOptions)
			if !ok {
				t.Fatalf("%s: alert list options decode as %T", f.name, p.Options)
			}
			if opts.Datasource != DatasourceName {
				t.Errorf("%s: alert list reads %q, want %q", f.name,
					opts.Datasource, DatasourceName)
			}
			if !opts.StateFilter.Firing || !opts.StateFilter.Pending {
				t.Errorf("%s: alert list hides firing or pending alerts", f.name)
			}
		}
	}
	if found == 0 {
		t.Error("no dashboard has an alert list panel")
	}
}

// grafanaBuiltins are variables Grafana defines itself.
var grafanaBuiltins = map[string]bool{
	"__rate_interval": true, "__interval": true, "__range": true,
}

var variableRE = regexp.MustCompile(`\$(\w+)`)

// TestVariablesDefined: a query may only use the dashboard's own template
// variables (Grafana leaves an unknown $name in the query as it is).
func TestVariablesDefined(t *testing.T) {
	for _, f := range loadCommitted(t) {
		defined := map[string]bool{}
		for _, v := range f.parsed.Templating.List {
			defined[v.Name] = true
		}
		for _, q := range queries(t, f.name, f.parsed) {
			for _, m := range variableRE.FindAllStringSubmatch(q.expr, -1) {
				if !defined[m[1]] && !grafanaBuiltins[m[1]] {
					t.Errorf("%s: $%s is not a variable of %s", q.where,
						m[1], f.name)
				}
			}
		}
	}
}
