package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"

	"github.com/kafkatune/kafkatune/internal/actuator"
	"github.com/kafkatune/kafkatune/internal/envflag"
	"github.com/kafkatune/kafkatune/internal/loadgen"
	"github.com/kafkatune/kafkatune/internal/localstack"
	"github.com/kafkatune/kafkatune/internal/rollback"
)

// localConfig is the configuration of `agent local`.
type localConfig struct {
	stack     localstack.Config
	freePorts bool
	duration  time.Duration
	logLevel  slog.Level
	tune      tuneConfig

	rollbackWindow, rollbackCooldown time.Duration
}

// Flag names of `agent local`, each with an environment fallback.
const (
	flagWorkDir        = "work-dir"
	flagStatusDir      = "status-dir"
	flagBinDir         = "bin-dir"
	flagTarget         = "target-latency-ms"
	flagTopic          = "topic"
	flagScrapeInterval = "scrape-interval"
	flagFreePorts      = "free-ports"
	flagDuration       = "duration"
	flagLogLevel       = "log-level"
	flagProducerArgs   = "producer-args"
	flagRollbackWindow = "rollback-window"
	flagRollbackCool   = "rollback-cooldown"
)

var localEnv = map[string]string{
	flagWorkDir:        "KAFKATUNE_WORK_DIR",
	flagStatusDir:      "STATUS_DIR",
	flagBinDir:         "KAFKATUNE_BIN_DIR",
	flagTarget:         "TARGET_LATENCY_MS",
	flagTopic:          "KAFKA_TOPIC",
	flagScrapeInterval: "SCRAPE_INTERVAL",
	flagFreePorts:      "KAFKATUNE_FREE_PORTS",
	flagDuration:       "KAFKATUNE_DURATION",
	flagLogLevel:       "LOG_LEVEL",
	flagProducerArgs:   "PRODUCER_ARGS",
	flagRollbackWindow: "ROLLBACK_WINDOW",
	flagRollbackCool:   "ROLLBACK_COOLDOWN",
}

// envWebhookToken holds the Alertmanager webhook token; without it a
// random one is made for the run. It is never logged.
const envWebhookToken = "AGENT_WEBHOOK_TOKEN"

