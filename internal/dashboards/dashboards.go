// Package dashboards builds kafkatune's Grafana dashboards from Go with the
// Grafana Foundation SDK. The JSON files under grafana/dashboards are its
// output, committed so that Grafana can provision them; `make dashboards`
// (go run ./internal/dashboards/gen) rewrites them, and a test fails when the
// committed files and this package disagree.
//
// Every kafkatune metric name comes from internal/telemetry. The broker's
// JMX metric names live in brokermetrics.go, next to the exporter rules in
// prometheus/jmx-exporter.yml that produce them.
package dashboards

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

// Provisioning contract: grafana/provisioning refers to the same values.
const (
	// DatasourceUID is the fixed uid of the provisioned Prometheus
	// datasource. Every panel and query names it, so a restarted Grafana
	// never loses the link (a datasource without a fixed uid gets a new
	// one on every start).
	DatasourceUID = "prometheus"
	// DatasourceName is the display name of the Prometheus datasource; the
	// alert list panel filters alert rules by datasource name.
	DatasourceName = "Prometheus"
	// AlertmanagerUID is the fixed uid of the provisioned Alertmanager
	// datasource.
	AlertmanagerUID = "alertmanager"
	// Folder is the Grafana folder the dashboards are provisioned into.
	Folder = "kafkatune"
	// ContainerDashboardDir is where the Grafana container must mount
	// grafana/dashboards; the dashboard provider reads it.
	ContainerDashboardDir = "/var/lib/grafana/dashboards"
	// ContainerProvisioningDir is where the Grafana container must mount
	// grafana/provisioning (Grafana's default provisioning path).
	ContainerProvisioningDir = "/etc/grafana/provisioning"
)

// File is one generated dashboard and the file name it is written to.
type File struct {
	Name      string
	Dashboard dashboard.Dashboard
}

// All builds every dashboard, in a fixed order.
func All() ([]File, error) {
	builders := []struct {
		name  string
		build func() (dashboard.Dashboard, error)
	}{
		{"overview.json", Overview},
		{"broker.json", Broker},
		{"agent.json", Agent},
	}
	files := make([]File, 0, len(builders))
	for _, b := range builders {
		d, err := b.build()
		if err != nil {
			return nil, fmt.Errorf("build %s: %w", b.name, err)
		}
		files = append(files, File{Name: b.name, Dashboard: d})
	}
	return files, nil
}

// Render encodes d as the indented JSON that is committed, with a final
// newline.
func Render(d dashboard.Dashboard) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(d); err != nil {
		return nil, fmt.Errorf("encode dashboard: %w", err)
	}
	return buf.Bytes(), nil
}

// WriteAll renders every dashboard into dir, replacing existing files.
func WriteAll(dir string) error {
	files, err := All()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	for _, f := range files {
		b, err := Render(f.Dashboard)
		if err != nil {
			return fmt.Errorf("render %s: %w", f.Name, err)
		}
		path := filepath.Join(dir, f.Name)
		if err := os.WriteFile(path, b, 0o644); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
	}
	return nil
}
