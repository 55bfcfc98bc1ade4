package loadgen

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"

	"github.com/kafkatune/kafkatune/internal/stamp"
)

const (
	// queueFullWait is the pause before retrying a message the client's
	// queue had no room for (back-pressure, not a failure).
	queueFullWait = 2 * time.Millisecond
	// purgeFlush bounds serving the delivery reports of purged messages.
	purgeFlush = 2 * time.Second
)

// Producer writes stamped messages to a topic and records what the broker
// acknowledged. Create it with NewProducer and call Run once.
type Producer struct {
	cfg   ProducerConfig
	log   *slog.Logger
	m     *producerMetrics
	errs  *errorLog
	id    uint64
	topic string

	// client is swapped by the send loop only; an atomic pointer so that
	// tests can reach the current client while the loop runs.
	client atomic.Pointer[producerClient]
	// Only the send loop (and stop, after it) touches these.
	msg    kafka.Message
	buf    []byte
	spread spreader

	broken atomic.Bool   // a fatal error was seen: recreate the client
	slots  chan struct{} // one token per message in flight
	rate   *rateSignal
	// onDelivery is set by OnDelivery before Run and only read after.
	onDelivery func(seq uint64, err error)

	sent, acked, failed, recreated atomic.Uint64
}

// producerClient is one Kafka producer instance and the goroutine that
// drains its events. After a fatal error it is replaced by a new one.
type producerClient struct {
	p        *kafka.Producer
	logs     *clientLogs
	inFlight atomic.Int64 // produced and not yet reported
	// purgeReason is the failure reason given to messages purged when the
	// client is closed.
	purgeReason atomic.Value
	done        chan struct{} // closed when the events channel is drained
}

// ProducerStats are a producer's totals.
type ProducerStats struct {
	// ID is the random producer id stamped on every message of this run.
	ID        uint64
	Sent      uint64
	Acked     uint64
	Failed    uint64
	Recreated uint64
	// Rate is the current target rate (0 in max mode).
	Rate float64
}

// NewProducer validates cfg and registers the producer metrics on reg,
// labelled with the topic.
func NewProducer(cfg ProducerConfig, log *slog.Logger, reg prometheus.Registerer) (*Producer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m, err := newProducerMetrics(reg, cfg.Topic)
	if err != nil {
		return nil, err
	}
	p := &Producer{
		cfg:   cfg,
		log:   log,
		m:     m,
		errs:  newErrorLog(log),
		id:    rand.Uint64(),
		topic: cfg.Topic,
		buf:   make([]byte, cfg.MessageSize),
		slots: make(chan struct{}, cfg.MaxInFlight),
		rate:  newRateSignal(cfg.Rate),
	}
	p.msg.TopicPartition.Topic = &p.topic
	p.msg.Value = p.buf
	return p, nil
}

// sendInfo travels with a message to its delivery report.
type sendInfo struct {
	sent time.Time // the actual send time
	seq  uint64
}

// OnDelivery makes the producer call fn for every delivery report, with
// the message's sequence number and nil when the broker acknowledged it, or
// the delivery error. Messages dropped without a report (a client closed
// with messages it never reported on) are only counted as failed. fn runs
// on the client's event goroutine and must be fast. Call OnDelivery before
// Run.
func (p *Producer) OnDelivery(fn func(seq uint64, err error)) { p.onDelivery = fn }

// ID returns the producer id stamped on this run's messages.
func (p *Producer) ID() uint64 { return p.id }

// Stats returns the producer's totals so far.
func (p *Producer) Stats() ProducerStats {
	s := ProducerStats{
		ID:        p.id,
		Sent:      p.sent.Load(),
		Acked:     p.acked.Load(),
		Failed:    p.failed.Load(),
		Recreated: p.recreated.Load(),
	}
	if p.cfg.RateMode != RateMax {
		s.Rate = p.rate.get()
	}
	return s
}