func parseLocal(args []string, lookup func(string) (string, bool), out io.Writer) (localConfig, error) {
	c := localConfig{stack: localstack.DefaultConfig()}
	fs := flag.NewFlagSet("agent local", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprintf(out, "Usage: agent local [flags]\n\n"+
			"Runs Kafka, Prometheus, Alertmanager, the load generators and the bridge on this machine.\n"+
			"The load generators also read their own variables (MESSAGE_RATE_PER_SECOND, RATE_MODE, ...;\n"+
			"see loadgen produce -help). Every flag falls back to the environment variable named in its text.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	fs.StringVar(&c.stack.WorkDir, flagWorkDir, c.stack.WorkDir, "`dir` for broker data, Prometheus, Alertmanager and logs (broker data is kept)")
	fs.StringVar(&c.stack.StatusDir, flagStatusDir, c.stack.StatusDir, "`dir` where the bridge writes latency.txt and metrics.json")
	fs.StringVar(&c.stack.BinDir, flagBinDir, "", "`dir` holding the loadgen and exporter binaries (default: this binary's directory)")
	fs.Float64Var(&c.stack.TargetLatencyMs, flagTarget, c.stack.TargetLatencyMs, "end-to-end P99 target in `ms`")
	fs.StringVar(&c.stack.Topic, flagTopic, c.stack.Topic, "Kafka `topic` of the load generators")
	fs.DurationVar(&c.stack.ScrapeInterval, flagScrapeInterval, c.stack.ScrapeInterval, "Prometheus scrape and rule evaluation `interval`")
	fs.BoolVar(&c.freePorts, flagFreePorts, false, "use free ports instead of the conventional ones (9092, 9095, 9090, 9093, 9101-9104, 9404)")
	fs.DurationVar(&c.duration, flagDuration, 0, "stop after this `duration` (0: run until Ctrl-C or SIGTERM)")
	level := fs.String(flagLogLevel, "info", "log `level`: debug, info, warn or error")
	producerArgs := fs.String(flagProducerArgs, "", "extra `flags` for loadgen produce, space-separated (for example \"-rate-mode fixed -rate 500\")")
	fs.DurationVar(&c.rollbackWindow, flagRollbackWindow, rollback.DefaultWindow,
		"roll back when the P99 regression alert starts within this `duration` after a change")
	fs.DurationVar(&c.rollbackCooldown, flagRollbackCool, rollback.DefaultCooldown,
		"keep a rolled-back setting out of the search for this `duration`")
	c.tune.registerFlags(fs, true)
	es := envflag.New(fs)
	for name, env := range localEnv {
		es.Bind(name, env)
	}
	for name, env := range tuneEnv {
		es.Bind(name, env)
	}
	if err := es.Parse(args, lookup); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return c, err
		}
		return c, usagef("local: %v", err)
	}
	if fs.NArg() > 0 {
		return c, usagef("local: unexpected argument %q: agent local takes only flags", fs.Arg(0))
	}
	if err := c.logLevel.UnmarshalText([]byte(*level)); err != nil {
		return c, usagef("local: invalid -%s (env %s) %q: want debug, info, warn or error", flagLogLevel, localEnv[flagLogLevel], *level)
	}
	if c.duration < 0 {
		return c, usagef("local: invalid -%s (env %s) %s: want 0 or above", flagDuration, localEnv[flagDuration], c.duration)
	}
	if c.rollbackWindow <= 0 {
		return c, usagef("local: invalid -%s (env %s) %s: want above 0", flagRollbackWindow, localEnv[flagRollbackWindow], c.rollbackWindow)
	}
	if c.rollbackCooldown < 0 {
		return c, usagef("local: invalid -%s (env %s) %s: want 0 or above", flagRollbackCool, localEnv[flagRollbackCool], c.rollbackCooldown)
	}
	if err := c.tune.validate("local"); err != nil {
		return c, err
	}
	if s := c.stack.ScrapeInterval; s < minScrape || s > maxScrape {
		return c, usagef("local: invalid -%s (env %s) %s: want %s to %s", flagScrapeInterval,
			localEnv[flagScrapeInterval], s, minScrape, maxScrape)
	}
	c.tune.targetMs = c.stack.TargetLatencyMs
	c.stack.ProducerArgs = strings.Fields(*producerArgs)
	if c.tune.enabled {
		c.stack.ExporterArgs, c.stack.ProducerArgs = tuningLoop(fs, &c.stack)
		if c.tune.window < 2*c.stack.ScrapeInterval {
			return c, usagef("local: invalid -%s (env %s) %s: want at least two scrapes (-%s %s)",
				flagTrialWindow, tuneEnv[flagTrialWindow], c.tune.window, flagScrapeInterval, c.stack.ScrapeInterval)
		}
	}
	if err := checkProducerArgs(c.stack.ProducerArgs, lookup); err != nil {
		return c, err
	}
	if c.freePorts {
		c.stack.Ports = localstack.Ports{}
	}
	if v, ok := lookup(envWebhookToken); ok && v != "" {
		c.stack.WebhookToken = v
	} else {
		b := make([]byte, 16)
		_, _ = rand.Read(b)
		c.stack.WebhookToken = hex.EncodeToString(b)
	}
	if err := c.stack.Validate(); err != nil {
		return c, usagef("local: %s", strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	return c, nil
}

// Settings of the adaptive producer's feedback loop while tuning. The
// producer reads the P99 the bridge published, which is as old as the
// bridge's window plus a scrape and a bridge interval: 6+1+2 = 9 s here,
// under two of the producer's 5 s adjustments, few enough for the
// controller to hold its rate near the limit (loadgen.Controller). With
// the defaults (a 60 s window, 5 s scrapes) the P99 would lag by a dozen
// adjustments, and after a heap change's restart the producer would back
// off for a minute, measured by the next trial instead of the setting.
var (
	tuningScrape       = time.Second
	tuningWindow       = 6 * time.Second
	tuningProducerArgs = []string{"-adjust-interval", "5s", "-rate-mult", "1.2"}
)

// tuningLoop shortens the feedback loop for a tuning run: scrapes every
// tuningScrape unless -scrape-interval was given, a bridge window of
// tuningWindow or four scrapes, whichever is longer (a rate needs two
// samples in its window), and the producer flags above. The user's own
// exporter and producer flags come later and win.
func tuningLoop(fs *flag.FlagSet, stack *localstack.Config) (exporter, producer []string) {
	given := false
	fs.Visit(func(f *flag.Flag) { given = given || f.Name == flagScrapeInterval })
	if !given {
		stack.ScrapeInterval = tuningScrape
	}
	// The bridge's window is whole seconds: round four scrapes up.
	window := max(tuningWindow, (4*stack.ScrapeInterval + time.Second - 1).Truncate(time.Second))
	exporter = []string{"-interval", "2s", "-query-timeout", "2s", "-window", window.String()}
	return append(exporter, stack.ExporterArgs...), append(slices.Clone(tuningProducerArgs), stack.ProducerArgs...)
}

// Bounds of -scrape-interval: Prometheus's own lower limit of sense, and a
// scrape at least every five minutes, or the series go stale.
const (
	minScrape = 100 * time.Millisecond
	maxScrape = 5 * time.Minute
)

// checkProducerArgs parses the flags the stack will give `loadgen produce`
// as the load generator itself would, with the same environment, so that
// a bad -producer-args is refused here, in one line, before anything
// starts.
func checkProducerArgs(args []string, lookup func(string) (string, bool)) error {
	if len(args) == 0 {
		return nil
	}
	_, err := loadgen.Parse(append([]string{"produce"}, args...), lookup, io.Discard)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return usagef("local: invalid -%s (env %s): -help is not a producer setting", flagProducerArgs,
			localEnv[flagProducerArgs])
	case err != nil:
		return usagef("local: invalid -%s (env %s) %q: loadgen produce: %v", flagProducerArgs,
			localEnv[flagProducerArgs], strings.Join(args, " "), err)
	}
	return nil
}

// runLocal is `agent local`: start the stack, print where everything is,
// serve the agent's endpoint, and stop everything on Ctrl-C, SIGTERM or
// after -duration.
func runLocal(ctx context.Context, args []string, lookup func(string) (string, bool), stdout, stderr io.Writer) error {
	c, err := parseLocal(args, lookup, stdout)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: c.logLevel}))
	if c.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.duration)
		defer cancel()
	}
	reg, err := newRegistry()
	if err != nil {
		return err
	}
	// The agent's own port is bound first: Prometheus and Alertmanager are
	// pointed at it.
	agentAddr := "127.0.0.1:0"
	if c.stack.Ports.Agent != 0 {
		agentAddr = fmt.Sprintf("127.0.0.1:%d", c.stack.Ports.Agent)
	}
	srv, err := listen(agentAddr, reg, log.With("component", "agent"))
	if err != nil {
		return fmt.Errorf("agent endpoint: %w", err)
	}
	c.stack.Ports.Agent = srv.port()

	started := time.Now()
	stack, err := localstack.Start(ctx, log, c.stack)
	if err != nil {
		srv.ln.Close()
		return err
	}
	log.Info("local stack up", "took", time.Since(started).Round(time.Millisecond))
	printEndpoints(stdout, stack.Endpoints())

	ag, act, err := startCore(ctx, c, stack, reg, log)
	if err != nil {
		srv.ln.Close()
		stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
		defer cancel()
		return errors.Join(err, stack.Stop(stopCtx))
	}
	defer act.Close()
	defer ag.close()
	srv.mux.Handle(localstack.WebhookPath, ag.hook)

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return srv.serve(gctx) })
	g.Go(func() error { return stack.Wait(gctx) })
	if c.tune.enabled {
		g.Go(func() error { return tuneLocal(gctx, c, stack, ag, log) })
	}
	err = g.Wait()
	if ctx.Err() != nil {
		log.Info("stopping the local stack")
	}
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	if serr := stack.Stop(stopCtx); serr != nil {
		log.Warn("stop", "err", serr)
		if err == nil {
			err = serr
		}
	}
	if err == nil {
		log.Info("local stack stopped")
	}
	return err
}

