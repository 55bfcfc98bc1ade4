package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/kafkatune/kafkatune/internal/actuator"
	"github.com/kafkatune/kafkatune/internal/brokercfg"
	"github.com/kafkatune/kafkatune/internal/envflag"
	"github.com/kafkatune/kafkatune/internal/kube"
	"github.com/kafkatune/kafkatune/internal/localstack"
	"github.com/kafkatune/kafkatune/internal/rollback"
	"github.com/kafkatune/kafkatune/internal/webhook"
)

// tuneCmdConfig is the configuration of `agent tune`, the built-in
// optimizer against the StatefulSet kafka-controller in Kubernetes.
type tuneCmdConfig struct {
	kubeconfig, namespace, statefulSet, container string
	inCluster                                     bool
	broker, prometheusURL, statusDir, metricsAddr string
	tokenFile                                     string
	rollbackWindow, rollbackCooldown              time.Duration
	rolloutTimeout                                time.Duration
	tune                                          tuneConfig
	logLevel                                      slog.Level
}

var tuneCmdEnv = map[string]string{
	"kubeconfig":         "KUBECONFIG",
	"in-cluster":         "IN_CLUSTER",
	"namespace":          "KAFKA_NAMESPACE",
	"statefulset":        "KAFKA_STATEFULSET",
	"container":          "KAFKA_CONTAINER",
	"broker":             "KAFKA_BROKER",
	"prometheus-url":     "PROMETHEUS_URL",
	"status-dir":         "STATUS_DIR",
	"metrics-addr":       "METRICS_ADDR",
	"webhook-token-file": "AGENT_WEBHOOK_TOKEN_FILE",
	"rollback-window":    "ROLLBACK_WINDOW",
	"rollback-cooldown":  "ROLLBACK_COOLDOWN",
	"rollout-timeout":    "ROLLOUT_TIMEOUT",
	"target-latency-ms":  "TARGET_LATENCY_MS",
	"log-level":          "LOG_LEVEL",
}

func parseTuneCmd(args []string, lookup func(string) (string, bool), out io.Writer) (tuneCmdConfig, error) {
	c := tuneCmdConfig{}
	fs := flag.NewFlagSet("agent tune", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&c.kubeconfig, "kubeconfig", "", "kubeconfig `file` of the agent's ServiceAccount")
	fs.BoolVar(&c.inCluster, "in-cluster", false, "use the in-cluster service account instead of a kubeconfig")
	fs.StringVar(&c.namespace, "namespace", "kafka", "`namespace` of the Kafka StatefulSet")
	fs.StringVar(&c.statefulSet, "statefulset", "kafka-controller", "`name` of the Kafka StatefulSet")
	fs.StringVar(&c.container, "container", "kafka", "`name` of the Kafka container")
	fs.StringVar(&c.broker, "broker", "localhost:9092", "Kafka bootstrap `servers` for the Admin API")
	fs.StringVar(&c.prometheusURL, "prometheus-url", "http://localhost:9090", "Prometheus base `URL`")
	fs.StringVar(&c.statusDir, "status-dir", "/tmp/status", "`dir` for the trial ledger")
	fs.StringVar(&c.metricsAddr, "metrics-addr", ":9104", "listen `address` of /metrics and the Alertmanager webhook "+localstack.WebhookPath)
	fs.StringVar(&c.tokenFile, "webhook-token-file", "", "`file` holding the webhook's shared token (else $AGENT_WEBHOOK_TOKEN)")
	fs.DurationVar(&c.rollbackWindow, "rollback-window", rollback.DefaultWindow, "roll back when the regression alert starts within this `duration` after a change")
	fs.DurationVar(&c.rollbackCooldown, "rollback-cooldown", rollback.DefaultCooldown, "keep a rolled-back setting out of the search for this `duration`")
	fs.DurationVar(&c.rolloutTimeout, "rollout-timeout", 5*time.Minute, "longest wait for a StatefulSet roll (`duration`)")
	fs.Float64Var(&c.tune.targetMs, "target-latency-ms", 20, "end-to-end P99 target in `ms`")
	level := fs.String("log-level", "info", "log `level`: debug, info, warn or error")
	c.tune.registerFlags(fs, false)
	es := envflag.New(fs)
	for name, env := range tuneCmdEnv {
		es.Bind(name, env)
	}
	for name, env := range tuneEnv {
		if name != flagTune {
			es.Bind(name, env)
		}
	}
	if err := es.Parse(args, lookup); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return c, err
		}
		return c, usagef("tune: %v", err)
	}
	if fs.NArg() > 0 {
		return c, usagef("tune: unexpected argument %q: agent tune takes only flags", fs.Arg(0))
	}
	if err := c.logLevel.UnmarshalText([]byte(*level)); err != nil {
		return c, usagef("tune: invalid -log-level (env LOG_LEVEL) %q: want debug, info, warn or error", *level)
	}
	bad := func(name string, v any, want string) error {
		return usagef("tune: invalid -%s (env %s) %v: want %s", name, tuneCmdEnv[name], v, want)
	}
	switch {
	case !c.inCluster && c.kubeconfig == "":
		return c, bad("kubeconfig", `""`, "a kubeconfig file, or -in-cluster")
	case c.broker == "":
		return c, bad("broker", `""`, "host:port[,host:port...]")
	case !strings.HasPrefix(c.prometheusURL, "http://") && !strings.HasPrefix(c.prometheusURL, "https://"):
		return c, bad("prometheus-url", c.prometheusURL, "an http(s) URL")
	case !(c.tune.targetMs > 0):
		return c, bad("target-latency-ms", c.tune.targetMs, "a number of ms above 0")
	case c.rollbackWindow <= 0:
		return c, bad("rollback-window", c.rollbackWindow, "above 0")
	case c.rollbackCooldown < 0:
		return c, bad("rollback-cooldown", c.rollbackCooldown, "0 or above")
	case c.rolloutTimeout <= 0:
		return c, bad("rollout-timeout", c.rolloutTimeout, "above 0")
	}
	c.tune.enabled = true
	return c, c.tune.validate("tune")
}

