// Command bench runs kafkatune's benchmarks on a local Kafka broker: this
// project's producer against Kafka's ProducerPerformance, end-to-end
// latency against an independent consumer, and the tuner against random
// search. It writes bench/results.md and prints it. Run it from the
// repository root with `go run ./bench` (-quick for a short run, -help for
// the flags).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/kafkatune/kafkatune/internal/perfbench"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
	}
	os.Exit(perfbench.ExitCode(err))
}

func run(ctx context.Context) error {
	return perfbench.Main(ctx, os.Args[1:], os.LookupEnv, os.Stdout, os.Stderr)
}
