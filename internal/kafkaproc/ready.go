package kafkaproc

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/kafkatune/kafkatune/internal/brokercfg"
	"github.com/kafkatune/kafkatune/internal/childproc"
)

const readyPoll = 250 * time.Millisecond

// waitReady returns once the broker's listener accepts connections and the
// Admin API describes the cluster, or an error when proc exits or
// cfg.StartTimeout passes first.
func waitReady(ctx context.Context, cfg Config, proc *childproc.Process) error {
	ctx, cancel := context.WithTimeout(ctx, cfg.StartTimeout)
	defer cancel()
	addr := bootstrap(cfg)
	if err := poll(ctx, cfg, proc, func(ctx context.Context) error {
		d := net.Dialer{Timeout: time.Second}
		conn, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			_ = conn.Close()
		}
		return err
	}); err != nil {
		return err
	}
	// The listener is up: from here on the Admin client connects at once.
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	client, err := brokercfg.New(quiet, brokercfg.Config{Bootstrap: addr, CallTimeout: 5 * time.Second})
	if err != nil {
		return err
	}
	defer client.Close()
	return poll(ctx, cfg, proc, func(ctx context.Context) error {
		_, err := client.Brokers(ctx)
		return err
	})
}

// poll calls check until it succeeds, proc exits or ctx ends.
func poll(ctx context.Context, cfg Config, proc *childproc.Process, check func(context.Context) error) error {
	for {
		err := check(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-proc.Done():
			return fmt.Errorf("kafka broker exited during start-up (%v); last lines of %s:\n%s",
				proc.Err(), cfg.ServerLog(), tailFile(cfg.ServerLog(), 20))
		case <-ctx.Done():
			return fmt.Errorf("kafka broker not ready within %s (last check: %v); see %s",
				cfg.StartTimeout, err, cfg.ServerLog())
		case <-time.After(readyPoll):
		}
	}
}

// tailFile returns the last n lines of the file at path, or a note that it
// cannot be read.
func tailFile(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(cannot read: %v)", err)
	}
	return lastLines(string(b), n)
}
