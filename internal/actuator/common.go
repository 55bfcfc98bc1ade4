package actuator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/kafkatune/kafkatune/internal/brokercfg"
	"github.com/kafkatune/kafkatune/internal/knobs"
)

// ThreadConfigurer reads and changes the broker's thread pools at runtime.
// *brokercfg.Client satisfies it; tests use a stand-in.
type ThreadConfigurer interface {
	// Threads returns the effective num.network.threads and num.io.threads.
	Threads(ctx context.Context) (brokercfg.Threads, error)
	// SetThreads changes both pools and returns once they are effective.
	SetThreads(ctx context.Context, t brokercfg.Threads) error
}

var _ ThreadConfigurer = (*brokercfg.Client)(nil)

// threadsOf returns the thread counts of s.
func threadsOf(s knobs.Setting) brokercfg.Threads {
	return brokercfg.Threads{Network: s.NetworkThreads, IO: s.IOThreads}
}

// settingOf combines a heap size and thread counts into a setting.
func settingOf(heapMB int, t brokercfg.Threads) knobs.Setting {
	return knobs.Setting{HeapMB: heapMB, NetworkThreads: t.Network, IOThreads: t.IO}
}

// refuse checks s against b and, when it is out of bounds, logs and
// returns the error, which wraps one *knobs.BoundError per knob.
func refuse(logger *slog.Logger, b knobs.Bounds, s knobs.Setting) error {
	err := b.Check(s)
	if err == nil {
		return nil
	}
	logger.Warn("setting refused", "to", s.String(), "err", err)
	return fmt.Errorf("refuse %s: %w", s, err)
}

// verify reads the setting back with current until it succeeds or wait
// passes (a broker that just restarted may take a moment to answer the
// Admin API), and returns a *MismatchError when it differs from want.
func verify(ctx context.Context, want knobs.Setting, wait, poll time.Duration,
	current func(context.Context) (knobs.Setting, error),
) error {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	for {
		got, err := current(ctx)
		if err == nil {
			if got != want {
				return &MismatchError{Want: want, Got: got}
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("read back the setting within %s: %w", wait, err)
		case <-time.After(poll):
		}
	}
}

// logApply logs the outcome of one Apply.
func logApply(logger *slog.Logger, from, to knobs.Setting, restart bool,
	start time.Time, err error,
) {
	attrs := []any{
		"from", from.String(), "to", to.String(), "restart", restart,
		"duration", time.Since(start).Round(time.Millisecond),
	}
	var mismatch *MismatchError
	switch {
	case err == nil:
		logger.Info("setting applied", attrs...)
	case errors.As(err, &mismatch):
		logger.Error("setting not in effect after apply",
			append(attrs, "got", mismatch.Got.String(), "err", err)...)
	default:
		logger.Error("setting apply failed", append(attrs, "err", err)...)
	}
}
