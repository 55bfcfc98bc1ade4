package loadgen

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kafkatune/kafkatune/internal/kafkaproc/kafkatest"
	"github.com/kafkatune/kafkatune/internal/stamp"
	"github.com/kafkatune/kafkatune/internal/telemetry"
	"github.com/kafkatune/kafkatune/internal/testlog"
)

// TestProduceConsumeOnRealBroker runs the real producer and consumer
// against a real local Kafka broker: a clean fixed-rate run must deliver
// every acknowledged message exactly once, and a run whose producer client
// is pushed into a fatal state must recreate it and account for every
// message it lost.
func TestProduceConsumeOnRealBroker(t *testing.T) {
	broker := kafkatest.Start(t)

	t.Run("fixed rate, every acked message consumed once", func(t *testing.T) {
		r := startRun(t, broker.Bootstrap(), "loadgen-clean", 400, 15*time.Second)
		ps, cs := r.finish(t, nil)

		if ps.Acked == 0 || ps.Failed != 0 || ps.Sent != ps.Acked || ps.Recreated != 0 {
			t.Errorf("producer %+v: want every sent message acked", ps)
		}
		if cs.Received != ps.Acked {
			t.Errorf("consumed %d, acked %d", cs.Received, ps.Acked)
		}
		if cs.Seq.Gaps != 0 || cs.Seq.Duplicates != 0 || cs.Pending != 0 || cs.Foreign != 0 {
			t.Errorf("consumer %+v: want no gaps, duplicates, pending or foreign", cs)
		}
		r.checkMetrics(t, ps, cs)
	})

	t.Run("sticky partitioner, every acked message consumed once", func(t *testing.T) {
		r := startRun(t, broker.Bootstrap(), "loadgen-sticky", 400, 8*time.Second, func(pc *ProducerConfig) {
			pc.Partitioner = PartitionSticky
		})
		ps, cs := r.finish(t, nil)

		if ps.Acked == 0 || ps.Failed != 0 || ps.Sent != ps.Acked || cs.Received != ps.Acked {
			t.Errorf("producer %+v, consumer received %d: want every sent message acked and consumed", ps, cs.Received)
		}
		if cs.Seq.Gaps != 0 || cs.Seq.Duplicates != 0 || cs.Pending != 0 {
			t.Errorf("consumer %+v: want no gaps, duplicates or pending", cs)
		}
		if n := partitionsWritten(t, broker.Bootstrap(), "loadgen-sticky", 3); n < 2 {
			t.Errorf("messages on %d partition(s) of 3: the sticky partitioner should move on", n)
		}
	})

	t.Run("fatal producer error, client recreated", func(t *testing.T) {
		r := startRun(t, broker.Bootstrap(), "loadgen-fatal", 400, 8*time.Second)
		ps, cs := r.finish(t, func(p *Producer) {
			c := p.client.Load()
			c.p.TestFatalError(kafka.ErrOutOfOrderSequenceNumber, "injected by test")
		})

		if ps.Recreated != 1 {
			t.Errorf("recreated %d clients, want 1", ps.Recreated)
		}
		if ps.Acked+ps.Failed != ps.Sent || ps.Acked == 0 {
			t.Errorf("producer %+v: acked + failed != sent", ps)
		}
		// A failed message was either lost (a gap) or written before the
		// client gave up on it (consumed though not acked).
		landed := cs.Received - ps.Acked
		if cs.Received < ps.Acked || cs.Seq.Gaps+landed != ps.Failed {
			t.Errorf("consumed %d, acked %d, failed %d, gaps %d: failures unaccounted",
				cs.Received, ps.Acked, ps.Failed, cs.Seq.Gaps)
		}
		if cs.Seq.Duplicates != 0 || cs.Pending != 0 {
			t.Errorf("consumer %+v", cs)
		}
		if got := metricValue(t, r.preg, telemetry.ProducerRecreated); got != 1 {
			t.Errorf("%s = %g, want 1", telemetry.ProducerRecreated, got)
		}
	})
}

type run struct {
	producer *Producer
	consumer *Consumer
	preg     *prometheus.Registry
	creg     *prometheus.Registry
	samples  atomic.Int64
	ids      sync.Map // producer ids seen by the consumer
	errs     chan error
	stop     context.CancelFunc
	consumed chan struct{}
	prodDone chan struct{}
}

