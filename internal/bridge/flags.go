package bridge

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/kafkatune/kafkatune/internal/envflag"
	"github.com/kafkatune/kafkatune/internal/kube"
)

// Flag names. Each falls back to the environment variable in envNames.
const (
	FlagPrometheusURL = "prometheus-url"
	FlagInterval      = "interval"
	FlagWindow        = "window"
	FlagQueryTimeout  = "query-timeout"
	FlagStatusDir     = "status-dir"
	FlagTargetLatency = "target-latency-ms"
	FlagKubeconfig    = "kubeconfig"
	FlagInCluster     = "in-cluster"
	FlagNamespace     = "configmap-namespace"
	FlagConfigMapName = "configmap-name"
	FlagMetricsAddr   = "metrics-addr"
	FlagStaleAfter    = "stale-after"
	FlagLogLevel      = "log-level"
)

var envNames = map[string]string{
	FlagPrometheusURL: "PROMETHEUS_URL",
	FlagInterval:      "BRIDGE_INTERVAL",
	FlagWindow:        "QUERY_WINDOW",
	FlagQueryTimeout:  "QUERY_TIMEOUT",
	FlagStatusDir:     "STATUS_DIR",
	FlagTargetLatency: "TARGET_LATENCY_MS",
	FlagKubeconfig:    "KUBECONFIG",
	FlagInCluster:     "IN_CLUSTER",
	FlagNamespace:     "CONFIGMAP_NAMESPACE",
	FlagConfigMapName: "CONFIGMAP_NAME",
	FlagMetricsAddr:   "METRICS_ADDR",
	FlagStaleAfter:    "STALE_AFTER",
	FlagLogLevel:      "LOG_LEVEL",
}

// EnvName returns the environment variable a flag falls back to.
func EnvName(flagName string) string { return envNames[flagName] }

// UsageError is a bad flag or environment value. Its message is one line
// that names the input and what is allowed; a program exits 2 on it.
type UsageError struct{ msg string }

func (e *UsageError) Error() string { return e.msg }

func invalid(flagName string, value any, allowed string) error {
	return &UsageError{msg: fmt.Sprintf("invalid -%s (env %s) %q: %s",
		flagName, envNames[flagName], fmt.Sprint(value), allowed)}
}

// boolFlag is a boolean flag that keeps its raw text, so that a bad value is
// reported like every other one, and remembers whether it was given.
type boolFlag struct {
	raw string
	set bool
}

func (b *boolFlag) String() string   { return b.raw }
func (b *boolFlag) IsBoolFlag() bool { return true }
func (b *boolFlag) Set(s string) error {
	b.raw, b.set = s, true
	return nil
}

// ParseFlags reads the configuration from args and, for flags not given
// there, from the environment through lookup (os.LookupEnv in a program).
// -h or -help prints the flags to helpOut and returns flag.ErrHelp. Any
// bad input returns a *UsageError.
func ParseFlags(args []string, lookup func(string) (string, bool), helpOut io.Writer) (Config, error) {
	d := DefaultConfig()
	fs := flag.NewFlagSet("exporter", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	raw := map[string]*string{}
	str := func(name, def, usage string) { raw[name] = fs.String(name, def, usage) }
	str(FlagPrometheusURL, d.PrometheusURL, "base `URL` of the Prometheus HTTP API")
	str(FlagInterval, d.Interval.String(), "`duration` between two refreshes")
	str(FlagWindow, d.Window.String(), "`duration` of the rate and quantile window, whole seconds, at least twice -interval")
	str(FlagQueryTimeout, d.QueryTimeout.String(), "deadline (`duration`) of each PromQL query, at most -interval")
	str(FlagStatusDir, d.StatusDir, "`directory` of latency.txt and metrics.json")
	str(FlagTargetLatency, "20", "P99 latency target in `milliseconds`, published with the values")
	str(FlagKubeconfig, "", "kubeconfig `file` for the ConfigMap output (empty: none)")
	inCluster := &boolFlag{}
	fs.Var(inCluster, FlagInCluster,
		"use the pod's service account for the ConfigMap output (default on when "+
			kube.EnvServiceHost+" is set and no kubeconfig is given)")
	str(FlagNamespace, d.ConfigMapNamespace, "`namespace` of the ConfigMap")
	str(FlagConfigMapName, d.ConfigMapName, "`name` of the ConfigMap")
	str(FlagMetricsAddr, d.MetricsAddr, "listen `address` of the bridge's own /metrics")
	str(FlagStaleAfter, "", "mark values stale when the last full refresh is older than this `duration` "+
		"(empty or 0: 3 x -interval)")
	str(FlagLogLevel, "info", "`level` of logging: debug, info, warn or error")

	es := envflag.New(fs)
	for name, env := range envNames {
		es.Bind(name, env)
	}
	if err := es.Parse(args, lookup); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printHelp(fs, helpOut)
			return Config{}, flag.ErrHelp
		}
		return Config{}, &UsageError{msg: err.Error()}
	}
	if fs.NArg() > 0 {
		return Config{}, &UsageError{msg: fmt.Sprintf("unexpected argument %q: the exporter takes flags only", fs.Arg(0))}
	}
	c, err := convert(raw, inCluster)
	if err != nil {
		return Config{}, err
	}
	if !inCluster.set && c.Kube.Kubeconfig == "" {
		if h, ok := lookup(kube.EnvServiceHost); ok && h != "" {
			c.Kube.InCluster = true
		}
	}
	return c, c.Validate()
}

