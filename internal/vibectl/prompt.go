package vibectl

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/kafkatune/kafkatune/internal/knobs"
	"github.com/kafkatune/kafkatune/internal/status"
	sandbox "github.com/kafkatune/kafkatune/k8s-sandbox/vibectl"
)

// Names of the templates in instructions.tmpl besides the main one.
const (
	templateMemory  = "memory"
	templateRequest = "request"
)

// PromptData is everything the templates may use.
type PromptData struct {
	Namespace, StatefulSet, Container, ConfigMap string
	TargetP99Ms                                  float64
	CPULimit                                     float64
	MemoryLimitMB                                int
	MinChangeInterval                            string
	MetricKeys                                   []MetricKey
	Knobs                                        []KnobInfo
	// ExampleEnv and ExampleValue illustrate a change inside the bounds.
	ExampleEnv, ExampleValue string

	// The request of a step also has these.
	Step, MaxSteps int
	Metrics        MetricsView
	LastResult     string
}

// MetricKey is one key of the measurement ConfigMap.
type MetricKey struct{ Key, Meaning string }

// KnobInfo describes one knob.
type KnobInfo struct {
	Env, Meaning, Current, Allowed, Rule string
}

// MetricsView is the latest status snapshot, rendered for the request.
type MetricsView struct {
	// Source says where the values come from and how old they are.
	Source string
	// Summary lists the values, or says that there are none.
	Summary string
}

// metricKeys are the ConfigMap keys the instructions explain.
var metricKeys = []MetricKey{
	{status.KeyActualLatency, "consumer end-to-end P99 latency, ms"},
	{status.KeyTargetLatency, "the P99 target, ms"},
	{status.KeyProducerTarget, "rate the producer aims for, messages/s"},
	{status.KeyProducerActual, "rate the broker acknowledges, messages/s"},
	{status.KeyConsumerActual, "rate the consumer receives, messages/s"},
	{status.KeyP50, "median end-to-end latency, ms"},
	{status.KeyP95, "95th percentile end-to-end latency, ms"},
	{status.KeyErrorRate, "producer errors/s"},
	{status.KeyStale, "true when the values could not be refreshed"},
	{status.KeyUpdatedAt, "when the values were measured"},
}

// Prompts renders the three prompts of the agent.
type Prompts struct {
	tmpl *template.Template
	base PromptData
}

// NewPrompts parses the template text (the embedded instructions.tmpl when
// path is "") and fills the fixed part of the data from c.
func NewPrompts(c *Config, path string) (*Prompts, error) {
	text := sandbox.InstructionsTemplate
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("read instructions template: %w", err)
		}
		text = string(b)
	}
	t, err := template.New("instructions").Option("missingkey=error").Funcs(template.FuncMap{
		"ms":   formatNumber,
		"cpus": formatNumber,
	}).Parse(text)
	if err != nil {
		return nil, fmt.Errorf("parse instructions template: %w", err)
	}
	for _, name := range []string{templateMemory, templateRequest} {
		if t.Lookup(name) == nil {
			return nil, fmt.Errorf("instructions template has no %q template", name)
		}
	}
	return &Prompts{tmpl: t, base: baseData(c)}, nil
}

