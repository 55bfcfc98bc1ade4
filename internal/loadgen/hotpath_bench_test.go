package loadgen

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kafkatune/kafkatune/internal/stamp"
)

// BenchmarkConsumerHandle is the consumer's work per record once the
// client has returned it: decode the stamp, record the end-to-end latency
// and the byte count, and track the sequence.
func BenchmarkConsumerHandle(b *testing.B) {
	c, err := NewConsumer(DefaultConsumerConfig(),
		slog.New(slog.NewTextHandler(io.Discard, nil)), prometheus.NewRegistry())
	if err != nil {
		b.Fatal(err)
	}
	topic := "bench"
	msg := &kafka.Message{
		TopicPartition: kafka.TopicPartition{Topic: &topic},
		Value:          make([]byte, 1024),
	}
	start := time.Now()
	var seq uint64
	for b.Loop() {
		intended := start.Add(time.Duration(seq) * time.Millisecond)
		stamp.Put(msg.Value, stamp.Header{ProducerID: 1, Seq: seq, Intended: intended})
		msg.TopicPartition.Partition = int32(seq % 6)
		c.handle(msg, intended.Add(3*time.Millisecond))
		seq++
	}
}

// BenchmarkProducerPrepare is the producer's own work per message before
// the client takes it: the schedule, the stamp and the partition choice.
func BenchmarkProducerPrepare(b *testing.B) {
	buf := make([]byte, 1024)
	p := NewPacer(time.Now(), 150_000)
	s := spreader{partitions: 6}
	var seq uint64
	var part int32
	for b.Loop() {
		stamp.Put(buf, stamp.Header{ProducerID: 1, Seq: seq, Intended: p.Due()})
		part += s.pick()
		p.Advance()
		seq++
	}
	_ = part
}