// startRun starts a consumer and a fixed-rate producer on a new topic;
// each of opts may change the producer's configuration first.
func startRun(t *testing.T, bootstrap, topic string, rate float64, d time.Duration,
	opts ...func(*ProducerConfig),
) *run {
	t.Helper()
	log := testlog.New(t)
	r := &run{
		preg:     prometheus.NewRegistry(),
		creg:     prometheus.NewRegistry(),
		errs:     make(chan error, 2),
		consumed: make(chan struct{}),
		prodDone: make(chan struct{}),
	}
	pc := DefaultProducerConfig()
	pc.Broker, pc.Topic, pc.Partitions = bootstrap, topic, 3
	pc.RateMode, pc.Rate, pc.Duration = RateFixed, rate, d
	pc.MessageSize = 200
	for _, o := range opts {
		o(&pc)
	}

	cc := DefaultConsumerConfig()
	cc.Broker, cc.Topic, cc.Group = bootstrap, topic, topic+"-group"
	cc.LagInterval = time.Second
	cc.Tracker.Grace = 2 * time.Second
	cc.OnMessage = func(h stamp.Header, _ time.Time) {
		r.samples.Add(1)
		r.ids.Store(h.ProducerID, true)
	}

	var err error
	if r.producer, err = NewProducer(pc, log.With("component", "producer"), r.preg); err != nil {
		t.Fatal(err)
	}
	if r.consumer, err = NewConsumer(cc, log.With("component", "consumer"), r.creg); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.stop = cancel
	t.Cleanup(cancel)
	go func() {
		defer close(r.consumed)
		r.errs <- r.consumer.Run(ctx)
	}()
	go func() {
		defer close(r.prodDone)
		r.errs <- r.producer.Run(ctx)
	}()
	return r
}

// finish lets the producer run out (calling during, if set, once some
// messages were acked), waits until the consumer has read what the producer wrote,
// stops the consumer and returns both totals.
func (r *run) finish(t *testing.T, during func(*Producer)) (ProducerStats, ConsumerStats) {
	t.Helper()
	if during != nil {
		waitFor(t, time.Minute, "producer acks", func() bool { return r.producer.Stats().Acked > 200 })
		during(r.producer)
	}
	select {
	case <-r.prodDone:
	case <-time.After(2 * time.Minute):
		t.Fatal("producer did not stop")
	}
	ps := r.producer.Stats()
	// Everything that reached the broker arrives, then the grace passes so
	// that anything still missing is declared.
	waitFor(t, time.Minute, "consumer catching up", func() bool {
		return r.consumer.Stats().Received >= ps.Acked
	})
	time.Sleep(2*r.consumer.cfg.Tracker.Grace + 2*tickEvery)
	r.stop()
	select {
	case <-r.consumed:
	case <-time.After(time.Minute):
		t.Fatal("consumer did not stop")
	}
	for range 2 {
		if err := <-r.errs; err != nil {
			t.Errorf("run returned %v", err)
		}
	}
	return ps, r.consumer.Stats()
}

func (r *run) checkMetrics(t *testing.T, ps ProducerStats, cs ConsumerStats) {
	t.Helper()
	checks := []struct {
		reg  prometheus.Gatherer
		name string
		want float64
	}{
		{r.preg, telemetry.ProducerSent, float64(ps.Sent)},
		{r.preg, telemetry.ProducerAcked, float64(ps.Acked)},
		{r.preg, telemetry.ProducerBytesAcked, float64(ps.Acked * 200)},
		{r.preg, telemetry.ProducerFailed, 0},
		{r.preg, telemetry.ProducerInFlight, 0},
		{r.preg, telemetry.ProducerAckLatency, float64(ps.Acked)},
		{r.preg, telemetry.ProducerSendDelay, float64(ps.Sent)},
		{r.preg, telemetry.ProducerTargetRate, 400},
		{r.creg, telemetry.ConsumerReceived, float64(cs.Received)},
		{r.creg, telemetry.ConsumerEndToEndLatency, float64(cs.Received)},
		{r.creg, telemetry.ConsumerSequenceGaps, 0},
		{r.creg, telemetry.ConsumerDuplicates, 0},
	}
	for _, c := range checks {
		if got := metricValue(t, c.reg, c.name); got != c.want {
			t.Errorf("%s = %g, want %g", c.name, got, c.want)
		}
	}
	if got := r.samples.Load(); got != int64(cs.Received) {
		t.Errorf("OnMessage saw %d messages, consumer counted %d", got, cs.Received)
	}
	r.ids.Range(func(id, _ any) bool {
		if id.(uint64) != ps.ID {
			t.Errorf("consumer saw producer id %x, want only %x", id, ps.ID)
		}
		return true
	})
	if sum := metricSum(t, r.creg, telemetry.ConsumerEndToEndLatency); sum <= 0 {
		t.Errorf("end-to-end latency sum = %g, want > 0", sum)
	}
}

// partitionsWritten returns how many of the topic's partitions hold records.
func partitionsWritten(t *testing.T, bootstrap, topic string, partitions int32) int {
	t.Helper()
	kc, err := kafka.NewConsumer(&kafka.ConfigMap{"bootstrap.servers": bootstrap, "group.id": topic + "-watermarks"})
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()
	n := 0
	for p := range partitions {
		_, high, err := kc.QueryWatermarkOffsets(topic, p, 10_000)
		if err != nil {
			t.Fatalf("watermarks of %s/%d: %v", topic, p, err)
		}
		if high > 0 {
			n++
		}
	}
	return n
}

func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
