package loadgen

import (
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/prometheus/client_golang/prometheus"
)

// TestOnDelivery feeds delivery reports to the producer's report handler:
// the callback sees each message's sequence number and its outcome, and
// the totals count it as before.
func TestOnDelivery(t *testing.T) {
	p, err := NewProducer(DefaultProducerConfig(), slog.New(slog.NewTextHandler(io.Discard, nil)),
		prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	type report struct {
		seq uint64
		err error
	}
	var got []report
	p.OnDelivery(func(seq uint64, err error) { got = append(got, report{seq, err}) })

	c := &producerClient{}
	c.purgeReason.Store(FailOther)
	deliver := func(seq uint64, err error) {
		p.slots <- struct{}{}
		c.inFlight.Add(1)
		m := &kafka.Message{Opaque: sendInfo{sent: time.Now(), seq: seq}}
		m.TopicPartition.Error = err
		p.delivered(c, m)
	}
	timedOut := kafka.NewError(kafka.ErrMsgTimedOut, "timed out", false)
	deliver(41, nil)
	deliver(42, timedOut)
	deliver(43, nil)

	want := []report{{41, nil}, {42, timedOut}, {43, nil}}
	if len(got) != len(want) {
		t.Fatalf("callback saw %v, want %v", got, want)
	}
	for i := range want {
		if got[i].seq != want[i].seq || !errors.Is(got[i].err, want[i].err) {
			t.Errorf("report %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	if s := p.Stats(); s.Acked != 2 || s.Failed != 1 {
		t.Errorf("stats %+v, want 2 acked and 1 failed", s)
	}
	if len(p.slots) != 0 || c.inFlight.Load() != 0 {
		t.Errorf("slots %d, in flight %d after every report: want 0", len(p.slots), c.inFlight.Load())
	}
}
