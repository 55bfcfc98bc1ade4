package rules

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"slices"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/kafkatune/kafkatune/internal/telemetry"
)

// PrometheusConfig is the Prometheus configuration of the Compose stack,
// relative to the repository root.
const PrometheusConfig = "prometheus/prometheus.yml"

// Jobs returns the scrape job names prometheus.yml must define, in order.
func Jobs() []string {
	return []string{telemetry.JobProducer, telemetry.JobConsumer, telemetry.JobExporter,
		telemetry.JobAgent, telemetry.JobKafka}
}

// Scrape says where a Prometheus outside Compose finds everything.
type Scrape struct {
	// Targets maps every job of Jobs to its host:port.
	Targets map[string]string
	// Alertmanager is the host:port of Alertmanager.
	Alertmanager string
	// Interval, if above zero, replaces the scrape and rule evaluation
	// intervals, and every job's own scrape interval.
	Interval time.Duration
}

// Validate reports whether s names a valid address for every job and for
// Alertmanager.
func (s Scrape) Validate() error {
	var errs []error
	for _, job := range Jobs() {
		if err := hostPort(s.Targets[job]); err != nil {
			errs = append(errs, fmt.Errorf("target of job %q: %w", job, err))
		}
	}
	for job := range s.Targets {
		if !slices.Contains(Jobs(), job) {
			errs = append(errs, fmt.Errorf("target of unknown job %q (known: %v)", job, Jobs()))
		}
	}
	if err := hostPort(s.Alertmanager); err != nil {
		errs = append(errs, fmt.Errorf("alertmanager: %w", err))
	}
	if s.Interval < 0 {
		errs = append(errs, fmt.Errorf("interval %s: want 0 (keep) or above", s.Interval))
	}
	return errors.Join(errs...)
}

func hostPort(addr string) error {
	if _, port, err := net.SplitHostPort(addr); err != nil || port == "" {
		return fmt.Errorf("%q: want host:port", addr)
	}
	return nil
}

// RenderPrometheus returns the Prometheus configuration src (usually the
// contents of PrometheusConfig) with the targets, Alertmanager and
// intervals of s. Rules, job names and everything else are kept, so the
// local stack evaluates the very rules the Compose stack does.
func RenderPrometheus(src []byte, s Scrape) ([]byte, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, fmt.Errorf("decode prometheus config: %w", err)
	}
	if len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, errors.New("prometheus config: not a mapping")
	}
	root := doc.Content[0]
	if s.Interval > 0 {
		g := mapping(root, "global")
		setScalar(g, "scrape_interval", model(s.Interval))
		setScalar(g, "evaluation_interval", model(s.Interval))
	}
	if err := setAlertmanager(root, s.Alertmanager); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	jobs := value(root, "scrape_configs")
	if jobs == nil || jobs.Kind != yaml.SequenceNode {
		return nil, errors.New("prometheus config: no scrape_configs")
	}
	for _, j := range jobs.Content {
		name := value(j, "job_name")
		if name == nil {
			return nil, errors.New("prometheus config: scrape config without job_name")
		}
		addr, ok := s.Targets[name.Value]
		if !ok {
			return nil, fmt.Errorf("prometheus config: job %q has no target", name.Value)
		}
		seen[name.Value] = true
		setTargets(j, addr)
		if s.Interval > 0 && value(j, "scrape_interval") != nil {
			setScalar(j, "scrape_interval", model(s.Interval))
		}
	}
	for _, job := range Jobs() {
		if !seen[job] {
			return nil, fmt.Errorf("prometheus config: no scrape job %q", job)
		}
	}

	var buf bytes.Buffer
	fmt.Fprintf(&buf, "# Rendered from %s for a local stack.\n", PrometheusConfig)
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, fmt.Errorf("encode prometheus config: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encode prometheus config: %w", err)
	}
	return buf.Bytes(), nil
}

func setAlertmanager(root *yaml.Node, addr string) error {
	ams := value(mapping(root, "alerting"), "alertmanagers")
	if ams == nil || ams.Kind != yaml.SequenceNode || len(ams.Content) != 1 {
		return errors.New("prometheus config: want exactly one entry in alerting.alertmanagers")
	}
	setTargets(ams.Content[0], addr)
	return nil
}

// setTargets replaces the static_configs of a scrape or alertmanager
// config with one group holding addr.
func setTargets(m *yaml.Node, addr string) {
	targets := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Style: yaml.FlowStyle,
		Content: []*yaml.Node{{Kind: yaml.ScalarNode, Tag: "!!str", Value: addr, Style: yaml.DoubleQuotedStyle}}}
	group := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	set(group, "targets", targets)
	set(m, "static_configs", &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Content: []*yaml.Node{group}})
}

// model formats d as a Prometheus duration (whole milliseconds at least).
func model(d time.Duration) string {
	if d%time.Second == 0 {
		return fmt.Sprintf("%ds", int64(d/time.Second))
	}
	return fmt.Sprintf("%dms", d.Milliseconds())
}
