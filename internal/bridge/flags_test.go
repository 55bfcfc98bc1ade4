package bridge

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/kafkatune/kafkatune/internal/kube"
)

func envOf(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

func TestParseFlagsBadInput(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		mention []string // every string must appear in the one-line message
	}{
		{"unknown flag", []string{"-nope"}, nil, []string{"-nope"}},
		{"stray argument", []string{"run"}, nil, []string{`"run"`}},
		{"interval not a duration", []string{"-interval=abc"}, nil, []string{"-interval", "BRIDGE_INTERVAL", "duration"}},
		{"interval from env", nil, map[string]string{"BRIDGE_INTERVAL": "5"}, []string{"-interval", "BRIDGE_INTERVAL"}},
		{"interval too short", []string{"-interval=1ms"}, nil, []string{"-interval", "BRIDGE_INTERVAL", "100ms"}},
		{"interval negative", []string{"-interval=-5s"}, nil, []string{"-interval", "BRIDGE_INTERVAL"}},
		{"window under twice interval", []string{"-window=8s"}, nil, []string{"-window", "QUERY_WINDOW", "twice"}},
		{"window not whole seconds", []string{"-window=90500ms"}, nil, []string{"-window", "QUERY_WINDOW", "whole seconds"}},
		{"window from env", nil, map[string]string{"QUERY_WINDOW": "soon"}, []string{"-window", "QUERY_WINDOW"}},
		{"query timeout zero", []string{"-query-timeout=0s"}, nil, []string{"-query-timeout", "QUERY_TIMEOUT"}},
		{"query timeout over interval", []string{"-query-timeout=6s"}, nil, []string{"-query-timeout", "QUERY_TIMEOUT", "at most"}},
		{"stale after under interval", []string{"-stale-after=1s"}, nil, []string{"-stale-after", "STALE_AFTER"}},
		{"stale after negative", nil, map[string]string{"STALE_AFTER": "-1m"}, []string{"-stale-after", "STALE_AFTER"}},
		{"target not a number", []string{"-target-latency-ms=fast"}, nil, []string{"-target-latency-ms", "TARGET_LATENCY_MS"}},
		{"target negative", nil, map[string]string{"TARGET_LATENCY_MS": "-3"}, []string{"-target-latency-ms", "TARGET_LATENCY_MS", "above 0"}},
		{"target zero", []string{"-target-latency-ms=0"}, nil, []string{"-target-latency-ms", "TARGET_LATENCY_MS"}},
		{"target NaN", []string{"-target-latency-ms=NaN"}, nil, []string{"-target-latency-ms", "TARGET_LATENCY_MS"}},
		{"prometheus url without scheme", []string{"-prometheus-url=localhost:9090"}, nil,
			[]string{"-prometheus-url", "PROMETHEUS_URL", "http"}},
		{"prometheus url ftp", nil, map[string]string{"PROMETHEUS_URL": "ftp://p:9090"}, []string{"-prometheus-url", "PROMETHEUS_URL"}},
		{"empty status dir", []string{"-status-dir="}, nil, []string{"-status-dir", "STATUS_DIR"}},
		{"in-cluster not a bool", []string{"-in-cluster=maybe"}, nil, []string{"-in-cluster", "IN_CLUSTER", "true or false"}},
		{"in-cluster env not a bool", nil, map[string]string{"IN_CLUSTER": "yes please"}, []string{"-in-cluster", "IN_CLUSTER"}},
		{"kubeconfig and in-cluster", []string{"-kubeconfig=/k", "-in-cluster"}, nil,
			[]string{"-kubeconfig", "KUBECONFIG", "-in-cluster", "IN_CLUSTER"}},
		{"bad namespace", []string{"-configmap-namespace=Kafka_NS"}, nil, []string{"-configmap-namespace", "CONFIGMAP_NAMESPACE"}},
		{"bad configmap name", nil, map[string]string{"CONFIGMAP_NAME": "no/slash"}, []string{"-configmap-name", "CONFIGMAP_NAME"}},
		{"metrics addr without port", []string{"-metrics-addr=localhost"}, nil, []string{"-metrics-addr", "METRICS_ADDR", "port"}},
		{"metrics addr port too big", []string{"-metrics-addr=:70000"}, nil, []string{"-metrics-addr", "METRICS_ADDR"}},
		{"log level", []string{"-log-level=loud"}, nil, []string{"-log-level", "LOG_LEVEL", "debug"}},
		{"log level offset", nil, map[string]string{"LOG_LEVEL": "info+2"}, []string{"-log-level", "LOG_LEVEL"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseFlags(tt.args, envOf(tt.env), &bytes.Buffer{})
			var ue *UsageError
			if !errors.As(err, &ue) {
				t.Fatalf("error = %v (%T), want *UsageError", err, err)
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") {
				t.Errorf("message has several lines: %q", msg)
			}
			for _, m := range tt.mention {
				if !strings.Contains(msg, m) {
					t.Errorf("message %q does not mention %q", msg, m)
				}
			}
		})
	}
}

