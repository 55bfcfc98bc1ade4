// Package localtest starts a local stack (internal/localstack) for a test:
// it builds the loadgen and exporter binaries from this module once per
// test binary and runs the stack on free ports with a short scrape
// interval. A missing Java, Maven, Prometheus or Alertmanager fails the
// test with the reason; nothing is skipped.
package localtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/kafkatune/kafkatune/internal/localstack"
)

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// Binaries builds agent, loadgen and exporter into a temporary directory, once
// per process, and returns it. The directory lives as long as the process
// (the OS cleans /tmp); the build cache makes later builds cheap.
func Binaries(ctx context.Context) (string, error) {
	buildOnce.Do(func() {
		binDir, buildErr = build(ctx)
	})
	return binDir, buildErr
}

func build(ctx context.Context) (string, error) {
	root, err := moduleRoot(ctx)
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "kafkatune-bin-")
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", dir+string(filepath.Separator), "./agent", "./loadgen", "./exporter")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build agent, loadgen and exporter: %v\n%s", err, out)
	}
	return dir, nil
}

func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("not inside the kafkatune module (go env GOMOD = %q)", mod)
	}
	return filepath.Dir(mod), nil
}

// Config returns a stack configuration for tests under dir: free ports,
// a 1 s scrape interval, a fixed-rate producer at rate messages per second
// and a random webhook token.
func Config(dir string, rate int) localstack.Config {
	c := localstack.DefaultConfig()
	c.WorkDir = filepath.Join(dir, "work")
	c.StatusDir = filepath.Join(dir, "status")
	c.Ports = localstack.Ports{}
	c.ScrapeInterval = time.Second
	c.ProducerArgs = []string{"-rate-mode", "fixed", "-rate", fmt.Sprint(rate), "-message-size", "512"}
	c.ExporterArgs = []string{"-interval", "2s", "-query-timeout", "2s"}
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	c.WebhookToken = hex.EncodeToString(b)
	return c
}

// Start builds the binaries if needed and starts a stack with cfg (its
// BinDir is filled in).
func Start(ctx context.Context, log *slog.Logger, cfg localstack.Config) (*localstack.Stack, error) {
	dir, err := Binaries(ctx)
	if err != nil {
		return nil, err
	}
	cfg.BinDir = dir
	return localstack.Start(ctx, log, cfg)
}
