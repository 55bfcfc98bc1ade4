package loadgen

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

// Deadlines of single Kafka calls; the loops around them retry.
const (
	adminTimeout     = 15 * time.Second
	metadataTimeout  = 5 * time.Second
	watermarkTimeout = 2 * time.Second
	leaderPoll       = 50 * time.Millisecond
	retryFirst       = 500 * time.Millisecond
	retryMax         = 30 * time.Second
	errorLogEvery    = 30 * time.Second
	// reconnectBackoffMaxMs caps librdkafka's reconnect backoff (10 s by
	// default). A broker restart takes 7 to 17 s here; with the default
	// the clients found the broker back up to 5 s after it was ready, and
	// that wait showed up as latency that the broker did not cause.
	reconnectBackoffMaxMs = 1000
)

// clientLogs carries librdkafka's own log lines into slog (at debug: the
// errors that matter also arrive as error events, which are logged at warn)
// instead of librdkafka's default writer on stderr.
type clientLogs struct {
	ch   chan kafka.LogEvent
	stop chan struct{}
	done chan struct{}
}

func newClientLogs(log *slog.Logger) *clientLogs {
	l := &clientLogs{
		ch:   make(chan kafka.LogEvent, 256),
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
	go func() {
		defer close(l.done)
		for {
			select {
			case ev := <-l.ch:
				log.Debug("librdkafka", "client", ev.Name, "tag", ev.Tag,
					"syslog_level", ev.Level, "message", ev.Message)
			case <-l.stop:
				return
			}
		}
	}()
	return l
}

// apply sets the client configuration that routes logs to l.
func (l *clientLogs) apply(cm kafka.ConfigMap) {
	cm["go.logs.channel.enable"] = true
	cm["go.logs.channel"] = l.ch
}

// close stops the forwarding; call it after the client is closed.
func (l *clientLogs) close() {
	close(l.stop)
	<-l.done
}

// errorLog logs Kafka client errors at warn, each error code at most once
// per interval, so that an outage gives a few lines rather than thousands.
type errorLog struct {
	log   *slog.Logger
	every time.Duration
	mu    sync.Mutex
	last  map[kafka.ErrorCode]time.Time
}

func newErrorLog(log *slog.Logger) *errorLog {
	return &errorLog{log: log, every: errorLogEvery, last: map[kafka.ErrorCode]time.Time{}}
}

func (l *errorLog) warn(msg string, err kafka.Error) {
	now := time.Now()
	l.mu.Lock()
	last, seen := l.last[err.Code()]
	quiet := seen && now.Sub(last) < l.every
	if !quiet {
		l.last[err.Code()] = now
	}
	l.mu.Unlock()
	if quiet {
		l.log.Debug(msg, "err", err, "code", err.Code().String())
		return
	}
	l.log.Warn(msg, "err", err, "code", err.Code().String())
}

// retry calls fn until it succeeds, returns a permanent error, or ctx ends,
// waiting with exponential backoff between attempts and logging each
// failure: a broker that is down at start is waited for, not a crash loop.
func retry(ctx context.Context, log *slog.Logger, msg string, fn func(context.Context) error) error {
	wait := retryFirst
	for attempt := 1; ; attempt++ {
		err := fn(ctx)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var perm *permanentError
		if errors.As(err, &perm) {
			return perm.err
		}
		log.Warn(msg, "err", err, "attempt", attempt, "retry_in", wait)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		wait = min(2*wait, retryMax)
	}
}

// permanentError stops retry.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }

func (e *permanentError) Unwrap() error { return e.err }

// ensureTopic creates the topic with the given partitions and replication
// factor 1 unless it exists, and returns the number of partitions it has.
func ensureTopic(ctx context.Context, log *slog.Logger, admin *kafka.AdminClient,
	topic string, partitions int,
) (int, error) {
	cctx, cancel := context.WithTimeout(ctx, adminTimeout)
	defer cancel()
	res, err := admin.CreateTopics(cctx, []kafka.TopicSpecification{{
		Topic: topic, NumPartitions: partitions, ReplicationFactor: 1,
	}}, kafka.SetAdminOperationTimeout(adminTimeout-time.Second))
	if err != nil {
		return 0, fmt.Errorf("create topic %s: %w", topic, err)
	}
	created, err := topicCreated(res, topic)
	if err != nil {
		return 0, err
	}
	md, err := admin.GetMetadata(&topic, false, int(metadataTimeout.Milliseconds()))
	if err != nil {
		return 0, fmt.Errorf("read metadata of topic %s: %w", topic, err)
	}
	n, err := topicPartitions(md, topic)
	if err != nil {
		return 0, err
	}
	if created {
		log.Info("topic created", "topic", topic, "partitions", n, "replication_factor", 1)
	} else {
		log.Info("topic exists", "topic", topic, "partitions", n, "partitions_requested", partitions)
	}
	return n, nil
}

// waitLeaders waits until the leader of every partition of topic serves
// requests for it, by asking each for its offsets: the broker checks
// leadership for ListOffsets the same way as for Produce.
//
// Metadata names a leader for a new partition before that broker has taken
// the partition over, and a produce request sent then fails with "not
// leader". For an idempotent producer that the broker has no state for, a
// later batch of the same partition can then succeed with a higher
// sequence number (the broker accepts any first sequence of an unknown
// producer), and librdkafka 2.11 reports the failed batch as delivered
// ("implicitly acked by subsequent batch success") although it never was:
// an acknowledged message that no consumer can read. Seen in 10 of 40 runs
// on just-created topics with both cores busy.
func waitLeaders(ctx context.Context, log *slog.Logger, p *kafka.Producer, topic string, partitions int) error {
	ctx, cancel := context.WithTimeout(ctx, adminTimeout)
	defer cancel()
	for part := range int32(partitions) {
		for attempt := 1; ; attempt++ {
			_, _, err := p.QueryWatermarkOffsets(topic, part, int(watermarkTimeout.Milliseconds()))
			if err == nil {
				if attempt > 1 {
					log.Debug("partition leader ready", "topic", topic, "partition", part, "attempts", attempt)
				}
				break
			}
			if sleep(ctx, leaderPoll) != nil {
				return fmt.Errorf("partition %d of topic %s has no leader serving it: the %d partitions "+
					"were not all served within %s: %w", part, topic, partitions, adminTimeout, err)
			}
		}
	}
	return nil
}

// topicCreated checks the per-topic results of CreateTopics, which can hold
// an error while the call itself succeeds. It reports whether the topic was
// created; "already exists" is success.
func topicCreated(res []kafka.TopicResult, topic string) (bool, error) {
	for _, r := range res {
		if r.Topic != topic {
			continue
		}
		switch r.Error.Code() {
		case kafka.ErrNoError:
			return true, nil
		case kafka.ErrTopicAlreadyExists:
			return false, nil
		default:
			return false, fmt.Errorf("create topic %s: %w", topic, r.Error)
		}
	}
	return false, fmt.Errorf("create topic %s: no result for the topic", topic)
}

// topicPartitions returns the number of partitions of topic in md, or an
// error if the topic is missing, in error or has no partitions yet.
func topicPartitions(md *kafka.Metadata, topic string) (int, error) {
	t, ok := md.Topics[topic]
	if !ok {
		return 0, fmt.Errorf("topic %s: not in metadata", topic)
	}
	if t.Error.Code() != kafka.ErrNoError {
		return 0, fmt.Errorf("topic %s: %w", topic, t.Error)
	}
	if len(t.Partitions) == 0 {
		return 0, fmt.Errorf("topic %s: no partitions yet", topic)
	}
	return len(t.Partitions), nil
}
