// Command agent is kafkatune's tuning agent.
//
//	agent local     run the whole stack on this machine (make local), and
//	                optionally tune its broker with the built-in optimizer
//	agent tune      tune the Kafka StatefulSet in Kubernetes with the
//	                built-in optimizer (no API key needed)
//	agent vibectl   drive the LLM CLI vibectl in a loop behind guardrails
//
// Run `agent <command> -help` for the flags of each. Installed on vibectl's
// PATH under the name kubectl, the binary acts as the guarded kubectl shim.
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

	"github.com/kafkatune/kafkatune/internal/vibectl"
)

// Exit codes.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	if vibectl.InvokedAsShim(os.Args[0]) {
		code := vibectl.ShimMain(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	}
	err := run(ctx, os.Args[1:], os.LookupEnv, os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

// usageError is bad input: a one-line message naming the flag or command
// and what is allowed. The program exits 2 on it.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return &usageError{fmt.Sprintf(format, a...)} }

const commands = "local, tune or vibectl"

// run dispatches to the subcommand named by args[0].
func run(ctx context.Context, args []string, lookup func(string) (string, bool), stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usagef("missing command: want %s (agent <command> -help for its flags)", commands)
	}
	switch args[0] {
	case "local":
		return runLocal(ctx, args[1:], lookup, stdout, stderr)
	case "vibectl":
		return runVibectl(ctx, args[1:], lookup, stdout, stderr)
	case "tune":
		return runTune(ctx, args[1:], lookup, stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprintf(stdout, "Usage: agent <command> [flags]\n\nCommands: %s. Run agent <command> -help for the flags.\n", commands)
		return nil
	default:
		return usagef("unknown command %q: want %s", args[0], commands)
	}
}

// exitCode maps err to the exit status and prints the line explaining it.
func exitCode(err error, stderr io.Writer) int {
	var usage *usageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &usage):
		fmt.Fprintln(stderr, "agent:", err)
		return exitUsage
	default:
		fmt.Fprintln(stderr, "agent:", err)
		return exitError
	}
}
