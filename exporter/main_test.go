package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/kafkatune/kafkatune/internal/status"
)

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

func TestExitCodes(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		code int
		line string // what the one stderr line must contain
	}{
		{"help", []string{"-h"}, nil, exitOK, ""},
		{"unknown flag", []string{"-bogus"}, nil, exitUsage, "-bogus"},
		{"bad interval", []string{"-interval=soon"}, nil, exitUsage, "BRIDGE_INTERVAL"},
		{"bad env target", nil, map[string]string{"TARGET_LATENCY_MS": "-1"}, exitUsage, "-target-latency-ms"},
		{"metrics addr bad port", []string{"-metrics-addr=127.0.0.1:-1"}, nil, exitUsage, "METRICS_ADDR"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), tt.args, env(tt.env), &stdout, &stderr)
			code := exitCode(err, &stderr)
			if code != tt.code {
				t.Fatalf("exit code = %d, want %d (err %v)", code, tt.code, err)
			}
			if tt.line == "" {
				return
			}
			out := strings.TrimSuffix(stderr.String(), "\n")
			if strings.Contains(out, "\n") || !strings.Contains(out, tt.line) {
				t.Errorf("stderr = %q, want one line mentioning %q", out, tt.line)
			}
		})
	}
}

// TestRunStopsOnCancel runs the whole program against a Prometheus address
// nobody listens on and stops it: it must write a stale snapshot and exit 0.
func TestRunStopsOnCancel(t *testing.T) {
	dir := t.TempDir()
	e := map[string]string{
		"PROMETHEUS_URL":  "http://127.0.0.1:1",
		"BRIDGE_INTERVAL": "200ms",
		"QUERY_WINDOW":    "2s",
		"QUERY_TIMEOUT":   "100ms",
		"STATUS_DIR":      dir,
		"METRICS_ADDR":    "127.0.0.1:0",
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr bytes.Buffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, nil, env(e), &stdout, &stderr) }()

	deadline := time.Now().Add(10 * time.Second)
	var snap *status.Snapshot
	for time.Now().Before(deadline) {
		if s, err := status.ReadSnapshot(dir); err == nil {
			snap = s
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	err := <-done
	if code := exitCode(err, &stderr); code != exitOK {
		t.Errorf("exit code = %d, want 0 (err %v)", code, err)
	}
	if snap == nil {
		t.Fatal("no snapshot written")
	}
	if !snap.Stale || snap.P99LatencyMs != nil {
		t.Errorf("snapshot stale=%v p99=%v, want stale without a value", snap.Stale, snap.P99LatencyMs)
	}
}