func printHelp(fs *flag.FlagSet, w io.Writer) {
	fmt.Fprintln(w, "Usage: exporter [flags]")
	fmt.Fprintln(w, "Queries Prometheus every interval and publishes the end-to-end P99 and rates")
	fmt.Fprintln(w, "to the status directory and, with Kubernetes credentials, a ConfigMap.")
	fmt.Fprintln(w, "Every flag falls back to the environment variable named in its text.")
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}

// convert turns the raw flag text into a Config, reporting the first value
// that does not parse.
func convert(raw map[string]*string, inCluster *boolFlag) (Config, error) {
	c := DefaultConfig()
	c.PrometheusURL = *raw[FlagPrometheusURL]
	c.StatusDir = *raw[FlagStatusDir]
	c.Kube.Kubeconfig = *raw[FlagKubeconfig]
	c.ConfigMapNamespace = *raw[FlagNamespace]
	c.ConfigMapName = *raw[FlagConfigMapName]
	c.MetricsAddr = *raw[FlagMetricsAddr]

	durations := []struct {
		name string
		dst  *time.Duration
	}{
		{FlagInterval, &c.Interval},
		{FlagWindow, &c.Window},
		{FlagQueryTimeout, &c.QueryTimeout},
		{FlagStaleAfter, &c.StaleAfter},
	}
	for _, d := range durations {
		s := *raw[d.name]
		if d.name == FlagStaleAfter && (s == "" || s == "0") {
			continue
		}
		v, err := time.ParseDuration(s)
		if err != nil {
			return Config{}, invalid(d.name, s, "want a duration such as 5s, 1m or 1m30s")
		}
		*d.dst = v
	}

	t, err := strconv.ParseFloat(*raw[FlagTargetLatency], 64)
	if err != nil || math.IsNaN(t) || math.IsInf(t, 0) || t <= 0 {
		return Config{}, invalid(FlagTargetLatency, *raw[FlagTargetLatency], "want a number of milliseconds above 0")
	}
	c.TargetLatencyMs = t

	b, err := strconv.ParseBool(inCluster.raw)
	if inCluster.raw == "" {
		b, err = false, nil
	}
	if err != nil {
		return Config{}, invalid(FlagInCluster, inCluster.raw, "want true or false")
	}
	c.Kube.InCluster = b

	lvl := *raw[FlagLogLevel]
	if err := c.LogLevel.UnmarshalText([]byte(lvl)); err != nil || strings.ContainsAny(lvl, "+-") {
		return Config{}, invalid(FlagLogLevel, lvl, "want debug, info, warn or error")
	}
	return c, nil
}

// NewLogger returns a text logger at level writing to w.
func NewLogger(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}
