// Command exporter is the kafkatune bridge: every interval it asks
// Prometheus for the consumer's end-to-end P99 latency and the message
// rates, writes them to $STATUS_DIR/latency.txt and metrics.json and, given
// Kubernetes credentials, to the ConfigMap kafka-latency-metrics. Run it
// with -help for its flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/kafkatune/kafkatune/internal/bridge"
)

// Exit codes.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.LookupEnv, os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

// run parses the configuration and runs the bridge until ctx ends.
func run(ctx context.Context, args []string, lookup func(string) (string, bool), stdout, stderr io.Writer) error {
	cfg, err := bridge.ParseFlags(args, lookup, stdout)
	if err != nil {
		return err
	}
	log := bridge.NewLogger(stderr, cfg.LogLevel)
	return bridge.Serve(ctx, cfg, log)
}

// exitCode maps err to the process exit status and prints the one line
// that explains it.
func exitCode(err error, stderr io.Writer) int {
	var usage *bridge.UsageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &usage):
		fmt.Fprintln(stderr, "exporter:", err)
		return exitUsage
	default:
		fmt.Fprintln(stderr, "exporter:", err)
		return exitError
	}
}
