package chaos

import (
	"context"
	"log/slog"
	"time"
)

// notRecovered marks a client that did not recover before the next
// restart.
const notRecovered = -1

// recovery measures how soon the clients work again after a restart: the
// producer's first acknowledgement and the consumer's first record after
// the broker was ready.
type recovery struct {
	restart            int
	ready              time.Time
	acked, consumed    uint64 // totals when the broker was ready
	producer, consumer time.Duration
}

func (l *load) newRecovery(restart int) *recovery {
	c := l.ledger.progress()
	return &recovery{
		restart: restart, ready: time.Now(), acked: c.acked, consumed: c.consumed,
		producer: notRecovered, consumer: notRecovered,
	}
}

// check notes the first progress of each client since r.ready.
func (r *recovery) check(l *load, now time.Time) {
	c := l.ledger.progress()
	if r.producer == notRecovered && c.acked > r.acked {
		r.producer = now.Sub(r.ready)
	}
	if r.consumer == notRecovered && c.consumed > r.consumed {
		r.consumer = now.Sub(r.ready)
	}
}

// record appends r's figures to rep and logs them; a nil r (before the
// first restart) does nothing.
func (r *recovery) record(logger *slog.Logger, rep *Report) {
	if r == nil {
		return
	}
	rep.ProducerRecovery = append(rep.ProducerRecovery, r.producer)
	rep.ConsumerRecovery = append(rep.ConsumerRecovery, r.consumer)
	logger.Info("clients after the restart", "restart", r.restart,
		"producer_recovery", recoveryText(r.producer),
		"consumer_recovery", recoveryText(r.consumer))
}

func recoveryText(d time.Duration) string {
	if d == notRecovered {
		return "not before the next restart"
	}
	return d.Round(time.Millisecond).String()
}

// observe waits for d like sleep, checking r (if not nil) as it goes.
func (l *load) observe(ctx context.Context, d time.Duration, r *recovery) error {
	end := time.Now().Add(d)
	for {
		now := time.Now()
		if r != nil {
			r.check(l, now)
		}
		left := end.Sub(now)
		if left <= 0 {
			return nil
		}
		if err := l.sleep(ctx, min(left, pollEvery)); err != nil {
			return err
		}
	}
}
