package dashboards

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"go.yaml.in/yaml/v3"
)

var provisioningDir = filepath.Join("..", "..", "grafana", "provisioning")

// datasourceFile is the part of Grafana's datasource provisioning format the
// dashboards depend on.
type datasourceFile struct {
	APIVersion  int `yaml:"apiVersion"`
	Datasources []struct {
		Name      string         `yaml:"name"`
		UID       string         `yaml:"uid"`
		Type      string         `yaml:"type"`
		Access    string         `yaml:"access"`
		URL       string         `yaml:"url"`
		IsDefault bool           `yaml:"isDefault"`
		Editable  bool           `yaml:"editable"`
		JSONData  map[string]any `yaml:"jsonData"`
	} `yaml:"datasources"`
}

type providerFile struct {
	APIVersion int `yaml:"apiVersion"`
	Providers  []struct {
		Name                  string `yaml:"name"`
		OrgID                 int    `yaml:"orgId"`
		Folder                string `yaml:"folder"`
		FolderUID             string `yaml:"folderUid"`
		Type                  string `yaml:"type"`
		DisableDeletion       bool   `yaml:"disableDeletion"`
		AllowUIUpdates        bool   `yaml:"allowUiUpdates"`
		UpdateIntervalSeconds int    `yaml:"updateIntervalSeconds"`
		Options               struct {
			Path                      string `yaml:"path"`
			FoldersFromFilesStructure bool   `yaml:"foldersFromFilesStructure"`
		} `yaml:"options"`
	} `yaml:"providers"`
}

// decodeStrict decodes YAML, rejecting keys the struct does not know, so a
// misspelt key fails here instead of being ignored by Grafana.
func decodeStrict(t *testing.T, path string, into any) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(into); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func TestDatasourceProvisioning(t *testing.T) {
	var f datasourceFile
	decodeStrict(t, filepath.Join(provisioningDir, "datasources",
		"datasources.yml"), &f)
	if f.APIVersion != 1 {
		t.Errorf("apiVersion %d, want 1", f.APIVersion)
	}
	byUID := map[string]int{}
	for i, ds := range f.Datasources {
		byUID[ds.UID] = i
	}
	tests := []struct {
		uid, name, typ, url string
		jsonData            map[string]any
	}{
		{DatasourceUID, DatasourceName, "prometheus", "http://prometheus:9090",
			map[string]any{"alertmanagerUid": AlertmanagerUID, "manageAlerts": true}},
		{AlertmanagerUID, "Alertmanager", "alertmanager", "http://alertmanager:9093",
			map[string]any{"implementation": "prometheus"}},
	}
	for _, tt := range tests {
		t.Run(tt.uid, func(t *testing.T) {
			i, ok := byUID[tt.uid]
			if !ok {
				t.Fatalf("no datasource with uid %q", tt.uid)
			}
			ds := f.Datasources[i]
			if ds.Name != tt.name || ds.Type != tt.typ || ds.URL != tt.url {
				t.Errorf("got name %q type %q url %q, want %q %q %q",
					ds.Name, ds.Type, ds.URL, tt.name, tt.typ, tt.url)
			}
			if ds.Access != "proxy" {
				t.Errorf("access %q, want proxy (the browser cannot reach "+
					"the compose network)", ds.Access)
			}
			for k, want := range tt.jsonData {
				if got := ds.JSONData[k]; got != want {
					t.Errorf("jsonData.%s = %v, want %v", k, got, want)
				}
			}
		})
	}
	if len(f.Datasources) != len(tests) {
		t.Errorf("%d datasources, want %d", len(f.Datasources), len(tests))
	}
	if !f.Datasources[byUID[DatasourceUID]].IsDefault {
		t.Error("the Prometheus datasource is not the default")
	}
}

func TestDashboardProvider(t *testing.T) {
	var f providerFile
	decodeStrict(t, filepath.Join(provisioningDir, "dashboards",
		"kafkatune.yml"), &f)
	if f.APIVersion != 1 || len(f.Providers) != 1 {
		t.Fatalf("want apiVersion 1 and one provider, got %d and %d",
			f.APIVersion, len(f.Providers))
	}
	p := f.Providers[0]
	if p.Type != "file" || p.Folder != Folder {
		t.Errorf("provider type %q folder %q, want file and %q",
			p.Type, p.Folder, Folder)
	}
	if p.Options.Path != ContainerDashboardDir {
		t.Errorf("provider path %q, want %q", p.Options.Path,
			ContainerDashboardDir)
	}
}