func printEndpoints(w io.Writer, eps []localstack.Endpoint) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "kafkatune local stack:")
	for _, e := range eps {
		fmt.Fprintf(tw, "  %s\t%s\n", e.Name, e.Where)
	}
	fmt.Fprintln(tw, "Stop with Ctrl-C.")
	_ = tw.Flush()
}

// tuneLocal runs the built-in optimizer through the agent's core. When it
// is done the stack keeps running on the best setting.
func tuneLocal(ctx context.Context, c localConfig, stack *localstack.Stack, ag *core, log *slog.Logger) error {
	prom, err := newPromAPI(stack.PrometheusURL())
	if err != nil {
		return err
	}
	t := &tuning{cfg: c.tune, core: ag, prom: prom, log: log.With("component", "tuner")}
	if _, err := t.run(ctx); err != nil && ctx.Err() == nil {
		return fmt.Errorf("tuning: %w", err)
	}
	return nil
}

// startCore builds the local actuator and the agent's core on the stack's
// broker.
func startCore(ctx context.Context, c localConfig, stack *localstack.Stack, reg prometheus.Registerer,
	log *slog.Logger,
) (*core, *actuator.Local, error) {
	act, err := actuator.NewLocal(log.With("component", "actuator"), stack.Broker(), c.tune.limits.Bounds())
	if err != nil {
		return nil, nil, err
	}
	ag, err := newCore(ctx, act, coreConfig{
		token:          c.stack.WebhookToken,
		statusDir:      c.stack.StatusDir,
		rollbackWindow: c.rollbackWindow,
		cooldown:       c.rollbackCooldown,
	}, reg, log.With("component", "agent"))
	if err != nil {
		act.Close()
		return nil, nil, err
	}
	return ag, act, nil
}
