package loadgen

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kafkatune/kafkatune/internal/stamp"
	"github.com/kafkatune/kafkatune/internal/telemetry"
)

// TestConsumerHandle feeds records straight to the consumer's per-record
// step: valid stamps, a duplicate, foreign and corrupt records.
func TestConsumerHandle(t *testing.T) {
	cfg := DefaultConsumerConfig()
	var seen []stamp.Header
	cfg.OnMessage = func(h stamp.Header, _ time.Time) { seen = append(seen, h) }
	reg := prometheus.NewRegistry()
	c, err := NewConsumer(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), reg)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	record := func(seq uint64, age time.Duration, partition int32) *kafka.Message {
		buf := make([]byte, 100)
		stamp.Put(buf, stamp.Header{ProducerID: 42, Seq: seq, Intended: now.Add(-age)})
		return &kafka.Message{Value: buf, TopicPartition: kafka.TopicPartition{Partition: partition}}
	}
	c.handle(record(0, 10*time.Millisecond, 0), now)
	c.handle(record(1, 20*time.Millisecond, 1), now)
	c.handle(record(1, 20*time.Millisecond, 1), now) // duplicate
	c.handle(record(2, -time.Second, 2), now)        // stamped in the future: counts as 0
	c.handle(&kafka.Message{Value: []byte("not ours")}, now)
	c.handle(&kafka.Message{Value: nil}, now)
	corrupt := record(3, 0, 0).Value
	corrupt[0] ^= 0xff
	c.handle(&kafka.Message{Value: corrupt}, now)

	s := c.Stats()
	if s.Received != 4 || s.Foreign != 3 || s.Seq.Duplicates != 1 {
		t.Errorf("stats %+v, want 4 received, 3 foreign, 1 duplicate", s)
	}
	if len(seen) != 4 || seen[0].ProducerID != 42 {
		t.Errorf("OnMessage saw %v", seen)
	}
	checks := map[string]float64{
		telemetry.ConsumerReceived:        4,
		telemetry.ConsumerBytesReceived:   400,
		telemetry.ConsumerForeign:         3,
		telemetry.ConsumerDuplicates:      1,
		telemetry.ConsumerEndToEndLatency: 4, // observations
	}
	for name, want := range checks {
		if got := metricValue(t, reg, name); got != want {
			t.Errorf("%s = %g, want %g", name, got, want)
		}
	}
	if sum := metricSum(t, reg, telemetry.ConsumerEndToEndLatency); sum < 0.0499 || sum > 0.0501 {
		t.Errorf("latency sum = %g s, want 0.05 (10+20+20+0 ms)", sum)
	}
}

// metricValue returns the value of a counter or gauge, or the observation
// count of a histogram, summed over the family's series.
func metricValue(t *testing.T, g prometheus.Gatherer, name string) float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	var v float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			v += m.GetCounter().GetValue() + m.GetGauge().GetValue() +
				float64(m.GetHistogram().GetSampleCount())
		}
		return v
	}
	t.Fatalf("metric %s not registered", name)
	return 0
}

// metricSum returns the sum of a histogram's observations.
func metricSum(t *testing.T, g prometheus.Gatherer, name string) float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetHistogram().GetSampleSum()
		}
	}
	t.Fatalf("metric %s not registered", name)
	return 0
}
