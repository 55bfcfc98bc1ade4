package main

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kafkatune/kafkatune/internal/vibectl"
)

// TestBadInput runs the agent's command line on bad flags and values: each
// is a usage error (exit 2) explained in exactly one line that names the
// flag or command and what is allowed.
func TestBadInput(t *testing.T) {
	noEnv := func(string) (string, bool) { return "", false }
	env := func(kv ...string) func(string) (string, bool) {
		return func(k string) (string, bool) {
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1], true
				}
			}
			return "", false
		}
	}
	tests := []struct {
		name   string
		args   []string
		lookup func(string) (string, bool)
		want   string
	}{
		{"no command", nil, noEnv, "missing command"},
		{"unknown command", []string{"frobnicate"}, noEnv, `unknown command "frobnicate"`},
		{"local unknown flag", []string{"local", "-nope"}, noEnv, "-nope"},
		{"local negative target", []string{"local", "-target-latency-ms", "-5"}, noEnv, "target latency"},
		{"local bad target env", []string{"local"}, env("TARGET_LATENCY_MS", "fast"), "TARGET_LATENCY_MS"},
		{"local bad duration", []string{"local", "-duration", "-1s"}, noEnv, "-duration (env KAFKATUNE_DURATION)"},
		{"local bad log level", []string{"local", "-log-level", "loud"}, noEnv, "-log-level (env LOG_LEVEL)"},
		{"local bad scrape", []string{"local", "-scrape-interval", "1ms"}, noEnv, "-scrape-interval (env SCRAPE_INTERVAL) 1ms: want 100ms to 5m0s"},
		{"local huge scrape", []string{"local"}, env("SCRAPE_INTERVAL", "700000h"), "-scrape-interval (env SCRAPE_INTERVAL)"},
		{"local unparsable settle", []string{"local", "-settle", "NaN"}, noEnv, `"NaN" for flag -settle: want a duration`},
		{"local trial window under two scrapes", []string{"local", "-tune", "-scrape-interval", "30s", "-trial-window", "10s"},
			noEnv, "-trial-window (env TUNE_TRIAL_WINDOW) 10s: want at least two scrapes"},
		{"local bad producer args", []string{"local", "-producer-args", "-raise-below 5"}, noEnv,
			"-producer-args (env PRODUCER_ARGS) \"-raise-below 5\": loadgen produce:"},
		{"local unknown producer flag", []string{"local"}, env("PRODUCER_ARGS", "-bogus 1"), "-producer-args (env PRODUCER_ARGS)"},
		{"local sticky with skew", []string{"local", "-producer-args", "-partitioner sticky -partition-skew 0.5"}, noEnv,
			"--partition-skew"},
		{"local producer help", []string{"local", "-producer-args", "-help"}, noEnv, "-help is not a producer setting"},
		{"tune unparsable settle", []string{"tune", "-kubeconfig", "k", "-settle", "1.5"}, noEnv, "for flag -settle: want a duration"},
		{"local trials zero", []string{"local", "-trials", "0"}, noEnv, "-trials (env TUNE_TRIALS)"},
		{"local negative settle", []string{"local", "-settle", "-1s"}, noEnv, "-settle (env TUNE_SETTLE)"},
		{"local window fraction", []string{"local", "-trial-window", "1500ms"}, noEnv, "-trial-window (env TUNE_TRIAL_WINDOW)"},
		{"local tiny memory", []string{"local", "-memory-limit-mb", "100"}, noEnv, "-memory-limit-mb"},
		{"local rollback window", []string{"local", "-rollback-window", "0s"}, noEnv, "-rollback-window (env ROLLBACK_WINDOW)"},
		{"local extra argument", []string{"local", "now"}, noEnv, `unexpected argument "now"`},
		{"local newline flag", []string{"local", "-\n"}, noEnv, "local:"},
		{"tune without kubeconfig", []string{"tune"}, noEnv, "-kubeconfig (env KUBECONFIG)"},
		{"tune bad prometheus url", []string{"tune", "-kubeconfig", "k", "-prometheus-url", "prom:9090"}, noEnv, "-prometheus-url (env PROMETHEUS_URL)"},
		{"tune bad trials env", []string{"tune", "-kubeconfig", "k"}, env("TUNE_TRIALS", "many"), "TUNE_TRIALS"},
		{"tune zero trials", []string{"tune", "-kubeconfig", "k", "-trials", "0"}, noEnv, "tune: invalid -trials (env TUNE_TRIALS)"},
		{"tune no token", []string{"tune", "-kubeconfig", "k"}, noEnv, "AGENT_WEBHOOK_TOKEN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), tt.args, tt.lookup, &stdout, &stderr)
			if err == nil {
				t.Fatalf("no error for %q", tt.args)
			}
			var out bytes.Buffer
			if code := exitCode(err, &out); code != exitUsage {
				t.Errorf("exit code %d, want %d (err %v)", code, exitUsage, err)
			}
			line := out.String()
			if strings.Count(line, "\n") != 1 || !strings.HasSuffix(line, "\n") {
				t.Errorf("want exactly one line, got %q", line)
			}
			if !strings.Contains(line, tt.want) {
				t.Errorf("message %q does not mention %q", line, tt.want)
			}
		})
	}
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"-help"}, {"local", "-help"}, {"tune", "-help"}} {
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), args, func(string) (string, bool) { return "", false }, &stdout, &stderr)
		if code := exitCode(err, &bytes.Buffer{}); code != exitOK {
			t.Errorf("%q: exit %d (%v)", args, code, err)
		}
		if stdout.Len() == 0 {
			t.Errorf("%q printed no help", args)
		}
	}
}

