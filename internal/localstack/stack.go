package localstack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	promfiles "github.com/kafkatune/kafkatune/prometheus"

	"github.com/kafkatune/kafkatune/internal/childproc"
	"github.com/kafkatune/kafkatune/internal/kafkaproc"
	"github.com/kafkatune/kafkatune/internal/promproc"
	"github.com/kafkatune/kafkatune/internal/rules"
	"github.com/kafkatune/kafkatune/internal/telemetry"
)

// WebhookPath is where the agent serves the Alertmanager webhook.
const WebhookPath = "/alerts"

// tokenFile is the webhook token's file name in Alertmanager's directory.
const tokenFile = "agent_webhook_token"

// stopTimeout bounds the stop of each child.
const stopTimeout = 30 * time.Second

// Stack is a running local stack.
type Stack struct {
	cfg    Config
	log    *slog.Logger
	broker *kafkaproc.Broker
	prom   *promproc.Server
	am     *promproc.Server
	procs  []*childproc.Process // producer, consumer, exporter
	files  []io.Closer
}

// Start starts every part in dependency order: Kafka, Alertmanager,
// Prometheus, the consumer, the producer, the exporter. On error, what was
// started is stopped again.
func Start(ctx context.Context, logger *slog.Logger, cfg Config) (_ *Stack, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	loadgen, exporter, err := binaries(cfg.BinDir)
	if err != nil {
		return nil, err
	}
	if cfg.Ports, err = cfg.Ports.resolve(); err != nil {
		return nil, err
	}
	for _, d := range []string{cfg.WorkDir, cfg.StatusDir, filepath.Join(cfg.WorkDir, "logs")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	s := &Stack{cfg: cfg, log: logger}
	defer func() {
		if err != nil {
			stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
			defer cancel()
			if serr := s.Stop(stopCtx); serr != nil {
				logger.Warn("stop after failed start", "err", serr)
			}
		}
	}()

	bc := cfg.Broker
	bc.DataDir = filepath.Join(cfg.WorkDir, "kafka")
	bc.BrokerPort, bc.ControllerPort, bc.JMXPort = cfg.Ports.Kafka, cfg.Ports.Controller, cfg.Ports.JMX
	logger.Info("starting kafka broker (the first run downloads the jars through Maven)",
		"data_dir", bc.DataDir, "port", bc.BrokerPort)
	if s.broker, err = kafkaproc.Start(ctx, logger, bc); err != nil {
		return s, err
	}

	if s.am, err = s.startAlertmanager(ctx); err != nil {
		return s, err
	}
	if s.prom, err = s.startPrometheus(ctx); err != nil {
		return s, err
	}

	common := []string{
		"-broker", s.broker.Bootstrap(),
		"-topic", cfg.Topic,
	}
	consume := append(append([]string{"consume"}, common...),
		"-metrics-addr", addr(cfg.Ports.Consumer))
	if err = s.startChild(telemetry.JobConsumer, loadgen, append(consume, cfg.ConsumerArgs...)); err != nil {
		return s, err
	}
	produce := append(append([]string{"produce"}, common...),
		"-metrics-addr", addr(cfg.Ports.Producer),
		"-status-dir", cfg.StatusDir,
		"-target-latency-ms", ftoa(cfg.TargetLatencyMs))
	if err = s.startChild(telemetry.JobProducer, loadgen, append(produce, cfg.ProducerArgs...)); err != nil {
		return s, err
	}
	export := []string{
		"-prometheus-url", s.prom.URL(),
		"-status-dir", cfg.StatusDir,
		"-metrics-addr", addr(cfg.Ports.Exporter),
		"-target-latency-ms", ftoa(cfg.TargetLatencyMs),
	}
	if err = s.startChild(telemetry.JobExporter, exporter, append(export, cfg.ExporterArgs...)); err != nil {
		return s, err
	}
	return s, nil
}

func (s *Stack) startAlertmanager(ctx context.Context) (*promproc.Server, error) {
	amCfg, err := rules.RenderAlertmanager(promfiles.AlertmanagerConfig, rules.Webhook{
		URL:             "http://" + addr(s.cfg.Ports.Agent) + WebhookPath,
		CredentialsFile: tokenFile,
	})
	if err != nil {
		return nil, err
	}
	if s.cfg.EditAlertmanager != nil {
		if amCfg, err = s.cfg.EditAlertmanager(amCfg); err != nil {
			return nil, fmt.Errorf("edit alertmanager config: %w", err)
		}
	}
	out, err := s.logFile("alertmanager")
	if err != nil {
		return nil, err
	}
	return promproc.StartAlertmanager(ctx, s.log, promproc.AlertmanagerConfig{
		Dir:    filepath.Join(s.cfg.WorkDir, "alertmanager"),
		Port:   s.cfg.Ports.Alertmanager,
		Config: amCfg,
		Files:  map[string][]byte{tokenFile: []byte(s.cfg.WebhookToken)},
		Output: out,
	})
}

func (s *Stack) startPrometheus(ctx context.Context) (*promproc.Server, error) {
	p := s.cfg.Ports
	promCfg, err := rules.RenderPrometheus(promfiles.Config, rules.Scrape{
		Targets: map[string]string{
			telemetry.JobProducer: addr(p.Producer),
			telemetry.JobConsumer: addr(p.Consumer),
			telemetry.JobExporter: addr(p.Exporter),
			telemetry.JobAgent:    addr(p.Agent),
			telemetry.JobKafka:    s.broker.JMXAddr(),
		},
		Alertmanager: s.am.Addr(),
		Interval:     s.cfg.ScrapeInterval,
	})
	if err != nil {
		return nil, err
	}
	out, err := s.logFile("prometheus")
	if err != nil {
		return nil, err
	}
	var rulesFS fs.FS = promfiles.Rules
	if s.cfg.Rules != nil {
		rulesFS = s.cfg.Rules
	}
	// Fresh TSDB per run: series of an earlier run would mix with this
	// one's in the rates and quantiles.
	dir := filepath.Join(s.cfg.WorkDir, "prometheus")
	if err := os.RemoveAll(filepath.Join(dir, "data")); err != nil {
		return nil, err
	}
	return promproc.StartPrometheus(ctx, s.log, promproc.PrometheusConfig{
		Dir:    dir,
		Port:   p.Prometheus,
		Config: promCfg,
		Rules:  rulesFS,
		Output: out,
	})
}

func (s *Stack) startChild(name, bin string, args []string) error {
	out, err := s.logFile(name)
	if err != nil {
		return err
	}
	p, err := childproc.Start(s.log, childproc.Spec{Name: name, Path: bin, Args: args, Output: out})
	if err != nil {
		return err
	}
	s.procs = append(s.procs, p)
	return nil
}

func (s *Stack) logFile(name string) (io.Writer, error) {
	f, err := os.OpenFile(s.LogPath(name), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	s.files = append(s.files, f)
	return f, nil
}

// LogPath is the log file of the child called name (producer, consumer,
// exporter, prometheus, alertmanager); the broker logs to its
// ServerLog().
func (s *Stack) LogPath(name string) string {
	return filepath.Join(s.cfg.WorkDir, "logs", name+".log")
}

// Broker is the running broker (the local actuator restarts it).
func (s *Stack) Broker() *kafkaproc.Broker { return s.broker }

// PrometheusURL is Prometheus's base URL.
func (s *Stack) PrometheusURL() string { return s.prom.URL() }

// AlertmanagerURL is Alertmanager's base URL.
func (s *Stack) AlertmanagerURL() string { return s.am.URL() }

// Config is the stack's configuration with every port resolved.
func (s *Stack) Config() Config { return s.cfg }

// Endpoint is one line of the stack's summary.
type Endpoint struct{ Name, Where string }

// Endpoints says where everything is, for printing.
func (s *Stack) Endpoints() []Endpoint {
	p := s.cfg.Ports
	return []Endpoint{
		{"kafka broker", s.broker.Bootstrap()},
		{"kafka broker log", s.broker.Config().ServerLog()},
		{"kafka JMX metrics", "http://" + s.broker.JMXAddr() + "/metrics"},
		{"prometheus", s.prom.URL()},
		{"alertmanager", s.am.URL()},
		{"producer metrics", "http://" + addr(p.Producer) + "/metrics"},
		{"consumer metrics", "http://" + addr(p.Consumer) + "/metrics"},
		{"bridge metrics", "http://" + addr(p.Exporter) + "/metrics"},
		{"agent metrics and webhook", "http://" + addr(p.Agent)},
		{"P99 in ms", filepath.Join(s.cfg.StatusDir, "latency.txt")},
		{"bridge snapshot", filepath.Join(s.cfg.StatusDir, "metrics.json")},
		{"logs", filepath.Join(s.cfg.WorkDir, "logs")},
	}
}

// Check returns an error naming the first part of the stack that has
// exited, or nil while every part runs. The producer and consumer may be
// given a duration, after which their exit is no error: allowDone names
// them.
func (s *Stack) Check(allowDone ...string) error {
	for _, p := range s.parts() {
		select {
		case <-p.done:
			if p.err() == nil && slices.Contains(allowDone, p.name) {
				continue
			}
			return fmt.Errorf("%s exited: %v (see %s)", p.name, p.err(), s.LogPath(p.name))
		default:
		}
	}
	return nil
}

type part struct {
	name string
	done <-chan struct{}
	err  func() error
}

func (s *Stack) parts() []part {
	parts := []part{
		{"kafka", s.broker.Done(), s.broker.Err},
		{"prometheus", s.prom.Done(), s.prom.Err},
		{"alertmanager", s.am.Done(), s.am.Err},
	}
	for _, p := range s.procs {
		parts = append(parts, part{p.Name(), p.Done(), p.Err})
	}
	return parts
}

// Wait blocks until ctx ends (nil) or a part of the stack exits on its own
// (an error naming it).
func (s *Stack) Wait(ctx context.Context) error {
	parts := s.parts()
	exited := make(chan part, len(parts))
	stop := make(chan struct{})
	defer close(stop)
	for _, p := range parts {
		go func() {
			select {
			case <-p.done:
				exited <- p
			case <-stop:
			}
		}()
	}
	select {
	case <-ctx.Done():
		return nil
	case p := <-exited:
		return fmt.Errorf("%s exited: %v (see %s)", p.name, p.err(), s.LogPath(p.name))
	}
}

// Stop stops every part in reverse order of start: first the exporter and
// the producer (which flushes), then the consumer, Prometheus,
// Alertmanager and last the broker. It returns every error it met.
func (s *Stack) Stop(ctx context.Context) error {
	var errs []error
	for i := len(s.procs) - 1; i >= 0; i-- {
		errs = append(errs, stopBounded(ctx, s.procs[i].Stop))
	}
	if s.prom != nil {
		errs = append(errs, stopBounded(ctx, s.prom.Stop))
	}
	if s.am != nil {
		errs = append(errs, stopBounded(ctx, s.am.Stop))
	}
	if s.broker != nil {
		errs = append(errs, stopBounded(ctx, s.broker.Stop))
	}
	for _, f := range s.files {
		errs = append(errs, f.Close())
	}
	s.procs, s.prom, s.am, s.broker, s.files = nil, nil, nil, nil, nil
	return errors.Join(errs...)
}

func stopBounded(ctx context.Context, stop func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, stopTimeout)
	defer cancel()
	return stop(ctx)
}

// binaries finds loadgen and exporter in dir (default: the directory of
// the running executable).
func binaries(dir string) (loadgen, exporter string, err error) {
	if dir == "" {
		exe, err := os.Executable()
		if err != nil {
			return "", "", fmt.Errorf("find the binaries: %w", err)
		}
		dir = filepath.Dir(exe)
	}
	var paths []string
	for _, name := range []string{"loadgen", "exporter"} {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			return "", "", fmt.Errorf("%s binary not found in %s: build it with `make build` "+
				"(or pass the directory holding it)", name, dir)
		}
		paths = append(paths, p)
	}
	return paths[0], paths[1], nil
}

func addr(port int) string { return "127.0.0.1:" + strconv.Itoa(port) }

func ftoa(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
