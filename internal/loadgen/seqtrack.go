package loadgen

import (
	"fmt"
	"math/bits"
	"time"
)

// SeqTracker counts gaps and duplicates in the sequence numbers of every
// producer whose messages a consumer reads.
//
// The producer spreads consecutive sequence numbers over partitions, and the
// consumer fetches partitions independently, so numbers arrive out of order
// and "the next number is not the last one plus one" means nothing. The
// tracker therefore keeps, per producer, a bitmap of the numbers it has seen
// in a sliding window [low, low+Window) and a low watermark: every number
// below low is resolved, either seen or declared missing.
//
//   - A number already set in the bitmap is a duplicate. Below low it is a
//     duplicate unless it was declared missing, in which case it is late (it
//     was counted as a gap and has turned up after all).
//   - A number is declared missing (a gap) only once it is clearly missing:
//     when a later number has been seen at least Grace ago (Tick), or when a
//     number Window or more above it arrives (the bitmap must slide).
//   - The first numbers a consumer sees of a producer need not be the
//     producer's first: the consumer may join mid-stream, or resume from
//     committed offsets that differ per partition. Numbers below the first
//     one seen on each partition can legitimately never arrive, so they are
//     never counted as gaps: the count starts at the origin, the highest of
//     the first numbers seen per partition. Until the window first slides,
//     a lower number that arrives simply extends the window downwards.
//     With a sticky partitioner a partition may get its first message
//     late in a run, which moves the origin up: gaps before it go
//     uncounted.
//   - A consumer that does not read every partition of the topic (a group
//     with several members) cannot tell a gap from a number read by another
//     member; while SetFullCoverage(false) holds, unseen numbers are resolved
//     without being counted.
//
// Numbers that are unseen but not yet declared missing are reported by
// Pending, for example when a run ends. The tracker is not safe for
// concurrent use.
type SeqTracker struct {
	cfg    TrackerConfig
	full   bool
	states map[uint64]*seqState
	stats  SeqStats
}

// TrackerConfig configures a SeqTracker.
type TrackerConfig struct {
	// Window is the size of the per-producer bitmap in sequence numbers, a
	// multiple of 64: how far out of order a number may arrive.
	Window uint64
	// Grace is how long after a later number was seen an unseen number is
	// declared a gap.
	Grace time.Duration
	// MaxProducers bounds how many producers are tracked at once; the one
	// seen least recently is resolved and dropped first.
	MaxProducers int
	// IdleTimeout drops a producer not seen for this long.
	IdleTimeout time.Duration
	// MaxRanges bounds the remembered runs of missing numbers per producer;
	// a number from a forgotten run that arrives late counts as a duplicate.
	MaxRanges int
}

// DefaultTrackerConfig returns the consumer's tracker settings: a 4 Mi
// window (512 KiB per producer), 30 s grace, at most 64 producers.
func DefaultTrackerConfig() TrackerConfig {
	return TrackerConfig{
		Window:       1 << 22,
		Grace:        30 * time.Second,
		MaxProducers: 64,
		IdleTimeout:  10 * time.Minute,
		MaxRanges:    1024,
	}
}

// Validate checks the tracker settings.
func (c TrackerConfig) Validate() error {
	if c.Window < 64 || c.Window%64 != 0 || c.Grace <= 0 || c.MaxProducers < 1 ||
		c.IdleTimeout <= 0 || c.MaxRanges < 1 {
		return fmt.Errorf("invalid sequence tracker config %+v", c)
	}
	return nil
}

// Verdict classifies one observed sequence number.
type Verdict int

// Verdicts.
const (
	// SeqNew is a number seen for the first time.
	SeqNew Verdict = iota
	// SeqDuplicate is a number seen before.
	SeqDuplicate
	// SeqLate is a number that was declared a gap and arrived after all.
	SeqLate
	// SeqUntracked is a number too old to judge: below where tracking of
	// its producer started.
	SeqUntracked
)

// SeqStats are the tracker's running totals.
type SeqStats struct {
	Observed   uint64
	Duplicates uint64
	Gaps       uint64
	Late       uint64
	Untracked  uint64
	// Producers is the number of producers tracked now.
	Producers int
}

