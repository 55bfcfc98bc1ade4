package loadgen

import (
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

// Pacer is the open-loop schedule of a fixed rate: message i of a run that
// started at start with rate r is due at start + i/r. The due time is what
// the producer stamps as the intended send time, whether or not the
// producer manages to send on time; a producer that falls behind sends the
// overdue messages at once and never skips one.
type Pacer struct {
	start  time.Time
	rate   float64
	period float64 // nanoseconds between two messages
	i      uint64
}

// NewPacer returns a schedule at rate messages per second from start.
func NewPacer(start time.Time, rate float64) *Pacer {
	p := &Pacer{}
	p.Reset(start, rate)
	return p
}

// Reset restarts the schedule at start with a new rate; the next message
// is due at start. Changing the rate restarts the schedule rather than
// stretching the old one, so the old rate's debt does not carry over.
func (p *Pacer) Reset(start time.Time, rate float64) {
	p.start = start
	p.rate = rate
	p.period = float64(time.Second) / rate
	p.i = 0
}

// Rate returns the scheduled rate in messages per second.
func (p *Pacer) Rate() float64 { return p.rate }

// Due returns the time the next message is due.
func (p *Pacer) Due() time.Time {
	return p.start.Add(time.Duration(float64(p.i) * p.period))
}

// Advance moves on to the next message.
func (p *Pacer) Advance() { p.i++ }

// Behind returns how many messages were due by now and not yet taken.
func (p *Pacer) Behind(now time.Time) uint64 {
	elapsed := now.Sub(p.start)
	if elapsed < 0 {
		return 0
	}
	due := uint64(float64(elapsed)/p.period) + 1
	if due <= p.i {
		return 0
	}
	return due - p.i
}

// spreader picks the partition of each message: a share skew of the
// messages goes to partition 0, the rest round-robin over all partitions.
// It is deterministic, so the share is exact over any long run. With any
// set it leaves the choice to the client's partitioner.
type spreader struct {
	partitions int32
	skew       float64
	any        bool
	acc        float64
	next       int32
}

func (s *spreader) pick() int32 {
	if s.any {
		return kafka.PartitionAny
	}
	if s.skew > 0 {
		s.acc += s.skew
		if s.acc >= 1 {
			s.acc--
			return 0
		}
	}
	p := s.next
	s.next++
	if s.next >= s.partitions {
		s.next = 0
	}
	return p
}
