package chaos

import (
	"context"
	"testing"
	"time"

	"github.com/kafkatune/kafkatune/internal/testlog"
)

// TestRunLosesNothing is a short `make chaos`: a real broker restarted
// twice under a fixed-rate load. Nothing acknowledged may be lost, the
// producer and the consumer must ride through (Run fails if either
// returns early), and the report must add up.
func TestRunLosesNothing(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Restarts = 2
	cfg.Rate = 300
	cfg.Seed = 42
	cfg.MinInterval, cfg.MaxInterval = 3*time.Second, 6*time.Second
	cfg.Cooldown = 3 * time.Second
	cfg.DrainTimeout = 30 * time.Second
	cfg.DataDir = t.TempDir()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	r, err := Run(ctx, testlog.New(t), cfg)
	if err != nil {
		t.Fatalf("Run: %v (report so far: %s)", err, r.Line())
	}
	t.Logf("%s; downtime %v; producer recovery %v; consumer recovery %v",
		r.Line(), r.Downtime, r.ProducerRecovery, r.ConsumerRecovery)

	if r.Lost != 0 {
		t.Errorf("lost %d acknowledged messages", r.Lost)
	}
	checkReport(t, cfg, r)
}

// checkReport checks that the figures of a finished run agree with each
// other.
func checkReport(t *testing.T, cfg Config, r Report) {
	t.Helper()
	if r.Restarts != cfg.Restarts || len(r.Downtime) != cfg.Restarts ||
		len(r.ProducerRecovery) != cfg.Restarts || len(r.ConsumerRecovery) != cfg.Restarts {
		t.Errorf("restarts %d, downtimes %v, recoveries %v %v: want %d of each",
			r.Restarts, r.Downtime, r.ProducerRecovery, r.ConsumerRecovery, cfg.Restarts)
	}
	if r.Acked == 0 || r.Acked+r.Failed != r.Sent {
		t.Errorf("sent %d, acked %d, failed %d: want acked + failed = sent > 0", r.Sent, r.Acked, r.Failed)
	}
	var byReason uint64
	for _, n := range r.FailedByReason {
		byReason += n
	}
	if byReason != r.Failed {
		t.Errorf("failed by reason %v sums to %d, failed %d", r.FailedByReason, byReason, r.Failed)
	}
	if r.Consumed+r.Lost < r.Acked || r.Consumed > r.Sent {
		t.Errorf("consumed %d, lost %d, acked %d, sent %d: want acked - lost <= consumed <= sent",
			r.Consumed, r.Lost, r.Acked, r.Sent)
	}
	// The tracker cannot declare more numbers missing than were never
	// read.
	if r.Late > r.Gaps || r.Gaps-r.Late > r.Sent-r.Consumed {
		t.Errorf("gaps %d, late %d: more than the %d numbers never read",
			r.Gaps, r.Late, r.Sent-r.Consumed)
	}
	if r.Foreign != 0 {
		t.Errorf("foreign records %d on a topic only this run writes", r.Foreign)
	}
	// Messages due while the broker was down are stamped with their
	// schedule, so every outage shows up as latency.
	shortest := r.Downtime[0]
	for _, d := range r.Downtime {
		shortest = min(shortest, d)
	}
	if r.WorstP99 < shortest/2 {
		t.Errorf("worst P99 %v, below half the shortest outage %v: the outage did not show as latency",
			r.WorstP99, shortest)
	}
}
