package rules

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// promConfig is the part of a Prometheus configuration these tests read.
type promConfig struct {
	Global struct {
		ScrapeInterval     string `yaml:"scrape_interval"`
		EvaluationInterval string `yaml:"evaluation_interval"`
	} `yaml:"global"`
	RuleFiles []string `yaml:"rule_files"`
	Alerting  struct {
		Alertmanagers []struct {
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
		} `yaml:"alertmanagers"`
	} `yaml:"alerting"`
	ScrapeConfigs []struct {
		JobName        string `yaml:"job_name"`
		ScrapeInterval string `yaml:"scrape_interval"`
		StaticConfigs  []struct {
			Targets []string `yaml:"targets"`
		} `yaml:"static_configs"`
	} `yaml:"scrape_configs"`
}

func readPrometheus(t *testing.T) []byte {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(repoRoot, PrometheusConfig))
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func decodeProm(t *testing.T, data []byte) promConfig {
	t.Helper()
	var c promConfig
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	if err := dec.Decode(&c); err != nil {
		t.Fatalf("decode: %v\n%s", err, data)
	}
	return c
}

func localScrape() Scrape {
	return Scrape{
		Targets: map[string]string{
			"producer": "127.0.0.1:19101", "consumer": "127.0.0.1:19102",
			"exporter": "127.0.0.1:19103", "agent": "127.0.0.1:19104", "kafka": "127.0.0.1:19404",
		},
		Alertmanager: "127.0.0.1:19093",
		Interval:     time.Second,
	}
}

func TestPrometheusConfigJobs(t *testing.T) {
	c := decodeProm(t, readPrometheus(t))
	var jobs []string
	for _, sc := range c.ScrapeConfigs {
		jobs = append(jobs, sc.JobName)
	}
	if strings.Join(jobs, ",") != strings.Join(Jobs(), ",") {
		t.Errorf("jobs %v, want %v (the alerting rules select on these names)", jobs, Jobs())
	}
	if len(c.RuleFiles) != 1 || c.RuleFiles[0] != "rules/*.yml" {
		t.Errorf("rule_files %v, want [rules/*.yml]", c.RuleFiles)
	}
}

func TestRenderPrometheus(t *testing.T) {
	s := localScrape()
	out, err := RenderPrometheus(readPrometheus(t), s)
	if err != nil {
		t.Fatal(err)
	}
	c := decodeProm(t, out)
	if c.Global.ScrapeInterval != "1s" || c.Global.EvaluationInterval != "1s" {
		t.Errorf("global intervals %q %q, want 1s", c.Global.ScrapeInterval, c.Global.EvaluationInterval)
	}
	if got := c.Alerting.Alertmanagers[0].StaticConfigs[0].Targets; len(got) != 1 || got[0] != s.Alertmanager {
		t.Errorf("alertmanager targets %v, want [%s]", got, s.Alertmanager)
	}
	for _, sc := range c.ScrapeConfigs {
		if len(sc.StaticConfigs) != 1 || len(sc.StaticConfigs[0].Targets) != 1 ||
			sc.StaticConfigs[0].Targets[0] != s.Targets[sc.JobName] {
			t.Errorf("job %s static configs %+v, want [%s]", sc.JobName, sc.StaticConfigs, s.Targets[sc.JobName])
		}
		if sc.ScrapeInterval != "" && sc.ScrapeInterval != "1s" {
			t.Errorf("job %s scrape_interval %q, want 1s", sc.JobName, sc.ScrapeInterval)
		}
	}
	if len(c.RuleFiles) != 1 || c.RuleFiles[0] != "rules/*.yml" {
		t.Errorf("rule_files %v changed", c.RuleFiles)
	}
}

func TestRenderPrometheusErrors(t *testing.T) {
	src := readPrometheus(t)
	cases := map[string]func(*Scrape){
		"missing job":     func(s *Scrape) { delete(s.Targets, "kafka") },
		"unknown job":     func(s *Scrape) { s.Targets["zookeeper"] = "h:1" },
		"bad target":      func(s *Scrape) { s.Targets["producer"] = "no-port" },
		"no alertmanager": func(s *Scrape) { s.Alertmanager = "" },
		"negative":        func(s *Scrape) { s.Interval = -time.Second },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			s := localScrape()
			mutate(&s)
			if _, err := RenderPrometheus(src, s); err == nil {
				t.Error("no error")
			}
		})
	}
	if _, err := RenderPrometheus([]byte("- a list"), localScrape()); err == nil {
		t.Error("a list rendered without error")
	}
}

// TestPromtoolCheckConfig checks the Compose configuration and a rendered
// local one with the real promtool, rules included.
func TestPromtoolCheckConfig(t *testing.T) {
	promtool := tool(t, "promtool", "prometheus")
	out := run(t, promtool, "check", "config", PrometheusConfig)
	if !strings.Contains(out, "SUCCESS") {
		t.Errorf("promtool check config: %s", out)
	}

	dir := t.TempDir()
	rendered, err := RenderPrometheus(readPrometheus(t), localScrape())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), rendered, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(repoRoot, RulesDir), filepath.Join(dir, "rules")); err != nil {
		t.Fatal(err)
	}
	out = run(t, promtool, "check", "config", filepath.Join(dir, "prometheus.yml"))
	if !strings.Contains(out, "SUCCESS") {
		t.Errorf("promtool check config (rendered): %s", out)
	}
}
