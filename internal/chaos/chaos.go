package chaos

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"time"

	"github.com/kafkatune/kafkatune/internal/kafkaproc"
)

// Timeouts of the steps around the restarts.
const (
	// firstAckTimeout bounds the wait for the first acknowledged message
	// (topic creation on a cold broker) before the first restart.
	firstAckTimeout = 2 * time.Minute
	// stopTimeout bounds the producer's flush and the consumer's close.
	stopTimeout = time.Minute
	// trackerTick is how often loadgen's consumer ticks its sequence
	// tracker; two ticks on top of two graces let it declare every gap.
	trackerTick = 2 * time.Second
	// brokerStopTimeout bounds the broker's stop at the end.
	brokerStopTimeout = time.Minute
)

// Report is the outcome of a run.
type Report struct {
	// Seed is the seed of the restart moments.
	Seed int64
	// Restarts counts the restarts done; Downtime is the time each took,
	// from the stop to the broker answering again.
	Restarts int
	Downtime []time.Duration
	// ProducerRecovery and ConsumerRecovery are, per restart, the time
	// from the broker being ready again to the producer's first
	// acknowledgement and the consumer's first record; -1 when that did
	// not happen before the next restart (or the end of the cooldown).
	ProducerRecovery []time.Duration
	ConsumerRecovery []time.Duration

	// The producer's totals: messages handed to the client, acknowledged,
	// finally failed (by reason: timeout, fatal, broker, other), and the
	// clients recreated after a fatal error.
	Sent, Acked, Failed, Recreated uint64
	FailedByReason                 map[string]uint64

	// Consumed counts the distinct sequence numbers the consumer read,
	// acknowledged or not (a failed message may have been written).
	Consumed uint64
	// Lost counts acknowledged messages never read.
	Lost uint64
	// Duplicates counts records read again after their first reading.
	Duplicates uint64
	// Gaps, Late and Pending are the consumer's sequence tracker totals:
	// numbers declared missing, numbers that arrived after being
	// declared, and numbers still outstanding at the end. Foreign counts
	// records without a stamp.
	Gaps, Late, Pending, Foreign uint64

	// WorstP99 is the highest P99 of the end-to-end latency over the
	// 5-second windows of the run, computed exactly from every record.
	WorstP99 time.Duration
}

// Line renders the report as the one line `make chaos` prints.
func (r Report) Line() string {
	return fmt.Sprintf("acked=%d consumed=%d lost=%d duplicates=%d worst_p99_ms=%.1f "+
		"failed=%d gaps=%d restarts=%d seed=%d",
		r.Acked, r.Consumed, r.Lost, r.Duplicates, float64(r.WorstP99)/float64(time.Millisecond),
		r.Failed, r.Gaps, r.Restarts, r.Seed)
}

// Run starts a broker in its own data directory, runs a fixed-rate
// producer and a consumer against it, restarts the broker cfg.Restarts
// times at random moments (keeping its data), then stops the producer,
// drains the consumer and reports what was acknowledged, read, lost and
// duplicated. A lost message is not an error: Report.Lost says so. Run
// returns an error when the run could not be carried out: the broker did
// not start or come back, or the producer or consumer gave up.
func Run(ctx context.Context, logger *slog.Logger, cfg Config) (Report, error) {
	if err := cfg.Validate(); err != nil {
		return Report{}, err
	}
	dir, cleanup, err := dataDir(cfg.DataDir)
	if err != nil {
		return Report{}, err
	}
	defer cleanup()
	bcfg := kafkaproc.Config{
		DataDir: dir,
		JMXPort: kafkaproc.JMXDisabled,
		Jars:    kafkaproc.JarsConfig{KafkaHome: cfg.KafkaHome},
	}
	broker, err := kafkaproc.Start(ctx, logger, bcfg)
	if err != nil {
		return Report{}, fmt.Errorf("start broker: %w", err)
	}
	defer stopBroker(logger, broker)

	l, err := startLoad(ctx, logger, cfg, broker.Bootstrap())
	if err != nil {
		return Report{}, err
	}
	defer l.abort()

	rep := Report{Seed: cfg.Seed}
	err = restart(ctx, logger, cfg, broker, bcfg, l, &rep)
	if err == nil {
		err = l.finish(ctx, logger, cfg)
	}
	l.fill(&rep)
	return rep, err
}

// restart waits for the first acknowledged message, restarts the broker
// cfg.Restarts times after random waits, and lets the load run for the
// cooldown. While it waits it measures how soon the clients recovered from
// the previous restart.
func restart(ctx context.Context, logger *slog.Logger, cfg Config, broker *kafkaproc.Broker,
	bcfg kafkaproc.Config, l *load, rep *Report,
) error {
	firstAck := func() bool { return l.producer.Stats().Acked > 0 }
	if err := l.waitFor(ctx, firstAckTimeout, firstAck); err != nil {
		return fmt.Errorf("wait for the first acknowledged message: %w", err)
	}
	var rec *recovery
	for n, wait := range restartWaits(cfg) {
		i := n + 1
		if err := l.observe(ctx, wait, rec); err != nil {
			return err
		}
		rec.record(logger, rep)
		start := time.Now()
		if err := broker.Restart(ctx, bcfg); err != nil {
			return fmt.Errorf("restart %d of %d: %w", i, cfg.Restarts, err)
		}
		down := time.Since(start)
		rep.Restarts, rep.Downtime = i, append(rep.Downtime, down)
		logger.Info("broker restarted", "restart", i, "restarts", cfg.Restarts,
			"waited", wait.Round(time.Millisecond), "downtime", down.Round(time.Millisecond),
			"acked", l.producer.Stats().Acked)
		rec = l.newRecovery(i)
	}
	err := l.observe(ctx, cfg.Cooldown, rec)
	rec.record(logger, rep)
	return err
}

// restartWaits returns the wait before each restart: uniform between
// cfg.MinInterval and cfg.MaxInterval, the same for the same seed.
func restartWaits(cfg Config) []time.Duration {
	rng := rand.New(rand.NewPCG(uint64(cfg.Seed), uint64(cfg.Restarts)))
	spread := int64(cfg.MaxInterval - cfg.MinInterval)
	waits := make([]time.Duration, cfg.Restarts)
	for i := range waits {
		waits[i] = cfg.MinInterval + time.Duration(rng.Int64N(spread+1))
	}
	return waits
}

// dataDir returns dir, created if needed, or a new temporary directory
// that cleanup removes.
func dataDir(dir string) (string, func(), error) {
	if dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", nil, fmt.Errorf("create data dir: %w", err)
		}
		return dir, func() {}, nil
	}
	tmp, err := os.MkdirTemp("", "kafkatune-chaos-")
	if err != nil {
		return "", nil, fmt.Errorf("create data dir: %w", err)
	}
	return tmp, func() { _ = os.RemoveAll(tmp) }, nil
}

// stopBroker stops the broker with a fresh, bounded context: the run's may
// be cancelled already.
func stopBroker(logger *slog.Logger, b *kafkaproc.Broker) {
	ctx, cancel := context.WithTimeout(context.Background(), brokerStopTimeout)
	defer cancel()
	if err := b.Stop(ctx); err != nil && !errors.Is(err, kafkaproc.ErrStopped) {
		logger.Warn("stopping the broker failed", "err", err)
	}
}
