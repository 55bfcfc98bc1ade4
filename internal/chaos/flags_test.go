package chaos

import (
	"bytes"
	"errors"
	"flag"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

func TestParseFlagsBadInput(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want []string // substrings of the one-line message
	}{
		{"unknown flag", []string{"-bogus"}, nil, []string{"-bogus"}},
		{"stray argument", []string{"run"}, nil, []string{`"run"`}},
		{"restarts text", []string{"-restarts", "many"}, nil,
			[]string{"--restarts", "CHAOS_RESTARTS", "an integer"}},
		{"restarts negative", []string{"-restarts=-1"}, nil,
			[]string{"--restarts", "CHAOS_RESTARTS", "from 0 to 1000"}},
		{"restarts env", nil, map[string]string{"CHAOS_RESTARTS": "5x"}, []string{"--restarts", "CHAOS_RESTARTS"}},
		{"rate zero", []string{"-rate", "0"}, nil, []string{"--rate", "CHAOS_RATE", "greater than 0"}},
		{"rate NaN", []string{"-rate", "NaN"}, nil, []string{"--rate", "a number"}},
		{"rate too high", nil, map[string]string{"CHAOS_RATE": "1e9"}, []string{"--rate", "at most"}},
		{"seed text", []string{"-seed", "abc"}, nil, []string{"--seed", "CHAOS_SEED", "integer"}},
		{"min interval short", []string{"-min-interval", "10ms"}, nil,
			[]string{"--min-interval", "CHAOS_MIN_INTERVAL", "at least 1s"}},
		{"max under min", []string{"-min-interval", "10s", "-max-interval", "5s"}, nil,
			[]string{"--max-interval", "CHAOS_MAX_INTERVAL", "--min-interval"}},
		{"cooldown text", nil, map[string]string{"CHAOS_COOLDOWN": "soon"},
			[]string{"--cooldown", "CHAOS_COOLDOWN", "duration"}},
		{"partitions zero", []string{"-partitions", "0"}, nil, []string{"--partitions", "CHAOS_PARTITIONS"}},
		{"message size small", []string{"-message-size", "10"}, nil,
			[]string{"--message-size", "CHAOS_MESSAGE_SIZE", "from 29"}},
		{"grace zero", []string{"-grace", "0s"}, nil, []string{"--grace", "CHAOS_GRACE"}},
		{"drain timeout", []string{"-drain-timeout", "1"}, nil, []string{"--drain-timeout", "CHAOS_DRAIN_TIMEOUT"}},
		{"log level", []string{"-log-level", "loud"}, nil, []string{"--log-level", "LOG_LEVEL", "debug"}},
		{"log level offset", nil, map[string]string{"LOG_LEVEL": "info+2"}, []string{"--log-level"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			_, err := ParseFlags(tt.args, env(tt.env), &out)
			var ue *UsageError
			if !errors.As(err, &ue) {
				t.Fatalf("error = %v (%T), want *UsageError", err, err)
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") {
				t.Errorf("message spans lines: %q", msg)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("message %q does not contain %q", msg, w)
				}
			}
			if out.Len() != 0 {
				t.Errorf("bad input wrote usage: %q", out.String())
			}
		})
	}
}

func TestParseFlagsGoodInput(t *testing.T) {
	cmd, err := ParseFlags(nil, env(nil), &bytes.Buffer{})
	if err != nil {
		t.Fatalf("defaults: %v", err)
	}
	if cmd.Config != DefaultConfig() || cmd.LogLevel != slog.LevelInfo {
		t.Errorf("defaults = %+v, want %+v", cmd, DefaultConfig())
	}

	e := env(map[string]string{"CHAOS_RESTARTS": "2", "CHAOS_RATE": "100", "CHAOS_SEED": "-9",
		"CHAOS_DATA_DIR": "/tmp/d", "LOG_LEVEL": "debug"})
	cmd, err = ParseFlags([]string{"-rate", "250.5", "-max-interval=20s"}, e, &bytes.Buffer{})
	if err != nil {
		t.Fatalf("ParseFlags: %v", err)
	}
	c := cmd.Config
	if c.Restarts != 2 || c.Rate != 250.5 || c.Seed != -9 || c.DataDir != "/tmp/d" ||
		c.MaxInterval != 20*time.Second || cmd.LogLevel != slog.LevelDebug {
		t.Errorf("config = %+v level %v; want env values with the flags winning", c, cmd.LogLevel)
	}
}

func TestParseFlagsHelp(t *testing.T) {
	var out bytes.Buffer
	if _, err := ParseFlags([]string{"-h"}, env(nil), &out); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("error = %v, want flag.ErrHelp", err)
	}
	for name, v := range envNames {
		if !strings.Contains(out.String(), "-"+name) || !strings.Contains(out.String(), v) {
			t.Errorf("help does not document -%s (%s)", name, v)
		}
	}
}

// FuzzParseFlags feeds arbitrary flag values and environment values to
// ParseFlags: it must never panic, and it either accepts a configuration
// that validates or rejects the input with one line.
func FuzzParseFlags(f *testing.F) {
	f.Add("-restarts", "5", "CHAOS_RATE", "500")
	f.Add("-rate", "NaN", "CHAOS_SEED", "99999999999999999999")
	f.Add("-min-interval", "-1h", "CHAOS_MAX_INTERVAL", "1ns")
	f.Add("--log-level", "DEBUG-4", "CHAOS_GRACE", "")
	f.Add("-message-size", "0x1f", "CHAOS_PARTITIONS", "1e3")
	f.Add("-h", "", "LOG_LEVEL", "\x00")
	f.Fuzz(func(t *testing.T, name, value, envName, envValue string) {
		args := []string{name, value}
		cmd, err := ParseFlags(args, env(map[string]string{envName: envValue}), &bytes.Buffer{})
		checkParsed(t, cmd.Config, err)
	})
}

func checkParsed(t *testing.T, c Config, err error) {
	t.Helper()
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		var ue *UsageError
		if !errors.As(err, &ue) {
			t.Fatalf("error %v (%T) is not a *UsageError", err, err)
		}
		if strings.Contains(err.Error(), "\n") {
			t.Fatalf("message spans lines: %q", err)
		}
		return
	}
	if verr := c.Validate(); verr != nil {
		t.Fatalf("accepted a config that does not validate: %v", verr)
	}
}
