package brokercfg_test

import (
	"context"
	"testing"
	"time"

	"github.com/kafkatune/kafkatune/internal/brokercfg"
	"github.com/kafkatune/kafkatune/internal/kafkaproc"
	"github.com/kafkatune/kafkatune/internal/kafkaproc/kafkatest"
	"github.com/kafkatune/kafkatune/internal/testlog"
)

func TestStep(t *testing.T) {
	tests := []struct{ cur, want, next int }{
		{1, 1, 1},
		{1, 2, 2},
		{1, 8, 2},
		{3, 8, 6},
		{8, 1, 4},
		{8, 4, 4},
		{3, 1, 1}, // 1 >= 3/2 in integer division, as Kafka checks it
		{5, 1, 2},
		{2, 1, 1},
	}
	for _, tt := range tests {
		if got := brokercfg.Step(tt.cur, tt.want); got != tt.next {
			t.Errorf("Step(%d, %d) = %d, want %d", tt.cur, tt.want, got, tt.next)
		}
	}
}

func TestNewNeedsBootstrap(t *testing.T) {
	if _, err := brokercfg.New(testlog.New(t), brokercfg.Config{}); err == nil {
		t.Fatal("New without a bootstrap address succeeded")
	}
}

// TestSetThreadsSteps walks both pools of a real broker up and down by more
// than Kafka accepts in one change.
func TestSetThreadsSteps(t *testing.T) {
	b := kafkatest.Start(t, func(c *kafkaproc.Config) {
		c.NetworkThreads, c.IOThreads, c.JMXPort = 8, 2, kafkaproc.JMXDisabled
	})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c, err := brokercfg.New(testlog.New(t), brokercfg.Config{Bootstrap: b.Bootstrap()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	start := brokercfg.Threads{Network: 8, IO: 2}
	if got, err := c.Threads(ctx); err != nil || got != start {
		t.Fatalf("Threads() = %s, %v; want %s from server.properties", got, err, start)
	}
	for _, want := range []brokercfg.Threads{
		{Network: 1, IO: 11}, // 8->4->2->1 and 2->4->8->11
		{Network: 3, IO: 2},
		{Network: 3, IO: 2}, // no change
	} {
		if err := c.SetThreads(ctx, want); err != nil {
			t.Fatalf("SetThreads(%s): %v", want, err)
		}
		if got, err := c.Threads(ctx); err != nil || got != want {
			t.Fatalf("Threads() = %s, %v; want %s", got, err, want)
		}
	}
	if err := c.SetThreads(ctx, brokercfg.Threads{Network: 0, IO: 1}); err == nil {
		t.Fatal("SetThreads with 0 network threads succeeded")
	}
}
