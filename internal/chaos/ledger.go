package chaos

import (
	"math"
	"slices"
	"sync"
	"time"
)

// p99Window is the span of receive time over which one P99 is computed;
// the report keeps the worst of them.
const p99Window = 5 * time.Second

// ledger is the run's own account of every sequence number of its one
// producer: acknowledged by the broker, read by the consumer, or both. It
// tells lost messages (acknowledged, never read) from failed ones and
// duplicates exactly, independently of the consumer's sequence tracker,
// which cannot know what was acknowledged. It is safe for concurrent use.
type ledger struct {
	mu       sync.Mutex
	producer uint64 // the producer id; 0 until set
	acked    bitset
	consumed bitset

	nAcked, nConsumed, both uint64
	duplicates              uint64
	strangers               uint64 // records of another producer id

	lat latencyWindows
}

func newLedger(now time.Time) *ledger {
	return &ledger{lat: latencyWindows{span: p99Window, end: now.Add(p99Window)}}
}

// setProducer sets the producer id whose numbers are counted.
func (l *ledger) setProducer(id uint64) {
	l.mu.Lock()
	l.producer = id
	l.mu.Unlock()
}

// ack records a delivery report; err nil means acknowledged.
func (l *ledger) ack(seq uint64, err error) {
	if err != nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.acked.set(seq) {
		l.nAcked++
		if l.consumed.has(seq) {
			l.both++
		}
	}
}

// consume records one record read by the consumer at received, stamped
// with producer, seq and the intended send time.
func (l *ledger) consume(producer, seq uint64, intended, received time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if producer != l.producer {
		l.strangers++
		return
	}
	l.lat.add(received, received.Sub(intended))
	if !l.consumed.set(seq) {
		l.duplicates++
		return
	}
	l.nConsumed++
	if l.acked.has(seq) {
		l.both++
	}
}

// counts are the ledger's totals.
type counts struct {
	acked, consumed, lost, duplicates, strangers uint64
	worstP99                                     time.Duration
	windows                                      int
}

// counts closes the current latency window and returns the totals. Lost
// are the acknowledged numbers not consumed (yet).
func (l *ledger) counts() counts {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lat.close()
	return counts{
		acked: l.nAcked, consumed: l.nConsumed, lost: l.nAcked - l.both,
		duplicates: l.duplicates, strangers: l.strangers,
		worstP99: l.lat.worst, windows: l.lat.closed,
	}
}

// progress returns, cheaply (no latency window is closed), the messages
// acknowledged and the records read so far, duplicates included; the other
// fields are zero.
func (l *ledger) progress() counts {
	l.mu.Lock()
	defer l.mu.Unlock()
	return counts{acked: l.nAcked, consumed: l.nConsumed + l.duplicates}
}

// unconsumed returns how many acknowledged numbers were not consumed yet.
func (l *ledger) unconsumed() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.nAcked - l.both
}

// latencyWindows computes the exact P99 of the end-to-end latencies
// received in consecutive windows of span and keeps the worst.
type latencyWindows struct {
	span    time.Duration
	end     time.Time // end of the current window
	samples []time.Duration
	worst   time.Duration
	closed  int // windows with samples closed so far
}

func (w *latencyWindows) add(at time.Time, d time.Duration) {
	if !at.Before(w.end) {
		w.close()
		// Skip the empty windows in between (an outage).
		gap := at.Sub(w.end)
		w.end = w.end.Add((gap/w.span + 1) * w.span)
	}
	w.samples = append(w.samples, max(d, 0))
}

// close folds the current window's P99 into the worst.
func (w *latencyWindows) close() {
	if len(w.samples) == 0 {
		return
	}
	w.worst = max(w.worst, quantile(w.samples, 0.99))
	w.samples = w.samples[:0]
	w.closed++
}

// quantile returns the q-quantile of s by the nearest-rank method,
// sorting s in place.
func quantile(s []time.Duration, q float64) time.Duration {
	slices.Sort(s)
	rank := int(math.Ceil(q * float64(len(s))))
	return s[min(max(rank, 1), len(s))-1]
}

// bitset is a growable set of sequence numbers.
type bitset []uint64

// set adds n and reports whether it was new.
func (b *bitset) set(n uint64) bool {
	w := int(n / 64)
	if w >= len(*b) {
		*b = append(*b, make([]uint64, w-len(*b)+1)...)
	}
	bit := uint64(1) << (n % 64)
	if (*b)[w]&bit != 0 {
		return false
	}
	(*b)[w] |= bit
	return true
}

func (b bitset) has(n uint64) bool {
	w := int(n / 64)
	return w < len(b) && b[w]&(1<<(n%64)) != 0
}