// Run creates the topic if needed, then sends until ctx ends or the
// configured duration has passed, and finally flushes outstanding messages
// within FlushTimeout. A broker that is down at start is waited for. Run
// returns nil on a clean stop.
func (p *Producer) Run(ctx context.Context) error {
	if p.cfg.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, p.cfg.Duration)
		defer cancel()
	}
	c, err := p.newClient()
	if err != nil {
		return err
	}
	p.client.Store(c)
	n, err := p.setupTopic(ctx)
	if err != nil {
		p.closeClient(c, FailOther)
		if ctx.Err() != nil {
			p.log.Info("producer stopped before the topic was ready")
			return nil
		}
		return err
	}
	p.spread = spreader{partitions: int32(n), skew: p.cfg.PartitionSkew, any: p.cfg.Partitioner == PartitionSticky}
	p.log.Info("producer started", "producer_id", fmt.Sprintf("%016x", p.id),
		"partitions", n, "rate_mode", string(p.cfg.RateMode), "rate", p.cfg.Rate)

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return p.sendLoop(gctx) })
	if p.cfg.RateMode == RateAdaptive {
		g.Go(func() error { return p.controlLoop(gctx) })
	}
	err = g.Wait()
	p.stop()
	return err
}

// setupTopic creates the topic if needed, through an admin client that
// shares the producer client's connections, and returns its partitions.
func (p *Producer) setupTopic(ctx context.Context) (int, error) {
	admin, err := kafka.NewAdminClientFromProducer(p.client.Load().p)
	if err != nil {
		return 0, fmt.Errorf("create kafka admin client: %w", err)
	}
	defer admin.Close()
	var n int
	err = retry(ctx, p.log, "topic setup failed, retrying", func(ctx context.Context) error {
		var err error
		if n, err = ensureTopic(ctx, p.log, admin, p.topic, p.cfg.Partitions); err != nil {
			return err
		}
		return waitLeaders(ctx, p.log, p.client.Load().p, p.topic, n)
	})
	return n, err
}

func (p *Producer) newClient() (*producerClient, error) {
	logs := newClientLogs(p.log)
	cm := kafka.ConfigMap{
		"bootstrap.servers":            p.cfg.Broker,
		"client.id":                    "kafkatune-producer",
		"acks":                         p.cfg.Acks,
		"enable.idempotence":           p.cfg.Idempotence,
		"linger.ms":                    p.cfg.LingerMs,
		"compression.type":             p.cfg.Compression,
		"queue.buffering.max.messages": p.cfg.MaxInFlight + 1000,
		"go.delivery.report.fields":    "none",
		"reconnect.backoff.max.ms":     reconnectBackoffMaxMs,
	}
	logs.apply(cm)
	kp, err := kafka.NewProducer(&cm)
	if err != nil {
		logs.close()
		return nil, fmt.Errorf("create kafka producer: %w", err)
	}
	c := &producerClient{p: kp, logs: logs, done: make(chan struct{})}
	c.purgeReason.Store(FailOther)
	go p.drain(c)
	return c, nil
}

// drain serves the client's events channel until the client is closed. It
// must always run: an undrained channel stalls the client and Flush.
func (p *Producer) drain(c *producerClient) {
	defer close(c.done)
	for ev := range c.p.Events() {
		switch e := ev.(type) {
		case *kafka.Message:
			p.delivered(c, e)
		case kafka.Error:
			if e.IsFatal() {
				if !p.broken.Swap(true) {
					p.log.Error("kafka producer fatal error", "err", e)
				}
				continue
			}
			p.errs.warn("kafka producer error", e)
		}
	}
}

func (p *Producer) delivered(c *producerClient, m *kafka.Message) {
	c.inFlight.Add(-1)
	p.m.inFlight.Dec()
	<-p.slots
	info, ok := m.Opaque.(sendInfo)
	if ok && p.onDelivery != nil {
		p.onDelivery(info.seq, m.TopicPartition.Error)
	}
	if err := m.TopicPartition.Error; err != nil {
		reason, fatal := failureReason(err, c.purgeReason.Load().(string))
		if fatal {
			p.broken.Store(true)
		}
		p.fail(reason, 1)
		return
	}
	if ok {
		p.m.ackLatency.Observe(time.Since(info.sent).Seconds())
	}
	p.acked.Add(1)
	p.m.acked.Inc()
	p.m.bytesAcked.Add(float64(p.cfg.MessageSize))
}

func (p *Producer) fail(reason string, n int64) {
	p.failed.Add(uint64(n))
	p.m.failed[reason].Add(float64(n))
}

