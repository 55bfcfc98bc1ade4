package bridge

import (
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/url"
	"strconv"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/kafkatune/kafkatune/internal/kube"
	"github.com/kafkatune/kafkatune/internal/status"
	"github.com/kafkatune/kafkatune/internal/telemetry"
)

// Limits of the timing settings.
const (
	MinInterval = 100 * time.Millisecond
	MaxInterval = time.Hour
	MaxWindow   = 24 * time.Hour
	// DefaultStaleFactor times the interval is the default stale-after.
	DefaultStaleFactor = 3
)

// Config is the bridge's configuration. DefaultConfig gives the defaults;
// Validate checks a Config built by hand.
type Config struct {
	// PrometheusURL is the base URL of the Prometheus HTTP API.
	PrometheusURL string
	// Interval is the time between two refreshes.
	Interval time.Duration
	// Window is the range of the rate and quantile queries, whole seconds.
	Window time.Duration
	// QueryTimeout bounds each PromQL query.
	QueryTimeout time.Duration
	// StaleAfter marks values stale when the last fully successful
	// refresh is older than this; zero means DefaultStaleFactor x Interval.
	StaleAfter time.Duration
	// StatusDir receives latency.txt and the JSON snapshot.
	StatusDir string
	// TargetLatencyMs is the P99 target published with the values.
	TargetLatencyMs float64
	// Kube says where Kubernetes credentials come from; ConfigMap output
	// is off when it names none.
	Kube kube.Source
	// ConfigMapNamespace and ConfigMapName identify the ConfigMap.
	ConfigMapNamespace string
	ConfigMapName      string
	// MetricsAddr is the listen address of the bridge's own /metrics.
	MetricsAddr string
	// LogLevel is the lowest level logged.
	LogLevel slog.Level
}

// DefaultConfig returns the defaults of every setting.
func DefaultConfig() Config {
	return Config{
		PrometheusURL:      "http://localhost:9090",
		Interval:           5 * time.Second,
		Window:             time.Minute,
		QueryTimeout:       3 * time.Second,
		StatusDir:          status.DefaultDir,
		TargetLatencyMs:    20,
		ConfigMapNamespace: status.ConfigMapNamespace,
		ConfigMapName:      status.ConfigMapName,
		MetricsAddr:        telemetry.DefaultBridgeAddr,
		LogLevel:           slog.LevelInfo,
	}
}

// EffectiveStaleAfter returns StaleAfter, or its default when zero.
func (c Config) EffectiveStaleAfter() time.Duration {
	if c.StaleAfter > 0 {
		return c.StaleAfter
	}
	return DefaultStaleFactor * c.Interval
}

// Validate checks every setting and returns a *UsageError naming the first
// bad one, its flag, its environment variable and what is allowed.
func (c Config) Validate() error {
	checks := []func() error{
		c.validatePrometheusURL,
		c.validateTiming,
		c.validateOutputs,
		c.validateMetricsAddr,
	}
	for _, check := range checks {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

func (c Config) validatePrometheusURL() error {
	const allowed = "want an http or https URL such as http://localhost:9090"
	u, err := url.Parse(c.PrometheusURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return invalid(FlagPrometheusURL, redactURL(c.PrometheusURL), allowed)
	}
	return nil
}

func (c Config) validateTiming() error {
	if c.Interval < MinInterval || c.Interval > MaxInterval {
		return invalid(FlagInterval, c.Interval, fmt.Sprintf("want a duration from %v to %v", MinInterval, MaxInterval))
	}
	if c.Window%time.Second != 0 || c.Window < 2*c.Interval || c.Window > MaxWindow {
		return invalid(FlagWindow, c.Window, fmt.Sprintf(
			"want whole seconds, at least twice -%s (%v) and at most %v", FlagInterval, c.Interval, MaxWindow))
	}
	if c.QueryTimeout <= 0 || c.QueryTimeout > c.Interval {
		return invalid(FlagQueryTimeout, c.QueryTimeout,
			fmt.Sprintf("want a duration above 0 and at most -%s (%v)", FlagInterval, c.Interval))
	}
	if c.StaleAfter < 0 || (c.StaleAfter > 0 && c.StaleAfter < c.Interval) {
		return invalid(FlagStaleAfter, c.StaleAfter,
			fmt.Sprintf("want 0 (%d x -%s) or a duration of at least -%s (%v)",
				DefaultStaleFactor, FlagInterval, FlagInterval, c.Interval))
	}
	return nil
}

func (c Config) validateOutputs() error {
	if c.StatusDir == "" {
		return invalid(FlagStatusDir, c.StatusDir, "want a directory path")
	}
	t := c.TargetLatencyMs
	if math.IsNaN(t) || math.IsInf(t, 0) || t <= 0 {
		return invalid(FlagTargetLatency, t, "want a number of milliseconds above 0")
	}
	if err := c.Kube.Validate(); err != nil {
		return &UsageError{msg: fmt.Sprintf("invalid -%s (env %s) with -%s (env %s): %v",
			FlagKubeconfig, envNames[FlagKubeconfig], FlagInCluster, envNames[FlagInCluster], err)}
	}
	if errs := validation.IsDNS1123Label(c.ConfigMapNamespace); len(errs) > 0 {
		return invalid(FlagNamespace, c.ConfigMapNamespace, "want a Kubernetes namespace name (DNS-1123 label)")
	}
	if errs := validation.IsDNS1123Subdomain(c.ConfigMapName); len(errs) > 0 {
		return invalid(FlagConfigMapName, c.ConfigMapName, "want a Kubernetes object name (DNS-1123 subdomain)")
	}
	return nil
}

func (c Config) validateMetricsAddr() error {
	const allowed = "want host:port or :port, port 0-65535"
	_, port, err := net.SplitHostPort(c.MetricsAddr)
	if err != nil {
		return invalid(FlagMetricsAddr, c.MetricsAddr, allowed)
	}
	if p, err := strconv.ParseUint(port, 10, 16); err != nil || p > math.MaxUint16 {
		return invalid(FlagMetricsAddr, c.MetricsAddr, allowed)
	}
	return nil
}

// LogValue renders the configuration for the start log. The Prometheus URL
// is redacted: it may carry a password.
func (c Config) LogValue() slog.Value {
	cm := "off"
	if c.Kube.Enabled() {
		cm = c.ConfigMapNamespace + "/" + c.ConfigMapName
	}
	return slog.GroupValue(
		slog.String("prometheus_url", redactURL(c.PrometheusURL)),
		slog.Duration("interval", c.Interval),
		slog.Duration("window", c.Window),
		slog.Duration("query_timeout", c.QueryTimeout),
		slog.Duration("stale_after", c.EffectiveStaleAfter()),
		slog.String("status_dir", c.StatusDir),
		slog.Float64("target_latency_ms", c.TargetLatencyMs),
		slog.String("kube", c.Kube.String()),
		slog.String("configmap", cm),
		slog.String("metrics_addr", c.MetricsAddr),
		slog.String("log_level", c.LogLevel.String()),
	)
}

// redactURL hides a password in u; a string that is not a URL is shown as
// a placeholder, since it cannot be told apart from a secret.
func redactURL(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "<unparsable URL>"
	}
	return p.Redacted()
}
