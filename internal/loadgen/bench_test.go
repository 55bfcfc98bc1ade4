package loadgen

import (
	"testing"
	"time"
)

// BenchmarkPacer is the schedule's share of the send loop's hot path: the
// due time of the next message and the step to the one after.
func BenchmarkPacer(b *testing.B) {
	p := NewPacer(time.Now(), 150_000)
	var sink time.Time
	for b.Loop() {
		sink = p.Due()
		p.Advance()
	}
	_ = sink
}

// BenchmarkSpreader is the partition choice of every message.
func BenchmarkSpreader(b *testing.B) {
	s := spreader{partitions: 6, skew: 0.3}
	var sink int32
	for b.Loop() {
		sink += s.pick()
	}
	_ = sink
}

// BenchmarkLatencyObserve records one latency in a histogram with the
// shared classic buckets and a native histogram.
func BenchmarkLatencyObserve(b *testing.B) {
	h := latencyHistogram("kafkatune_bench_latency_seconds", "bench")
	v := 0.0007
	for b.Loop() {
		h.Observe(v)
		v *= 1.013
		if v > 12 {
			v = 0.0007
		}
	}
}

// BenchmarkSeqTrackerObserve tracks an in-order stream spread over six
// partitions, with the window sliding and ticks resolving as it goes.
func BenchmarkSeqTrackerObserve(b *testing.B) {
	tr := NewSeqTracker(DefaultTrackerConfig())
	now := time.Now()
	var seq uint64
	for b.Loop() {
		tr.Observe(now, 1, int32(seq%6), seq)
		seq++
	}
}