// failureReason maps a delivery error to a reason label and reports whether
// it leaves the client in a fatal state. Purged messages take purgeReason,
// the reason the client was closed for.
func failureReason(err error, purgeReason string) (reason string, fatal bool) {
	var ke kafka.Error
	if !errors.As(err, &ke) {
		return FailOther, false
	}
	code := ke.Code()
	switch {
	case code == kafka.ErrPurgeQueue || code == kafka.ErrPurgeInflight:
		return purgeReason, false
	case ke.IsFatal() || code == kafka.ErrFatal:
		return FailFatal, true
	case code == kafka.ErrMsgTimedOut || code == kafka.ErrTimedOut ||
		code == kafka.ErrTimedOutQueue:
		return FailTimeout, false
	case code > 0: // broker error codes are positive, local ones negative
		return FailBroker, false
	default:
		return FailOther, false
	}
}

func (p *Producer) sendLoop(ctx context.Context) error {
	if p.cfg.RateMode == RateMax {
		p.m.targetRate.Set(0)
		for seq := uint64(0); ctx.Err() == nil; seq++ {
			if err := p.send(ctx, seq, time.Time{}); err != nil {
				return ignoreCancel(err)
			}
		}
		return nil
	}
	return ignoreCancel(p.paced(ctx))
}

// paced sends on the pacer's schedule. A message is due at its schedule
// time and stamped with it; when the loop is behind it sends at once.
func (p *Producer) paced(ctx context.Context) error {
	pacer := NewPacer(time.Now(), p.rate.get())
	p.m.targetRate.Set(pacer.Rate())
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for seq := uint64(0); ctx.Err() == nil; {
		select {
		case <-p.rate.changed:
			p.applyRate(pacer)
		default:
		}
		due := pacer.Due()
		if wait := time.Until(due); wait > 0 {
			timer.Reset(wait)
			select {
			case <-ctx.Done():
				timer.Stop()
				return nil
			case <-p.rate.changed:
				timer.Stop()
				p.applyRate(pacer)
				continue
			case <-timer.C:
			}
		}
		if err := p.send(ctx, seq, due); err != nil {
			return err
		}
		pacer.Advance()
		seq++
	}
	return nil
}

// applyRate restarts the schedule at the new rate from now.
func (p *Producer) applyRate(pacer *Pacer) {
	r := p.rate.get()
	pacer.Reset(time.Now(), r)
	p.m.targetRate.Set(r)
}