// runTune is `agent tune`: the built-in optimizer against the Kafka
// StatefulSet, then the webhook and metrics until ctx ends.
func runTune(ctx context.Context, args []string, lookup func(string) (string, bool), stdout, stderr io.Writer) error {
	c, err := parseTuneCmd(args, lookup, stdout)
	if err != nil {
		return err
	}
	token, err := webhookToken(c.tokenFile, lookup)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: c.logLevel})).With("component", "agent")
	client, err := kube.NewClientset(kube.Source{Kubeconfig: c.kubeconfig, InCluster: c.inCluster}, "kafkatune-agent")
	if err != nil {
		return err
	}
	threads, err := brokercfg.New(log, brokercfg.Config{Bootstrap: c.broker})
	if err != nil {
		return err
	}
	defer threads.Close()
	act, err := actuator.NewKubernetes(log, client, threads, c.tune.limits.Bounds(), actuator.KubernetesConfig{
		Namespace: c.namespace, StatefulSet: c.statefulSet, Container: c.container, RolloutTimeout: c.rolloutTimeout,
	})
	if err != nil {
		return err
	}
	reg, err := newRegistry()
	if err != nil {
		return err
	}
	srv, err := listen(c.metricsAddr, reg, log)
	if err != nil {
		return usagef("tune: invalid -metrics-addr (env METRICS_ADDR) %q: %v", c.metricsAddr, err)
	}
	ag, err := newCore(ctx, act, coreConfig{
		token: token, statusDir: c.statusDir, rollbackWindow: c.rollbackWindow, cooldown: c.rollbackCooldown,
	}, reg, log)
	if err != nil {
		srv.ln.Close()
		return err
	}
	defer ag.close()
	srv.mux.Handle(localstack.WebhookPath, ag.hook)
	prom, err := newPromAPI(c.prometheusURL)
	if err != nil {
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return srv.serve(gctx) })
	g.Go(func() error {
		t := &tuning{cfg: c.tune, core: ag, prom: prom, log: log.With("component", "tuner")}
		if _, err := t.run(gctx); err != nil && gctx.Err() == nil {
			return fmt.Errorf("tuning: %w", err)
		}
		// Done: keep serving the webhook, so a later regression still
		// rolls back, until the agent is stopped.
		return nil
	})
	return g.Wait()
}

// webhookToken reads the webhook token from file, else from
// AGENT_WEBHOOK_TOKEN. It is never logged.
func webhookToken(file string, lookup func(string) (string, bool)) (string, error) {
	if file != "" {
		t, err := webhook.ReadToken(file)
		if err != nil {
			return "", usagef("invalid -webhook-token-file (env AGENT_WEBHOOK_TOKEN_FILE): %v", err)
		}
		return t, nil
	}
	if v, ok := lookup(envWebhookToken); ok && v != "" {
		return v, nil
	}
	return "", usagef("no webhook token: set AGENT_WEBHOOK_TOKEN or -webhook-token-file (env AGENT_WEBHOOK_TOKEN_FILE)")
}
