package loadgen

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"

	"github.com/kafkatune/kafkatune/internal/stamp"
)

const (
	pollTimeoutMs = 100
	// tickEvery is how often the sequence tracker declares overdue gaps.
	tickEvery = 2 * time.Second
)

// Consumer reads stamped messages, measures their end-to-end latency and
// checks every producer's sequence. Create it with NewConsumer and call Run
// once.
type Consumer struct {
	cfg  ConsumerConfig
	log  *slog.Logger
	m    *consumerMetrics
	errs *errorLog

	received atomic.Uint64
	foreign  atomic.Uint64

	mu       sync.Mutex // guards tracker and full
	tracker  *SeqTracker
	full     bool
	coverage bool // full has been set at least once
}

// ConsumerStats are a consumer's totals.
type ConsumerStats struct {
	// Received counts kafkatune messages, duplicates included.
	Received uint64
	// Foreign counts records without a valid stamp.
	Foreign uint64
	// Seq are the sequence tracker's totals.
	Seq SeqStats
	// Pending counts numbers unseen and not (yet) declared missing.
	Pending uint64
}

// NewConsumer validates cfg and registers the consumer metrics on reg,
// labelled with the topic.
func NewConsumer(cfg ConsumerConfig, log *slog.Logger, reg prometheus.Registerer) (*Consumer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m, err := newConsumerMetrics(reg, cfg.Topic)
	if err != nil {
		return nil, err
	}
	return &Consumer{
		cfg:     cfg,
		log:     log,
		m:       m,
		errs:    newErrorLog(log),
		tracker: NewSeqTracker(cfg.Tracker),
	}, nil
}

// Stats returns the consumer's totals so far.
func (c *Consumer) Stats() ConsumerStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return ConsumerStats{
		Received: c.received.Load(),
		Foreign:  c.foreign.Load(),
		Seq:      c.tracker.Stats(),
		Pending:  c.tracker.Pending(),
	}
}

// Run waits for the topic, subscribes with the group and consumes until ctx
// ends or the configured duration has passed, then closes the consumer
// (committing its offsets) within CloseTimeout. It returns nil on a clean
// stop.
func (c *Consumer) Run(ctx context.Context) error {
	if c.cfg.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.cfg.Duration)
		defer cancel()
	}
	logs := newClientLogs(c.log)
	defer logs.close()
	cm := kafka.ConfigMap{
		"bootstrap.servers":                  c.cfg.Broker,
		"group.id":                           c.cfg.Group,
		"client.id":                          "kafkatune-consumer",
		"auto.offset.reset":                  "earliest",
		"enable.auto.commit":                 true,
		"topic.metadata.refresh.interval.ms": 10_000,
		"reconnect.backoff.max.ms":           reconnectBackoffMaxMs,
	}
	if c.cfg.GroupProtocol != "" {
		cm["group.protocol"] = c.cfg.GroupProtocol
	}
	logs.apply(cm)
	kc, err := kafka.NewConsumer(&cm)
	if err != nil {
		return fmt.Errorf("create kafka consumer: %w", err)
	}
	defer c.close(kc)

	if err := c.waitForTopic(ctx, kc); err != nil {
		return ignoreCancel(err)
	}
	if err := kc.Subscribe(c.cfg.Topic, nil); err != nil {
		return fmt.Errorf("subscribe to %s: %w", c.cfg.Topic, err)
	}
	c.log.Info("consumer started", "topic", c.cfg.Topic, "group", c.cfg.Group)

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return c.pollLoop(gctx, kc) })
	g.Go(func() error { return c.lagLoop(gctx, kc) })
	return g.Wait()
}

// waitForTopic waits, with backoff, until the topic exists: the consumer
// never creates it (the producer does, with the right partition count).
func (c *Consumer) waitForTopic(ctx context.Context, kc *kafka.Consumer) error {
	return retry(ctx, c.log, "topic not ready, waiting", func(context.Context) error {
		md, err := kc.GetMetadata(&c.cfg.Topic, false, int(metadataTimeout.Milliseconds()))
		if err != nil {
			return fmt.Errorf("read metadata: %w", err)
		}
		_, err = topicPartitions(md, c.cfg.Topic)
		return err
	})
}

// close closes kc within CloseTimeout and logs the totals.
func (c *Consumer) close(kc *kafka.Consumer) {
	done := make(chan error, 1)
	go func() { done <- kc.Close() }()
	t := time.NewTimer(c.cfg.CloseTimeout)
	defer t.Stop()
	select {
	case err := <-done:
		if err != nil {
			c.log.Warn("closing consumer failed", "err", err)
		}
	case <-t.C:
		c.log.Warn("closing consumer timed out", "close_timeout", c.cfg.CloseTimeout)
	}
	s := c.Stats()
	c.log.Info("consumer stopped", "received", s.Received, "foreign", s.Foreign,
		"gaps", s.Seq.Gaps, "duplicates", s.Seq.Duplicates, "late", s.Seq.Late,
		"pending", s.Pending, "producers", s.Seq.Producers)
}

