package dashboards

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
)

// committedFile is one dashboard as Grafana will load it.
type committedFile struct {
	name   string
	raw    []byte
	parsed dashboard.Dashboard
}

// loadCommitted parses every committed dashboard into the SDK's dashboard
// type. SDK v0.0.22's strict decoder cannot be used: it reports success as
// an empty, non-nil cog.BuildErrors and, because of that, drops every
// panel. TestDashboardsRoundTrip makes up for it: decoding and encoding
// again must give the committed bytes, so no field is unknown or lost.
func loadCommitted(t *testing.T) []committedFile {
	t.Helper()
	RegisterPanelTypes()
	paths, err := filepath.Glob(filepath.Join(dashboardDir, "*.json"))
	if err != nil {
		t.Fatalf("list dashboards: %v", err)
	}
	if len(paths) == 0 {
		t.Fatalf("no dashboards in %s; %s", dashboardDir, regenerate)
	}
	files := make([]committedFile, 0, len(paths))
	for _, p := range paths {
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatalf("read %s: %v", p, err)
		}
		var d dashboard.Dashboard
		if err := json.Unmarshal(raw, &d); err != nil {
			t.Fatalf("%s does not parse as a Grafana dashboard: %v", p, err)
		}
		files = append(files, committedFile{filepath.Base(p), raw, d})
	}
	return files
}

// panels flattens the dashboard's panels, including those inside rows.
func panels(d dashboard.Dashboard) []dashboard.Panel {
	var out []dashboard.Panel
	for _, p := range d.Panels {
		if p.Panel != nil {
			out = append(out, *p.Panel)
		}
		if p.RowPanel != nil {
			out = append(out, p.RowPanel.Panels...)
		}
	}
	return out
}

// promQuery is one PromQL expression of a dashboard and where it is.
type promQuery struct {
	where      string
	expr       string
	datasource *common.DataSourceRef
	// labelValues is set for a label_values(metric, label) variable.
	labelValues *labelValuesQuery
}

type labelValuesQuery struct {
	metric, label string
}

// promTarget returns the Prometheus query of a panel target, or nil.
func promTarget(q any) *prometheus.Dataquery {
	switch v := q.(type) {
	case *prometheus.Dataquery:
		return v
	case prometheus.Dataquery:
		return &v
	}
	return nil
}

func title(p dashboard.Panel) string {
	if p.Title == nil {
		return "(untitled)"
	}
	return *p.Title
}

var labelValuesRE = regexp.MustCompile(`^label_values\(\s*([^,]+?)\s*,\s*(\w+)\s*\)$`)

// queries lists every PromQL expression of d: panel targets, template
// variables and annotations. It fails the test on a target, variable or
// annotation it cannot read.
func queries(t *testing.T, file string, d dashboard.Dashboard) []promQuery {
	t.Helper()
	var out []promQuery
	for _, p := range panels(d) {
		for i, target := range p.Targets {
			q := promTarget(target)
			if q == nil {
				t.Errorf("%s: panel %q target %d is not a Prometheus "+
					"query (%T)", file, title(p), i, target)
				continue
			}
			out = append(out, promQuery{
				where: fmt.Sprintf("%s / %s / %s", file, title(p),
					deref(q.RefId)),
				expr:       q.Expr,
				datasource: q.Datasource,
			})
		}
	}
	for _, v := range d.Templating.List {
		out = append(out, variableQuery(t, file, v))
	}
	for _, a := range d.Annotations.List {
		if a.Expr == nil {
			continue
		}
		out = append(out, promQuery{
			where:      fmt.Sprintf("%s / annotation %s", file, a.Name),
			expr:       *a.Expr,
			datasource: a.Datasource,
		})
	}
	return out
}

func variableQuery(t *testing.T, file string, v dashboard.VariableModel) promQuery {
	t.Helper()
	q := promQuery{
		where:      fmt.Sprintf("%s / variable $%s", file, v.Name),
		datasource: v.Datasource,
	}
	if v.Query == nil || v.Query.Map == nil {
		t.Errorf("%s: variable %s has no query object", file, v.Name)
		return q
	}
	s, _ := v.Query.Map["query"].(string)
	m := labelValuesRE.FindStringSubmatch(s)
	if m == nil {
		t.Errorf("%s: variable %s query %q is not label_values(metric, "+
			"label)", file, v.Name, s)
		return q
	}
	q.expr = m[1]
	q.labelValues = &labelValuesQuery{metric: m[1], label: m[2]}
	return q
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