type seqState struct {
	bits    []uint64 // ring of Window bits; number s lives at bit s%Window
	low     uint64   // every number below low is resolved
	high    uint64   // highest number seen
	floor   uint64   // lowest number ever tracked
	origin  uint64   // highest first-number-seen over partitions
	swept   bool     // low has moved up at least once
	parts   map[int32]struct{}
	missing []seqRange // resolved-unseen runs below low, ascending

	mark     uint64 // high as of markAt, for the grace sweep
	markAt   time.Time
	lastSeen time.Time
}

// seqRange is the run [from, to) of numbers resolved without being seen;
// counted runs were counted as gaps.
type seqRange struct {
	from, to uint64
	counted  bool
}

// NewSeqTracker returns an empty tracker that assumes full coverage.
func NewSeqTracker(cfg TrackerConfig) *SeqTracker {
	return &SeqTracker{cfg: cfg, full: true, states: map[uint64]*seqState{}}
}

// SetFullCoverage tells the tracker whether this consumer reads every
// partition of the topic, so that unseen numbers are really missing.
func (t *SeqTracker) SetFullCoverage(full bool) { t.full = full }

// Stats returns the running totals.
func (t *SeqTracker) Stats() SeqStats {
	s := t.stats
	s.Producers = len(t.states)
	return s
}

// Observe records number seq of producer, read from partition at now. It
// returns the verdict on seq and how many gaps were declared on the way
// (when the window had to slide).
func (t *SeqTracker) Observe(now time.Time, producer uint64, partition int32, seq uint64) (Verdict, uint64) {
	t.stats.Observed++
	st := t.states[producer]
	var gaps uint64
	if st == nil {
		gaps = t.makeRoom()
		st = t.newState(seq, now)
		t.states[producer] = st
	}
	st.lastSeen = now
	if _, ok := st.parts[partition]; !ok {
		st.parts[partition] = struct{}{}
		st.origin = max(st.origin, seq)
	}

	if seq < st.low {
		return t.count(t.below(st, seq)), gaps
	}
	if seq-st.low >= t.cfg.Window {
		gaps += t.sweep(st, seq-t.cfg.Window+1)
	}
	w, b := t.slot(seq)
	if st.bits[w]&b != 0 {
		return t.count(SeqDuplicate), gaps
	}
	st.bits[w] |= b
	st.high = max(st.high, seq)
	return SeqNew, gaps
}

func (t *SeqTracker) newState(seq uint64, now time.Time) *seqState {
	return &seqState{
		bits:   make([]uint64, t.cfg.Window/64),
		low:    seq,
		high:   seq,
		floor:  seq,
		origin: seq,
		parts:  map[int32]struct{}{},
		mark:   seq,
		markAt: now,
	}
}

func (t *SeqTracker) slot(seq uint64) (word int, bit uint64) {
	i := seq % t.cfg.Window
	return int(i / 64), 1 << (i % 64)
}

func (t *SeqTracker) count(v Verdict) Verdict {
	switch v {
	case SeqDuplicate:
		t.stats.Duplicates++
	case SeqLate:
		t.stats.Late++
	case SeqUntracked:
		t.stats.Untracked++
	}
	return v
}

// below judges a number under the low watermark.
func (t *SeqTracker) below(st *seqState, seq uint64) Verdict {
	if !st.swept && st.high-seq < t.cfg.Window {
		// Tracking has not started in earnest: widen the window down.
		st.low, st.floor = seq, seq
		w, b := t.slot(seq)
		st.bits[w] |= b
		return SeqNew
	}
	for i := len(st.missing) - 1; i >= 0; i-- {
		r := st.missing[i]
		if seq >= r.to {
			break
		}
		if seq >= r.from {
			st.removeMissing(i, seq)
			if r.counted {
				return SeqLate
			}
			return SeqUntracked
		}
	}
	if seq < st.floor {
		return SeqUntracked
	}
	return SeqDuplicate
}

func (st *seqState) removeMissing(i int, seq uint64) {
	r := st.missing[i]
	var repl []seqRange
	if seq > r.from {
		repl = append(repl, seqRange{r.from, seq, r.counted})
	}
	if seq+1 < r.to {
		repl = append(repl, seqRange{seq + 1, r.to, r.counted})
	}
	tail := append(repl, st.missing[i+1:]...)
	st.missing = append(st.missing[:i], tail...)
}

