package perfbench

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

// The stamp layout as docs/architecture.md describes it: magic "KTN1",
// version 1, producer id, sequence, intended send time in Unix
// nanoseconds, big endian. It is decoded here on purpose without
// internal/stamp or internal/loadgen, so that the check is independent
// of the code it checks.
const (
	plainMagic      = 0x4b544e31
	plainVersion    = 1
	plainIntendedAt = 21
	plainHeaderLen  = 29
)

// sample is one record as the plain consumer saw it, in Unix nanoseconds.
type sample struct {
	received int64
	intended int64
	// created is the record's CreateTime (set by the producing client,
	// millisecond resolution), 0 if the record has none.
	created int64
}

// plainConsumer is a plain confluent-kafka-go consumer with default
// settings that notes, for every stamped record, when it arrived.
type plainConsumer struct {
	c        *kafka.Consumer
	cancel   context.CancelFunc
	assigned chan struct{}
	done     chan struct{}

	mu      sync.Mutex
	samples []sample
	foreign int
	err     error
}

// startPlainConsumer subscribes to topic in its own group and polls until
// stop is called or ctx ends. expect sizes the sample buffer.
func startPlainConsumer(ctx context.Context, bootstrap, topic, group string, expect int) (*plainConsumer, error) {
	c, err := kafka.NewConsumer(&kafka.ConfigMap{
		"bootstrap.servers":  bootstrap,
		"group.id":           group,
		"auto.offset.reset":  "earliest",
		"enable.auto.commit": false,
	})
	if err != nil {
		return nil, fmt.Errorf("create plain consumer: %w", err)
	}
	if err := c.Subscribe(topic, nil); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("plain consumer subscribe to %s: %w", topic, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	pc := &plainConsumer{
		c: c, cancel: cancel, assigned: make(chan struct{}), done: make(chan struct{}),
		samples: make([]sample, 0, expect),
	}
	go pc.loop(ctx)
	return pc, nil
}

// stop ends the polling, closes the consumer and returns a fatal client
// error if one ended it earlier, or an error if it saw foreign records.
func (pc *plainConsumer) stop() error {
	pc.cancel()
	<-pc.done
	if err := pc.result(); err != nil {
		return err
	}
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if pc.foreign > 0 {
		return fmt.Errorf("plain consumer: %d records without a kafkatune stamp", pc.foreign)
	}
	return nil
}

func (pc *plainConsumer) loop(ctx context.Context) {
	defer close(pc.done)
	defer pc.c.Close()
	assigned := false
	for ctx.Err() == nil {
		ev := pc.c.Poll(100)
		now := time.Now().UnixNano()
		switch e := ev.(type) {
		case *kafka.Message:
			if e.TopicPartition.Error == nil {
				pc.record(e, now)
			}
		case kafka.Error:
			if e.IsFatal() {
				pc.mu.Lock()
				pc.err = fmt.Errorf("plain consumer: %w", e)
				pc.mu.Unlock()
				return
			}
		}
		if !assigned {
			if a, err := pc.c.Assignment(); err == nil && len(a) > 0 {
				assigned = true
				close(pc.assigned)
			}
		}
	}
}

func (pc *plainConsumer) record(m *kafka.Message, now int64) {
	b := m.Value
	if len(b) < plainHeaderLen || binary.BigEndian.Uint32(b) != plainMagic || b[4] != plainVersion {
		pc.mu.Lock()
		pc.foreign++
		pc.mu.Unlock()
		return
	}
	s := sample{received: now, intended: int64(binary.BigEndian.Uint64(b[plainIntendedAt:]))}
	if m.TimestampType == kafka.TimestampCreateTime {
		s.created = m.Timestamp.UnixNano()
	}
	pc.mu.Lock()
	pc.samples = append(pc.samples, s)
	pc.mu.Unlock()
}

// waitAssigned waits until the consumer holds partitions.
func (pc *plainConsumer) waitAssigned(ctx context.Context) error {
	select {
	case <-pc.assigned:
		return nil
	case <-pc.done:
		return fmt.Errorf("plain consumer stopped before its assignment: %w", pc.result())
	case <-ctx.Done():
		return fmt.Errorf("plain consumer assignment: %w", ctx.Err())
	}
}

func (pc *plainConsumer) result() error {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	return pc.err
}

// window returns the end-to-end latencies in milliseconds of the records
// received in [from, to): from the stamped intended time and from the
// record's CreateTime.
func (pc *plainConsumer) window(from, to time.Time) (fromStamp, fromCreate []float64) {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	lo, hi := from.UnixNano(), to.UnixNano()
	for _, s := range pc.samples {
		if s.received < lo || s.received >= hi {
			continue
		}
		fromStamp = append(fromStamp, float64(s.received-s.intended)/1e6)
		if s.created != 0 {
			fromCreate = append(fromCreate, float64(s.received-s.created)/1e6)
		}
	}
	return fromStamp, fromCreate
}
