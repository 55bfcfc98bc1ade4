// Package localstack runs kafkatune's whole stack on one machine without
// Docker: a real Kafka broker (internal/kafkaproc), real Prometheus and
// Alertmanager (internal/promproc) configured from the repository's files,
// and the loadgen and exporter binaries as supervised child processes. It
// backs `agent local` (and so `make local`) and the end-to-end tests.
package localstack

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/kafkatune/kafkatune/internal/childproc"
	"github.com/kafkatune/kafkatune/internal/kafkaproc"
)

// Ports are the loopback ports of the stack's parts. Zero picks a free
// port at start.
type Ports struct {
	Kafka, Controller, JMX   int
	Prometheus, Alertmanager int
	Producer, Consumer       int
	Exporter                 int
	// Agent is where the agent serves /metrics and the Alertmanager
	// webhook. The stack does not run the agent (the caller is the agent);
	// it points Prometheus and Alertmanager at this port.
	Agent int
}

// ConventionalPorts are the ports `make local` uses, the same as the
// Compose stack's where both have the part.
func ConventionalPorts() Ports {
	return Ports{
		Kafka:        kafkaproc.ConventionalBrokerPort,
		Controller:   kafkaproc.ConventionalControllerPort,
		JMX:          kafkaproc.ConventionalJMXPort,
		Prometheus:   9090,
		Alertmanager: 9093,
		Producer:     9101,
		Consumer:     9102,
		Exporter:     9103,
		Agent:        9104,
	}
}

// Config describes a local stack.
type Config struct {
	// WorkDir holds the broker's data, Prometheus's and Alertmanager's
	// files and data, and logs/ with one log file per child. Broker data
	// is kept across runs.
	WorkDir string
	// StatusDir is where the bridge writes latency.txt and metrics.json.
	StatusDir string
	// BinDir holds the loadgen and exporter executables.
	BinDir string
	// Ports of every part; see Ports.
	Ports Ports
	// Broker is the broker's starting configuration. DataDir and the
	// ports are filled in from WorkDir and Ports.
	Broker kafkaproc.Config
	// Topic is the load generators' topic.
	Topic string
	// TargetLatencyMs is the end-to-end P99 target.
	TargetLatencyMs float64
	// ProducerArgs and ConsumerArgs are extra flags for `loadgen produce`
	// and `loadgen consume` (for example -rate-mode fixed -rate 500).
	ProducerArgs, ConsumerArgs []string
	// ExporterArgs are extra flags for the exporter.
	ExporterArgs []string
	// ScrapeInterval is Prometheus's scrape and rule evaluation interval.
	ScrapeInterval time.Duration
	// Rules, if set, replaces the repository's rule files (tests use it to
	// shorten the alerts' time scales).
	Rules fs.FS
	// EditAlertmanager, if set, rewrites the rendered Alertmanager
	// configuration (tests use it to shorten the grouping intervals).
	EditAlertmanager func([]byte) ([]byte, error)
	// WebhookToken is the token Alertmanager sends to the agent's
	// webhook. It is written to a 0600 file for Alertmanager only.
	WebhookToken string
}

// DefaultConfig is `make local`'s configuration.
func DefaultConfig() Config {
	return Config{
		WorkDir:         filepath.Join(os.TempDir(), "kafkatune-local"),
		StatusDir:       "/tmp/status",
		Ports:           ConventionalPorts(),
		Topic:           "kafkatune",
		TargetLatencyMs: 20,
		ScrapeInterval:  5 * time.Second,
	}
}

// Validate reports every problem of c, naming the field.
func (c Config) Validate() error {
	var errs []error
	if c.WorkDir == "" {
		errs = append(errs, errors.New("work dir: empty"))
	}
	if c.StatusDir == "" {
		errs = append(errs, errors.New("status dir: empty"))
	}
	if c.Topic == "" {
		errs = append(errs, errors.New("topic: empty"))
	}
	if !(c.TargetLatencyMs > 0) {
		errs = append(errs, fmt.Errorf("target latency %v ms: want above 0", c.TargetLatencyMs))
	}
	if c.ScrapeInterval < 100*time.Millisecond {
		errs = append(errs, fmt.Errorf("scrape interval %s: want at least 100ms", c.ScrapeInterval))
	}
	if c.WebhookToken == "" {
		errs = append(errs, errors.New("webhook token: empty"))
	}
	ports := c.Ports
	for name, p := range ports.named() {
		if *p < 0 || *p > 65535 {
			errs = append(errs, fmt.Errorf("%s port %d: want 0 (a free port) to 65535", name, *p))
		}
	}
	return errors.Join(errs...)
}

func (p *Ports) named() map[string]*int {
	return map[string]*int{
		"kafka": &p.Kafka, "controller": &p.Controller, "jmx": &p.JMX,
		"prometheus": &p.Prometheus, "alertmanager": &p.Alertmanager,
		"producer": &p.Producer, "consumer": &p.Consumer, "exporter": &p.Exporter,
		"agent": &p.Agent,
	}
}

// resolve replaces every zero port with a free one.
func (p Ports) resolve() (Ports, error) {
	for name, v := range p.named() {
		if *v != 0 {
			continue
		}
		port, err := childproc.FreePort()
		if err != nil {
			return p, fmt.Errorf("%s port: %w", name, err)
		}
		*v = port
	}
	return p, nil
}