// TestTuningLoop checks the feedback-loop settings `agent local -tune`
// gives the stack: short scrapes unless the user chose an interval, and the
// bridge and producer flags ahead of the user's own, so that theirs win.
func TestTuningLoop(t *testing.T) {
	noEnv := func(string) (string, bool) { return "", false }
	tests := []struct {
		name       string
		args       []string
		lookup     func(string) (string, bool)
		wantScrape time.Duration
		wantWindow string
		wantLast   string // the producer flag that comes last
	}{
		{"defaults", []string{"-tune"}, noEnv, tuningScrape, "6s", "1.2"},
		{"scrape flag kept, window four scrapes", []string{"-tune", "-scrape-interval", "3s"}, noEnv,
			3 * time.Second, "12s", "1.2"},
		{"scrape env kept, window rounded up", []string{"-tune"}, func(k string) (string, bool) {
			return "2300ms", k == "SCRAPE_INTERVAL"
		}, 2300 * time.Millisecond, "10s", "1.2"},
		{"user producer flags last", []string{"-tune", "-producer-args", "-rate-mult 1.5"}, noEnv,
			tuningScrape, "6s", "1.5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parseLocal(tt.args, tt.lookup, &bytes.Buffer{})
			if err != nil {
				t.Fatal(err)
			}
			if c.stack.ScrapeInterval != tt.wantScrape {
				t.Errorf("scrape interval %v, want %v", c.stack.ScrapeInterval, tt.wantScrape)
			}
			if got := c.stack.ProducerArgs[len(c.stack.ProducerArgs)-1]; got != tt.wantLast {
				t.Errorf("producer args %q: last %q, want %q", c.stack.ProducerArgs, got, tt.wantLast)
			}
			want := []string{"-interval", "2s", "-query-timeout", "2s", "-window", tt.wantWindow}
			if !slices.Equal(c.stack.ExporterArgs, want) {
				t.Errorf("exporter args %q, want %q", c.stack.ExporterArgs, want)
			}
		})
	}
	c, err := parseLocal(nil, noEnv, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if c.stack.ScrapeInterval == tuningScrape || len(c.stack.ExporterArgs) != 0 || len(c.stack.ProducerArgs) != 0 {
		t.Errorf("without -tune: scrape %v, exporter %q, producer %q; want the stack's defaults",
			c.stack.ScrapeInterval, c.stack.ExporterArgs, c.stack.ProducerArgs)
	}
}

// TestVibectlFallback: without an API key `agent vibectl` exits 1 with one
// line, unless -fallback tune (or AGENT_FALLBACK) hands over to `agent
// tune`, which then gets the settings both share. Here that tuner stops at
// its own missing kubeconfig, which shows the hand-over happened.
func TestVibectlFallback(t *testing.T) {
	noEnv := func(string) (string, bool) { return "", false }
	base := []string{"vibectl", "-vibectl-kubeconfig", "vibectl.kubeconfig", "-namespace", "other"}
	tests := []struct {
		name     string
		args     []string
		lookup   func(string) (string, bool)
		code     int
		want     string // in the exit line
		fellBack bool
	}{
		{"no key, no fallback", base, noEnv, exitError, "no API key", false},
		{"no key, fallback flag", append(slices.Clone(base), "-fallback", "tune"), noEnv,
			exitUsage, "tune: invalid -kubeconfig (env KUBECONFIG)", true},
		{"no key, fallback env", base, func(k string) (string, bool) { return "tune", k == "AGENT_FALLBACK" },
			exitUsage, "tune: invalid -kubeconfig (env KUBECONFIG)", true},
		{"bad fallback", append(slices.Clone(base), "-fallback", "random"), noEnv,
			exitUsage, `invalid -fallback (env AGENT_FALLBACK) "random": want none or tune`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr, out bytes.Buffer
			err := run(context.Background(), tt.args, tt.lookup, &stdout, &stderr)
			if code := exitCode(err, &out); code != tt.code {
				t.Errorf("exit code %d, want %d (%v)", code, tt.code, err)
			}
			if line := out.String(); strings.Count(line, "\n") != 1 || !strings.Contains(line, tt.want) {
				t.Errorf("exit line %q: want one line with %q", line, tt.want)
			}
			if got := strings.Contains(stderr.String(), "falling back to the built-in tuner"); got != tt.fellBack {
				t.Errorf("fell back = %v, want %v; stderr %q", got, tt.fellBack, stderr.String())
			}
		})
	}
	cfg := vibectl.DefaultConfig()
	cfg.Namespace, cfg.Kubeconfig, cfg.TargetLatencyMs = "other", "agent.kubeconfig", 35
	args := strings.Join(fallbackTuneArgs(cfg), " ")
	for _, want := range []string{"-namespace other", "-kubeconfig agent.kubeconfig", "-target-latency-ms 35",
		"-cpu-limit 4", "-memory-limit-mb 4096"} {
		if !strings.Contains(args, want) {
			t.Errorf("fallback args %q lack %q", args, want)
		}
	}
}
