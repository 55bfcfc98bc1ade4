package actuator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/kafkatune/kafkatune/internal/brokercfg"
	"github.com/kafkatune/kafkatune/internal/kafkaproc"
	"github.com/kafkatune/kafkatune/internal/knobs"
)

// Defaults of the local actuator's waits.
const (
	// DefaultReadBackTimeout bounds how long an actuator keeps retrying
	// to read the setting back after a change.
	DefaultReadBackTimeout = 30 * time.Second
	readBackPoll           = 250 * time.Millisecond
)

// Local applies settings to the broker process that `agent local` runs:
// thread counts change live through the Admin API, a new heap restarts the
// JVM with its data kept. Its methods are safe for concurrent use; applies
// run one at a time.
type Local struct {
	logger  *slog.Logger
	broker  *kafkaproc.Broker
	threads ThreadConfigurer
	closer  func()
	bounds  knobs.Bounds

	mu sync.Mutex // serialises Apply
}

var _ Actuator = (*Local)(nil)

// NewLocal returns an actuator for broker that accepts settings within
// bounds. It opens an Admin API client to the broker's bootstrap address,
// which a restart keeps; Close releases it.
func NewLocal(logger *slog.Logger, broker *kafkaproc.Broker, bounds knobs.Bounds) (*Local, error) {
	if broker == nil {
		return nil, errors.New("local actuator: broker required")
	}
	if err := bounds.Limits.Validate(); err != nil {
		return nil, fmt.Errorf("local actuator: bounds: %w", err)
	}
	logger = logger.With("actuator", "local")
	client, err := brokercfg.New(logger, brokercfg.Config{Bootstrap: broker.Bootstrap()})
	if err != nil {
		return nil, fmt.Errorf("local actuator: %w", err)
	}
	return &Local{
		logger: logger, broker: broker, threads: client, closer: client.Close,
		bounds: bounds,
	}, nil
}

// Close releases the Admin API client. The broker keeps running.
func (l *Local) Close() { l.closer() }

// Current reads the heap from the running JVM's command line and the
// thread counts the broker reports through the Admin API.
func (l *Local) Current(ctx context.Context) (knobs.Setting, error) {
	heap, err := l.broker.RunningHeapMB()
	if err != nil {
		return knobs.Setting{}, fmt.Errorf("running heap: %w", err)
	}
	t, err := l.threads.Threads(ctx)
	if err != nil {
		return knobs.Setting{}, fmt.Errorf("broker threads: %w", err)
	}
	return settingOf(heap, t), nil
}

// Apply refuses s when it is out of bounds, before touching the broker.
// Otherwise it changes the thread counts live (stepping by at most a
// factor of two), restarts the broker with its data kept when the heap
// changes, and reads the setting back. When the broker does not come back
// with the new heap, Apply restarts it with the previous one and returns
// the error.
func (l *Local) Apply(ctx context.Context, s knobs.Setting) error {
	if err := refuse(l.logger, l.bounds, s); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()

	start := time.Now()
	from, err := l.Current(ctx)
	if err != nil {
		err = fmt.Errorf("read current setting: %w", err)
		logApply(l.logger, from, s, false, start, err)
		return err
	}
	restart := from.HeapMB != s.HeapMB
	err = l.apply(ctx, from, s, restart)
	if err == nil {
		err = verify(ctx, s, DefaultReadBackTimeout, readBackPoll, l.Current)
	}
	logApply(l.logger, from, s, restart, start, err)
	return err
}

// apply makes the changes from from to s.
func (l *Local) apply(ctx context.Context, from, s knobs.Setting, restart bool) error {
	if want := threadsOf(s); want != threadsOf(from) {
		if err := l.threads.SetThreads(ctx, want); err != nil {
			return fmt.Errorf("set threads live: %w", err)
		}
	}
	if !restart {
		return nil
	}
	cfg := l.broker.Config()
	cfg.HeapMB, cfg.NetworkThreads, cfg.IOThreads = s.HeapMB, s.NetworkThreads, s.IOThreads
	err := l.broker.Restart(ctx, cfg)
	if err == nil {
		return nil
	}
	err = fmt.Errorf("restart with a %d MiB heap: %w", s.HeapMB, err)
	cfg.HeapMB = from.HeapMB
	if rerr := l.broker.Restart(context.WithoutCancel(ctx), cfg); rerr != nil {
		return fmt.Errorf("%w; restart with the previous %d MiB heap failed too: %v",
			err, from.HeapMB, rerr)
	}
	return fmt.Errorf("%w; broker restarted with the previous %d MiB heap", err, from.HeapMB)
}
