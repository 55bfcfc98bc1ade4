// Command chaos is `make chaos`: it restarts a real Kafka broker several
// times under a fixed-rate load and prints one line with what was
// acknowledged, consumed, lost and duplicated, and the worst P99 seen. It
// exits 1 when an acknowledged message was lost, 2 on a bad flag. Run it
// with -help for its flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/kafkatune/kafkatune/internal/chaos"
)

// Exit codes.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

// errLost makes the command fail when an acknowledged message was lost.
var errLost = errors.New("acknowledged messages were lost")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.LookupEnv, os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

// run parses the flags, runs the chaos and prints its line to stdout; logs
// go to stderr.
func run(ctx context.Context, args []string, lookup func(string) (string, bool),
	stdout, stderr io.Writer,
) error {
	cmd, err := chaos.ParseFlags(args, lookup, stdout)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: cmd.LogLevel}))
	rep, err := chaos.Run(ctx, log, cmd.Config)
	if err != nil {
		return err
	}
	log.Info("chaos done", "sent", rep.Sent, "failed_by_reason", rep.FailedByReason,
		"recreated", rep.Recreated, "late", rep.Late, "pending", rep.Pending,
		"foreign", rep.Foreign, "downtime", rep.Downtime)
	return verdict(rep, stdout)
}

// verdict prints the report's line and fails when a message was lost.
func verdict(rep chaos.Report, stdout io.Writer) error {
	fmt.Fprintln(stdout, rep.Line())
	if rep.Lost > 0 {
		return fmt.Errorf("%w: %d", errLost, rep.Lost)
	}
	return nil
}

// exitCode maps err to the exit status and prints the one line that
// explains it.
func exitCode(err error, stderr io.Writer) int {
	var usage *chaos.UsageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &usage):
		fmt.Fprintln(stderr, "chaos:", err)
		return exitUsage
	default:
		fmt.Fprintln(stderr, "chaos:", err)
		return exitError
	}
}
