// Package rules reads kafkatune's Prometheus rule files and its
// Alertmanager configuration, so that tests can hold them to the names in
// internal/telemetry and the local stack can adapt the Alertmanager
// configuration to the addresses it runs on.
package rules

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"go.yaml.in/yaml/v3"
)

// Paths relative to the repository root.
const (
	// RulesDir holds the recording and alerting rule files Prometheus
	// loads (rules/*.yml next to prometheus.yml).
	RulesDir = "prometheus/rules"
	// TestsDir holds the promtool rule unit tests.
	TestsDir = "prometheus/tests"
	// AlertmanagerConfig is the Alertmanager configuration of the
	// Compose stack; RenderAlertmanager adapts it for other stacks.
	AlertmanagerConfig = "prometheus/alertmanager.yml"
)

// File is a Prometheus rule file.
type File struct {
	Groups []Group `yaml:"groups"`
}

// Group is a named group of rules evaluated together.
type Group struct {
	Name     string `yaml:"name"`
	Interval string `yaml:"interval,omitempty"`
	Limit    int    `yaml:"limit,omitempty"`
	Rules    []Rule `yaml:"rules"`
}

// Rule is a recording rule (Record set) or an alerting rule (Alert set).
type Rule struct {
	Record      string            `yaml:"record,omitempty"`
	Alert       string            `yaml:"alert,omitempty"`
	Expr        string            `yaml:"expr"`
	For         string            `yaml:"for,omitempty"`
	Labels      map[string]string `yaml:"labels,omitempty"`
	Annotations map[string]string `yaml:"annotations,omitempty"`
}

// Name returns the recorded series or the alert name.
func (r Rule) Name() string {
	if r.Alert != "" {
		return r.Alert
	}
	return r.Record
}

// Rules returns the rules of every group, in file order.
func (f *File) Rules() []Rule {
	var all []Rule
	for _, g := range f.Groups {
		all = append(all, g.Rules...)
	}
	return all
}

// Load reads a rule file. Unknown keys are errors, so a misspelt
// "annotations" or "for" cannot pass unnoticed.
func Load(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read rule file: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var f File
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("decode rule file %s: %w", path, err)
	}
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			if (r.Record == "") == (r.Alert == "") {
				return nil, fmt.Errorf("rule file %s, group %s: a rule "+
					"needs exactly one of record and alert", path, g.Name)
			}
		}
	}
	return &f, nil
}

// LoadDir reads every *.yml rule file in dir, keyed by file name.
func LoadDir(dir string) (map[string]*File, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.yml"))
	if err != nil {
		return nil, fmt.Errorf("list rule files: %w", err)
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("no rule files in %s", dir)
	}
	sort.Strings(paths)
	files := make(map[string]*File, len(paths))
	for _, p := range paths {
		f, err := Load(p)
		if err != nil {
			return nil, err
		}
		files[filepath.Base(p)] = f
	}
	return files, nil
}