func formatNumber(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

func baseData(c *Config) PromptData {
	b := c.Limits.Bounds()
	ex := min(b.IOThreads.Max, max(b.IOThreads.Min, 4))
	return PromptData{
		Namespace:         c.Namespace,
		StatefulSet:       c.StatefulSet,
		Container:         c.Container,
		ConfigMap:         c.ConfigMap,
		TargetP99Ms:       c.TargetLatencyMs,
		CPULimit:          c.Limits.CPUs,
		MemoryLimitMB:     c.Limits.MemoryMB,
		MinChangeInterval: c.MinChangeInterval.String(),
		MetricKeys:        metricKeys,
		Knobs:             knobInfos(b, knobs.Start()),
		ExampleEnv:        knobs.EnvIOThreads,
		ExampleValue:      strconv.Itoa(ex),
		MaxSteps:          c.MaxSteps,
	}
}

// knobInfos describes the knobs with their current values cur.
func knobInfos(b knobs.Bounds, cur knobs.Setting) []KnobInfo {
	cpus := formatNumber(b.Limits.CPUs)
	return []KnobInfo{
		{
			Env: knobs.EnvHeapOpts, Meaning: "JVM heap, -Xms equal to -Xmx",
			Current: strconv.Quote(cur.HeapOpts()),
			Allowed: fmt.Sprintf("-Xms<N>m -Xmx<N>m with N from %d to %d",
				b.HeapMB.Min, b.HeapMB.Max),
			Rule: fmt.Sprintf("at most half of the %d MiB memory limit; nothing but -Xms and -Xmx",
				b.Limits.MemoryMB),
		},
		{
			Env: knobs.EnvNetworkThreads, Meaning: knobs.PropNetworkThreads,
			Current: strconv.Itoa(cur.NetworkThreads),
			Allowed: fmt.Sprintf("%d to %d", b.NetworkThreads.Min, b.NetworkThreads.Max),
			Rule:    fmt.Sprintf("%d per CPU x %s CPUs", knobs.NetworkThreadsPerCPU, cpus),
		},
		{
			Env: knobs.EnvIOThreads, Meaning: knobs.PropIOThreads,
			Current: strconv.Itoa(cur.IOThreads),
			Allowed: fmt.Sprintf("%d to %d", b.IOThreads.Min, b.IOThreads.Max),
			Rule:    fmt.Sprintf("%d per CPU x %s CPUs", knobs.IOThreadsPerCPU, cpus),
		},
	}
}

// Instructions renders vibectl's custom instructions for the knobs cur.
func (p *Prompts) Instructions(cur knobs.Setting) (string, error) {
	return p.render("instructions", p.withKnobs(cur))
}

// Memory renders the seed memory for the knobs cur.
func (p *Prompts) Memory(cur knobs.Setting) (string, error) {
	return p.render(templateMemory, p.withKnobs(cur))
}

// Request renders the request of step (1-based) with the knobs cur, the
// latest metrics and the result of the previous step.
func (p *Prompts) Request(step int, cur knobs.Setting, m MetricsView, last string) (string, error) {
	d := p.withKnobs(cur)
	d.Step, d.Metrics, d.LastResult = step, m, last
	return p.render(templateRequest, d)
}

func (p *Prompts) withKnobs(cur knobs.Setting) PromptData {
	d := p.base
	d.Knobs = knobInfos(p.base.bounds(), cur)
	return d
}

func (d PromptData) bounds() knobs.Bounds {
	return knobs.Limits{CPUs: d.CPULimit, MemoryMB: d.MemoryLimitMB}.Bounds()
}

func (p *Prompts) render(name string, d PromptData) (string, error) {
	var buf bytes.Buffer
	if err := p.tmpl.ExecuteTemplate(&buf, name, d); err != nil {
		return "", fmt.Errorf("render %s prompt: %w", name, err)
	}
	out := strings.TrimSpace(buf.String()) + "\n"
	if strings.Contains(out, "<no value>") {
		return "", fmt.Errorf("render %s prompt: a value is missing", name)
	}
	return out, nil
}

// ViewSnapshot renders the bridge's snapshot s (nil when there is none)
// for the request, as of now.
func ViewSnapshot(s *status.Snapshot, now time.Time) MetricsView {
	if s == nil {
		return MetricsView{Source: "no status snapshot", Summary: "no measurements yet"}
	}
	age := now.Sub(s.Time).Round(time.Second)
	src := fmt.Sprintf("status snapshot of %s, %s old", s.Time.UTC().Format(time.RFC3339), age)
	if s.Stale {
		src += ", STALE"
	}
	parts := []string{
		"p99_ms=" + status.FormatMs(s.P99LatencyMs),
		"target_ms=" + formatNumber(s.TargetLatencyMs),
		"p95_ms=" + status.FormatMs(s.P95LatencyMs),
		"producer_actual_rate=" + status.FormatRate(s.ProducerActualRate),
		"producer_target_rate=" + status.FormatRate(s.ProducerTargetRate),
		"consumer_actual_rate=" + status.FormatRate(s.ConsumerActualRate),
		"producer_error_rate=" + status.FormatRate(s.ProducerErrorRate),
	}
	return MetricsView{Source: src, Summary: strings.Join(parts, ", ")}
}