// sweep resolves every number below to, declaring the unseen ones missing,
// and returns the gaps it counted.
func (t *SeqTracker) sweep(st *seqState, to uint64) uint64 {
	if to <= st.low {
		return 0
	}
	st.swept = true
	var gaps uint64
	end := min(to, st.low+t.cfg.Window)
	for st.low < end {
		w := int((st.low % t.cfg.Window) / 64)
		off := st.low % 64
		n := min(64-off, end-st.low)
		mask := lowBits(n) << off
		unseen := ^st.bits[w] & mask
		base := st.low - off
		for unseen != 0 {
			b := uint64(bits.TrailingZeros64(unseen))
			gaps += t.resolveMissing(st, base+b, base+b+1)
			unseen &= unseen - 1
		}
		st.bits[w] &^= mask
		st.low += n
	}
	if to > st.low {
		// Beyond the window nothing can have been seen.
		gaps += t.resolveMissing(st, st.low, to)
		st.low = to
	}
	return gaps
}

func lowBits(n uint64) uint64 {
	if n >= 64 {
		return ^uint64(0)
	}
	return 1<<n - 1
}

// resolveMissing records [from, to) as unseen and counts the part at or
// above the origin as gaps when the consumer reads every partition.
func (t *SeqTracker) resolveMissing(st *seqState, from, to uint64) uint64 {
	split := to // without full coverage nothing is counted
	if t.full {
		split = min(max(from, st.origin), to)
	}
	if split > from {
		st.addMissing(seqRange{from, split, false}, t.cfg.MaxRanges)
	}
	if to > split {
		st.addMissing(seqRange{split, to, true}, t.cfg.MaxRanges)
	}
	t.stats.Gaps += to - split
	return to - split
}

func (st *seqState) addMissing(r seqRange, maxRanges int) {
	if n := len(st.missing); n > 0 {
		last := &st.missing[n-1]
		if last.to == r.from && last.counted == r.counted {
			last.to = r.to
			return
		}
	}
	if len(st.missing) >= maxRanges {
		st.missing = append(st.missing[:0], st.missing[1:]...)
	}
	st.missing = append(st.missing, r)
}

// Tick declares the numbers that are still unseen a Grace after a later
// number was seen, drops idle producers, and returns the gaps it counted.
// Call it every few seconds.
func (t *SeqTracker) Tick(now time.Time) uint64 {
	var gaps uint64
	for id, st := range t.states {
		if now.Sub(st.lastSeen) >= t.cfg.IdleTimeout {
			gaps += t.drop(id)
			continue
		}
		if now.Sub(st.markAt) >= t.cfg.Grace {
			gaps += t.sweep(st, st.mark)
			st.mark, st.markAt = st.high, now
		}
	}
	return gaps
}

// drop resolves everything up to a producer's highest number and forgets
// the producer.
func (t *SeqTracker) drop(id uint64) uint64 {
	st := t.states[id]
	gaps := t.sweep(st, st.high+1)
	delete(t.states, id)
	return gaps
}

// makeRoom drops the producer seen least recently when the table is full.
func (t *SeqTracker) makeRoom() uint64 {
	if len(t.states) < t.cfg.MaxProducers {
		return 0
	}
	var oldest uint64
	var at time.Time
	first := true
	for id, st := range t.states {
		if first || st.lastSeen.Before(at) {
			oldest, at, first = id, st.lastSeen, false
		}
	}
	return t.drop(oldest)
}

// Pending returns how many numbers between each producer's low watermark
// and its highest number are unseen and not yet declared missing: at the end
// of a run in which everything arrived, it is zero.
func (t *SeqTracker) Pending() uint64 {
	var n uint64
	for _, st := range t.states {
		for s := st.low; s <= st.high; {
			w := int((s % t.cfg.Window) / 64)
			off := s % 64
			span := min(64-off, st.high-s+1)
			mask := lowBits(span) << off
			n += uint64(bits.OnesCount64(^st.bits[w] & mask))
			s += span
		}
	}
	return n
}
