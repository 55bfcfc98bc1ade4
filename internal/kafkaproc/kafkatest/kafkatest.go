// Package kafkatest starts a real local Kafka broker for a test: free
// ports, a temporary data directory, stopped when the test ends. A missing
// java or mvn fails the test with the reason; it never skips.
package kafkatest

import (
	"context"
	"testing"
	"time"

	"github.com/kafkatune/kafkatune/internal/kafkaproc"
	"github.com/kafkatune/kafkatune/internal/testlog"
)

// Start starts a broker with the defaults (256 MiB heap, 1 network and 2
// I/O threads, the JMX exporter on a free port), after applying each of
// opts to the configuration. The broker is stopped in t.Cleanup.
func Start(t testing.TB, opts ...func(*kafkaproc.Config)) *kafkaproc.Broker {
	t.Helper()
	cfg := kafkaproc.Config{DataDir: t.TempDir()}
	for _, o := range opts {
		o(&cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	b, err := kafkaproc.Start(ctx, testlog.New(t), cfg)
	if err != nil {
		t.Fatalf("start kafka broker: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := b.Stop(ctx); err != nil {
			t.Errorf("stop kafka broker: %v", err)
		}
	})
	return b
}
