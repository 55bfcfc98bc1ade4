package chaos

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kafkatune/kafkatune/internal/loadgen"
	"github.com/kafkatune/kafkatune/internal/stamp"
	"github.com/kafkatune/kafkatune/internal/telemetry"
)

// Topic is the topic and group name of a chaos run.
const Topic = "kafkatune-chaos"

// pollEvery is how often waitFor checks its condition.
const pollEvery = 100 * time.Millisecond

// errStoppedEarly is returned when the producer or the consumer returned
// while it was meant to run: it must ride through restarts.
var errStoppedEarly = errors.New("stopped during the run")

// load is the in-process producer and consumer of a run.
type load struct {
	producer *loadgen.Producer
	consumer *loadgen.Consumer
	preg     *prometheus.Registry
	ledger   *ledger

	stopProducer, stopConsumer context.CancelFunc
	prod, cons                 *task
}

// task is one goroutine running a Run method.
type task struct {
	name string
	done chan struct{}
	err  error // set before done is closed
	// watched is done while the task must keep running, nil once it is
	// being stopped (a nil channel never fires in a select).
	watched <-chan struct{}
}

func goTask(name string, run func() error) *task {
	t := &task{name: name, done: make(chan struct{})}
	t.watched = t.done
	go func() {
		defer close(t.done)
		t.err = run()
	}()
	return t
}

// early is the error for a task that returned while it was watched.
func (t *task) early() error {
	return fmt.Errorf("%s %w: %v", t.name, errStoppedEarly, t.err)
}

// startLoad creates the producer and the consumer and starts both.
func startLoad(ctx context.Context, logger *slog.Logger, cfg Config, bootstrap string) (*load, error) {
	pc := loadgen.DefaultProducerConfig()
	pc.Broker, pc.Topic, pc.Partitions = bootstrap, Topic, cfg.Partitions
	pc.RateMode, pc.Rate, pc.MessageSize = loadgen.RateFixed, cfg.Rate, cfg.MessageSize

	l := &load{preg: prometheus.NewRegistry(), ledger: newLedger(time.Now())}
	cc := loadgen.DefaultConsumerConfig()
	// Broker outages here can outlast the classic protocol's session
	// timeout; the KIP-848 protocol rides through them.
	cc.GroupProtocol = "consumer"
	cc.Broker, cc.Topic, cc.Group = bootstrap, Topic, Topic
	cc.LagInterval = time.Second
	cc.Tracker.Grace = cfg.Grace
	cc.OnMessage = func(h stamp.Header, received time.Time) {
		l.ledger.consume(h.ProducerID, h.Seq, h.Intended, received)
	}

	var err error
	l.producer, err = loadgen.NewProducer(pc, logger.With("component", "producer"), l.preg)
	if err != nil {
		return nil, fmt.Errorf("producer: %w", err)
	}
	l.consumer, err = loadgen.NewConsumer(cc, logger.With("component", "consumer"),
		prometheus.NewRegistry())
	if err != nil {
		return nil, fmt.Errorf("consumer: %w", err)
	}
	l.ledger.setProducer(l.producer.ID())
	l.producer.OnDelivery(l.ledger.ack)

	pctx, stopP := context.WithCancel(context.WithoutCancel(ctx))
	cctx, stopC := context.WithCancel(context.WithoutCancel(ctx))
	l.stopProducer, l.stopConsumer = stopP, stopC
	l.cons = goTask("consumer", func() error { return l.consumer.Run(cctx) })
	l.prod = goTask("producer", func() error { return l.producer.Run(pctx) })
	return l, nil
}

// sleep waits for d, failing early when ctx ends or a watched task
// returns.
func (l *load) sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-l.prod.watched:
		return l.prod.early()
	case <-l.cons.watched:
		return l.cons.early()
	}
}

// waitFor polls cond until it holds, limit passes (an error wrapping
// context.DeadlineExceeded), ctx ends or a watched task returns.
func (l *load) waitFor(ctx context.Context, limit time.Duration, cond func() bool) error {
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("not within %s: %w", limit, context.DeadlineExceeded)
		}
		if err := l.sleep(ctx, pollEvery); err != nil {
			return err
		}
	}
	return nil
}

// finish stops the producer, waits until the consumer has read every
// acknowledged message (or cfg.DrainTimeout passed) and the tracker's
// grace has passed, then stops the consumer.
func (l *load) finish(ctx context.Context, logger *slog.Logger, cfg Config) error {
	l.prod.watched = nil
	l.stopProducer()
	if err := waitTask(ctx, l.prod); err != nil {
		return err
	}
	ps := l.producer.Stats()
	logger.Info("producer stopped, draining the consumer", "sent", ps.Sent,
		"acked", ps.Acked, "failed", ps.Failed, "unconsumed", l.ledger.unconsumed())

	drained := func() bool { return l.ledger.unconsumed() == 0 }
	err := l.waitFor(ctx, cfg.DrainTimeout, drained)
	if errors.Is(err, context.DeadlineExceeded) {
		logger.Warn("drain timed out: acknowledged messages were not read",
			"drain_timeout", cfg.DrainTimeout, "unconsumed", l.ledger.unconsumed())
	} else if err != nil {
		return err
	}
	// Let the tracker declare whatever is still missing: nothing once no
	// number below the highest one read is outstanding.
	settled := func() bool { return l.consumer.Stats().Pending == 0 }
	err = l.waitFor(ctx, 2*cfg.Grace+2*trackerTick, settled)
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	l.cons.watched = nil
	l.stopConsumer()
	return waitTask(ctx, l.cons)
}

// waitTask waits for a stopped task and returns its error.
func waitTask(ctx context.Context, t *task) error {
	timer := time.NewTimer(stopTimeout)
	defer timer.Stop()
	select {
	case <-t.done:
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return fmt.Errorf("%s did not stop within %s", t.name, stopTimeout)
	}
	if t.err != nil {
		return fmt.Errorf("%s: %w", t.name, t.err)
	}
	return nil
}

// abort stops both tasks and waits for them, bounded; a no-op after
// finish.
func (l *load) abort() {
	l.stopProducer()
	l.stopConsumer()
	for _, t := range []*task{l.prod, l.cons} {
		select {
		case <-t.done:
		case <-time.After(stopTimeout):
		}
	}
}

// fill copies the totals into rep.
func (l *load) fill(rep *Report) {
	ps := l.producer.Stats()
	cs := l.consumer.Stats()
	c := l.ledger.counts()
	rep.Sent, rep.Acked, rep.Failed, rep.Recreated = ps.Sent, c.acked, ps.Failed, ps.Recreated
	rep.FailedByReason = failedByReason(l.preg)
	rep.Consumed, rep.Lost, rep.Duplicates = c.consumed, c.lost, c.duplicates
	rep.Gaps, rep.Late, rep.Pending = cs.Seq.Gaps, cs.Seq.Late, cs.Pending
	rep.Foreign = cs.Foreign + c.strangers
	rep.WorstP99 = c.worstP99
}

// failedByReason reads the producer's failed counter per reason.
func failedByReason(g prometheus.Gatherer) map[string]uint64 {
	out := map[string]uint64{}
	mfs, err := g.Gather()
	if err != nil {
		return out
	}
	for _, mf := range mfs {
		if mf.GetName() != telemetry.ProducerFailed {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == telemetry.LabelReason {
					out[lp.GetValue()] = uint64(m.GetCounter().GetValue())
				}
			}
		}
	}
	return out
}
