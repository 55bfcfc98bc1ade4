// Command loadgen is kafkatune's load generator: `loadgen produce` writes
// stamped messages to a Kafka topic at a fixed, maximal or adaptive rate,
// `loadgen consume` reads them back and measures end-to-end latency. Run
// `loadgen produce --help` for the flags.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/kafkatune/kafkatune/internal/loadgen"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
	}
	os.Exit(loadgen.ExitCode(err))
}

func run(ctx context.Context) error {
	return loadgen.Main(ctx, os.Args[1:], os.LookupEnv, os.Stdout, os.Stderr)
}