// send stamps message seq with its intended time (zero: now, the closed
// loop) and hands it to the client, waiting for an in-flight slot and out
// of back-pressure, and recreating the client after a fatal error.
func (p *Producer) send(ctx context.Context, seq uint64, intended time.Time) error {
	select {
	case p.slots <- struct{}{}:
	default:
		select {
		case p.slots <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if intended.IsZero() {
		intended = time.Now()
	}
	stamp.Put(p.buf, stamp.Header{ProducerID: p.id, Seq: seq, Intended: intended})
	p.msg.TopicPartition.Partition = p.spread.pick()
	for {
		if p.broken.Load() {
			if err := p.recreate(); err != nil {
				<-p.slots
				return err
			}
		}
		err := p.produce(seq, intended)
		if err == nil {
			return nil
		}
		var ke kafka.Error
		switch {
		case errors.As(err, &ke) && ke.Code() == kafka.ErrQueueFull:
			if err := sleep(ctx, queueFullWait); err != nil {
				<-p.slots
				return err
			}
		case errors.As(err, &ke) && (ke.IsFatal() || ke.Code() == kafka.ErrFatal):
			p.broken.Store(true)
		default:
			<-p.slots
			p.fail(FailOther, 1)
			p.log.Warn("produce failed", "err", err, "seq", seq)
			return nil
		}
	}
}

func (p *Producer) produce(seq uint64, intended time.Time) error {
	c := p.client.Load()
	now := time.Now()
	p.msg.Opaque = sendInfo{sent: now, seq: seq}
	c.inFlight.Add(1)
	if err := c.p.Produce(&p.msg, nil); err != nil {
		c.inFlight.Add(-1)
		return err
	}
	p.sent.Add(1)
	p.m.sent.Inc()
	p.m.inFlight.Inc()
	p.m.sendDelay.Observe(max(now.Sub(intended), 0).Seconds())
	return nil
}

// recreate replaces a client in fatal state (an idempotent producer can end
// up there after a broker restart and then fail every message). Its
// outstanding messages are counted as failed; the schedule carries on.
func (p *Producer) recreate() error {
	old := p.client.Load()
	p.log.Error("producer client in fatal state, recreating it",
		"err", old.p.GetFatalError(), "in_flight", old.inFlight.Load())
	p.closeClient(old, FailFatal)
	c, err := p.newClient()
	if err != nil {
		return err
	}
	p.client.Store(c)
	p.broken.Store(false)
	p.recreated.Add(1)
	p.m.recreated.Inc()
	p.log.Info("producer client recreated", "recreated_total", p.recreated.Load())
	return nil
}

// closeClient purges what c still holds, serves the resulting delivery
// reports, closes c and counts anything never reported as failed.
func (p *Producer) closeClient(c *producerClient, reason string) {
	c.purgeReason.Store(reason)
	if err := c.p.Purge(kafka.PurgeQueue | kafka.PurgeInFlight); err != nil {
		p.log.Debug("purge failed", "err", err)
	}
	c.p.Flush(int(purgeFlush.Milliseconds()))
	c.p.Close()
	<-c.done
	c.logs.close()
	if left := c.inFlight.Swap(0); left > 0 {
		p.m.inFlight.Sub(float64(left))
		for range left {
			<-p.slots
		}
		p.fail(reason, left)
	}
}

// stop flushes within FlushTimeout and closes the client.
func (p *Producer) stop() {
	c := p.client.Load()
	if left := c.p.Flush(int(p.cfg.FlushTimeout.Milliseconds())); left > 0 {
		p.log.Warn("flush timed out, dropping outstanding messages",
			"outstanding", left, "flush_timeout", p.cfg.FlushTimeout)
	}
	p.closeClient(c, FailTimeout)
	s := p.Stats()
	p.log.Info("producer stopped", "sent", s.Sent, "acked", s.Acked,
		"failed", s.Failed, "recreated", s.Recreated)
}

// controlLoop is the adaptive mode: every AdjustInterval it feeds the P99
// from the status dir and the acked rate to a Controller.
func (p *Producer) controlLoop(ctx context.Context) error {
	params := ControlParams{
		TargetLatencyMs: p.cfg.TargetLatencyMs,
		Mult:            p.cfg.RateMult,
		Margin:          p.cfg.RateMargin,
		RaiseBelow:      p.cfg.RaiseBelow,
		MinRate:         math.Min(MinRate, p.cfg.Rate),
		MaxRate:         p.cfg.MaxRate,
	}
	ctl := NewController(params)
	t := time.NewTicker(p.cfg.AdjustInterval)
	defer t.Stop()
	lastAcked, lastAt := p.acked.Load(), time.Now()
	for {
		select {
		case <-ctx.Done():
			return nil
		case now := <-t.C:
			acked := p.acked.Load()
			obs := Observation{
				Rate:       p.rate.get(),
				ActualRate: float64(acked-lastAcked) / now.Sub(lastAt).Seconds(),
			}
			lastAcked, lastAt = acked, now
			obs.P99Ms, obs.HaveP99 = readP99(p.log, p.cfg.StatusDir, now, p.staleAfter())
			d := ctl.Next(obs)
			p.logDecision(obs, d, ctl.Step())
			if d.Rate != obs.Rate {
				p.rate.set(d.Rate)
			}
		}
	}
}

// staleAfter is the age past which latency.txt no longer counts as data:
// the bridge rewrites it every few seconds while it has data.
func (p *Producer) staleAfter() time.Duration {
	return max(3*p.cfg.AdjustInterval, 30*time.Second)
}

func (p *Producer) logDecision(o Observation, d Decision, step float64) {
	attrs := []any{"old_rate", o.Rate, "new_rate", d.Rate, "reason", d.Reason, "step", step,
		"p99_ms", o.P99Ms, "have_p99", o.HaveP99, "actual_rate", math.Round(o.ActualRate),
		"target_latency_ms", p.cfg.TargetLatencyMs}
	if d.Rate != o.Rate {
		p.log.Info("rate changed", attrs...)
		return
	}
	p.log.Debug("rate held", attrs...)
}

// rateSignal carries the target rate from the controller to the send loop.
type rateSignal struct {
	bits    atomic.Uint64
	changed chan struct{}
}

func newRateSignal(r float64) *rateSignal {
	s := &rateSignal{changed: make(chan struct{}, 1)}
	s.bits.Store(math.Float64bits(r))
	return s
}

func (s *rateSignal) get() float64 { return math.Float64frombits(s.bits.Load()) }

func (s *rateSignal) set(r float64) {
	s.bits.Store(math.Float64bits(r))
	select {
	case s.changed <- struct{}{}:
	default:
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func ignoreCancel(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return nil
	}
	return err
}