func (c *Consumer) pollLoop(ctx context.Context, kc *kafka.Consumer) error {
	nextTick := time.Now().Add(tickEvery)
	for ctx.Err() == nil {
		ev := kc.Poll(pollTimeoutMs)
		now := time.Now()
		switch e := ev.(type) {
		case *kafka.Message:
			if err := e.TopicPartition.Error; err != nil {
				c.log.Debug("message with error", "err", err)
				break
			}
			c.handle(e, now)
		case kafka.Error:
			if err := c.clientError(e); err != nil {
				return err
			}
		}
		if now.After(nextTick) {
			c.tick(now)
			nextTick = now.Add(tickEvery)
		}
	}
	return nil
}

// handle measures one record: end-to-end latency from the stamped intended
// time (same host clock as the producer) and its place in the sequence.
func (c *Consumer) handle(msg *kafka.Message, now time.Time) {
	h, err := stamp.Decode(msg.Value)
	if err != nil {
		if c.foreign.Add(1) == 1 {
			c.log.Warn("record without a kafkatune stamp, counting it as foreign",
				"err", err, "partition", msg.TopicPartition.Partition)
		}
		c.m.foreign.Inc()
		return
	}
	c.m.latency.Observe(max(now.Sub(h.Intended), 0).Seconds())
	c.received.Add(1)
	c.m.received.Inc()
	c.m.bytes.Add(float64(len(msg.Value)))

	c.mu.Lock()
	v, gaps := c.tracker.Observe(now, h.ProducerID, msg.TopicPartition.Partition, h.Seq)
	c.mu.Unlock()
	if v == SeqDuplicate {
		c.m.duplicates.Inc()
	}
	if gaps > 0 {
		c.m.gaps.Add(float64(gaps))
	}
	if c.cfg.OnMessage != nil {
		c.cfg.OnMessage(h, now)
	}
}

func (c *Consumer) tick(now time.Time) {
	c.mu.Lock()
	gaps := c.tracker.Tick(now)
	c.mu.Unlock()
	if gaps > 0 {
		c.m.gaps.Add(float64(gaps))
		c.log.Warn("sequence gaps detected", "gaps", gaps)
	}
}

// clientError counts a client error and returns it if it is fatal.
func (c *Consumer) clientError(e kafka.Error) error {
	c.m.errors[consumerErrorReason(e)].Inc()
	if e.IsFatal() {
		return fmt.Errorf("kafka consumer fatal error: %w", e)
	}
	c.errs.warn("kafka consumer error", e)
	return nil
}

// consumerErrorReason maps a client error to a reason label.
func consumerErrorReason(e kafka.Error) string {
	switch e.Code() {
	case kafka.ErrTransport, kafka.ErrAllBrokersDown, kafka.ErrResolve,
		kafka.ErrTimedOut, kafka.ErrNetworkException:
		return ErrReasonTransport
	case kafka.ErrUnknownTopicOrPart, kafka.ErrUnknownTopic, kafka.ErrUnknownPartition:
		return ErrReasonTopic
	}
	if e.IsFatal() {
		return ErrReasonFatal
	}
	return ErrReasonOther
}

func (c *Consumer) lagLoop(ctx context.Context, kc *kafka.Consumer) error {
	t := time.NewTicker(c.cfg.LagInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			c.refreshLag(ctx, kc)
		}
	}
}

// refreshLag sets the lag gauge from the high watermarks of the assigned
// partitions and tells the tracker whether this consumer reads them all.
func (c *Consumer) refreshLag(ctx context.Context, kc *kafka.Consumer) {
	parts, err := kc.Assignment()
	if err != nil {
		c.log.Debug("read assignment failed", "err", err)
		return
	}
	pos, err := kc.Position(parts)
	if err != nil {
		c.log.Debug("read positions failed", "err", err)
		return
	}
	var lag int64
	for _, tp := range pos {
		if ctx.Err() != nil {
			return
		}
		low, high, err := kc.QueryWatermarkOffsets(c.cfg.Topic, tp.Partition,
			int(watermarkTimeout.Milliseconds()))
		if err != nil {
			c.log.Debug("query watermarks failed", "err", err, "partition", tp.Partition)
			continue
		}
		lag += partitionLag(int64(tp.Offset), low, high)
	}
	c.m.lag.Set(float64(lag))

	md, err := kc.GetMetadata(&c.cfg.Topic, false, int(metadataTimeout.Milliseconds()))
	if err != nil {
		return
	}
	// Without an assignment yet (joining the group) there is nothing to say.
	if n, err := topicPartitions(md, c.cfg.Topic); err == nil && len(parts) > 0 {
		c.setCoverage(len(parts) >= n, len(parts), n)
	}
}

// partitionLag is the lag of one partition; a position not known yet (no
// message consumed) counts from the low watermark.
func partitionLag(pos, low, high int64) int64 {
	if pos < 0 {
		pos = low
	}
	return max(high-pos, 0)
}

func (c *Consumer) setCoverage(full bool, assigned, total int) {
	c.mu.Lock()
	changed := !c.coverage || c.full != full
	c.full, c.coverage = full, true
	c.tracker.SetFullCoverage(full)
	c.mu.Unlock()
	if changed && !full {
		c.log.Info("consumer reads a subset of the partitions, sequence gaps are not counted",
			"assigned", assigned, "partitions", total)
	} else if changed {
		c.log.Debug("consumer reads every partition", "partitions", total)
	}
}