func TestParseFlagsGoodInput(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		env   map[string]string
		check func(t *testing.T, c Config)
	}{
		{"defaults", nil, nil, func(t *testing.T, c Config) {
			d := DefaultConfig()
			if c.PrometheusURL != d.PrometheusURL || c.Interval != 5*time.Second || c.Window != time.Minute ||
				c.QueryTimeout != 3*time.Second || c.StatusDir != "/tmp/status" || c.TargetLatencyMs != 20 ||
				c.ConfigMapNamespace != "kafka" || c.ConfigMapName != "kafka-latency-metrics" ||
				c.MetricsAddr != ":9103" || c.Kube.Enabled() || c.LogLevel != slog.LevelInfo {
				t.Errorf("defaults = %+v", c)
			}
			if c.EffectiveStaleAfter() != 15*time.Second {
				t.Errorf("stale after = %v, want 3 x interval", c.EffectiveStaleAfter())
			}
		}},
		{"env applies", nil, map[string]string{
			"PROMETHEUS_URL": "https://u:secret@prom:9090", "BRIDGE_INTERVAL": "2s", "QUERY_WINDOW": "30s",
			"QUERY_TIMEOUT": "1s", "STALE_AFTER": "10s", "TARGET_LATENCY_MS": "12.5", "LOG_LEVEL": "debug",
		}, func(t *testing.T, c Config) {
			if c.PrometheusURL != "https://u:secret@prom:9090" || c.Interval != 2*time.Second ||
				c.Window != 30*time.Second || c.QueryTimeout != time.Second || c.StaleAfter != 10*time.Second ||
				c.TargetLatencyMs != 12.5 || c.LogLevel != slog.LevelDebug {
				t.Errorf("config = %+v", c)
			}
		}},
		{"flag wins over env", []string{"-interval=10s"}, map[string]string{"BRIDGE_INTERVAL": "2s"},
			func(t *testing.T, c Config) {
				if c.Interval != 10*time.Second {
					t.Errorf("interval = %v, want the flag's 10s", c.Interval)
				}
			}},
		{"in-cluster automatic in a pod", nil, map[string]string{kube.EnvServiceHost: "10.0.0.1"},
			func(t *testing.T, c Config) {
				if !c.Kube.InCluster {
					t.Error("in-cluster off in a pod without kubeconfig")
				}
			}},
		{"kubeconfig wins over pod", nil, map[string]string{kube.EnvServiceHost: "10.0.0.1", "KUBECONFIG": "/k"},
			func(t *testing.T, c Config) {
				if c.Kube.InCluster || c.Kube.Kubeconfig != "/k" {
					t.Errorf("kube = %+v, want kubeconfig /k only", c.Kube)
				}
			}},
		{"in-cluster=false in a pod", []string{"-in-cluster=false"}, map[string]string{kube.EnvServiceHost: "10.0.0.1"},
			func(t *testing.T, c Config) {
				if c.Kube.Enabled() {
					t.Errorf("kube = %+v, want off as asked", c.Kube)
				}
			}},
		{"bare in-cluster flag", []string{"-in-cluster"}, nil, func(t *testing.T, c Config) {
			if !c.Kube.InCluster {
				t.Error("-in-cluster did not turn in-cluster on")
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseFlags(tt.args, envOf(tt.env), &bytes.Buffer{})
			if err != nil {
				t.Fatalf("ParseFlags: %v", err)
			}
			tt.check(t, c)
		})
	}
}

func TestParseFlagsHelp(t *testing.T) {
	var out bytes.Buffer
	_, err := ParseFlags([]string{"-help"}, envOf(nil), &out)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("error = %v, want flag.ErrHelp", err)
	}
	for f, env := range envNames {
		if !strings.Contains(out.String(), "-"+f) || !strings.Contains(out.String(), env) {
			t.Errorf("help does not document -%s (%s)", f, env)
		}
	}
}

func TestConfigLogValueRedactsPassword(t *testing.T) {
	c := DefaultConfig()
	c.PrometheusURL = "http://user:hunter2@prom:9090"
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("start", "config", c)
	if strings.Contains(buf.String(), "hunter2") {
		t.Errorf("password in log: %s", buf.String())
	}
	if !strings.Contains(buf.String(), "prom:9090") {
		t.Errorf("URL host missing from log: %s", buf.String())
	}
}

func TestUsageErrorRedactsURL(t *testing.T) {
	_, err := ParseFlags([]string{"-prometheus-url=ftp://user:hunter2@prom"}, envOf(nil), &bytes.Buffer{})
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("error = %v, want one without the password", err)
	}
}

func TestParseFlagsControlCharsOneLine(t *testing.T) {
	_, err := ParseFlags([]string{"-\n"}, func(string) (string, bool) { return "", false }, io.Discard)
	var ue *UsageError
	if !errors.As(err, &ue) {
		t.Fatalf("err = %v, want a UsageError", err)
	}
	if strings.ContainsAny(err.Error(), "\n\r") {
		t.Errorf("usage error spans lines: %q", err.Error())
	}
}
