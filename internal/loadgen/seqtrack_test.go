package loadgen

import (
	"math/rand/v2"
	"testing"
	"time"
)

var t0 = time.Unix(1_700_000_000, 0)

func testTracker(window uint64) *SeqTracker {
	cfg := DefaultTrackerConfig()
	cfg.Window = window
	cfg.Grace = 10 * time.Second
	return NewSeqTracker(cfg)
}

type delivery struct {
	partition int32
	seq       uint64
}

// spreadAndInterleave assigns seqs round-robin to partitions, as the
// producer does, and returns them in an order a consumer could see: each
// partition in order, partitions interleaved in random chunks.
func spreadAndInterleave(rng *rand.Rand, seqs []uint64, partitions int) []delivery {
	queues := make([][]uint64, partitions)
	for _, s := range seqs {
		p := int(s % uint64(partitions))
		queues[p] = append(queues[p], s)
	}
	var out []delivery
	for {
		live := 0
		for p := range queues {
			if len(queues[p]) == 0 {
				continue
			}
			live++
			n := min(1+rng.IntN(40), len(queues[p]))
			for _, s := range queues[p][:n] {
				out = append(out, delivery{int32(p), s})
			}
			queues[p] = queues[p][n:]
		}
		if live == 0 {
			return out
		}
	}
}

func numbers(from, to uint64, skip ...uint64) []uint64 {
	skipped := map[uint64]bool{}
	for _, s := range skip {
		skipped[s] = true
	}
	var out []uint64
	for s := from; s < to; s++ {
		if !skipped[s] {
			out = append(out, s)
		}
	}
	return out
}

// feed observes ds and returns the verdict counts and gaps declared.
func feed(tr *SeqTracker, now time.Time, producer uint64, ds []delivery) (map[Verdict]int, uint64) {
	counts := map[Verdict]int{}
	var gaps uint64
	for _, d := range ds {
		v, g := tr.Observe(now, producer, d.partition, d.seq)
		counts[v]++
		gaps += g
	}
	return counts, gaps
}

// settle ticks twice a Grace apart so everything below the highest number
// seen is resolved, and returns the gaps declared.
func settle(tr *SeqTracker, from time.Time) uint64 {
	g := tr.Tick(from.Add(tr.cfg.Grace))
	return g + tr.Tick(from.Add(2*tr.cfg.Grace))
}

func TestSeqTrackerReorderedWithoutLoss(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	tr := testTracker(1 << 12)
	ds := spreadAndInterleave(rng, numbers(0, 20_000), 6)
	counts, gaps := feed(tr, t0, 7, ds)
	if counts[SeqNew] != 20_000 || gaps != 0 {
		t.Fatalf("verdicts %v, gaps %d; want 20000 new, no gaps", counts, gaps)
	}
	if gaps := settle(tr, t0); gaps != 0 {
		t.Errorf("settle declared %d gaps, want 0", gaps)
	}
	s := tr.Stats()
	if s.Duplicates != 0 || s.Gaps != 0 || s.Late != 0 || s.Untracked != 0 || tr.Pending() != 0 {
		t.Errorf("stats %+v pending %d, want all zero", s, tr.Pending())
	}
}

func TestSeqTrackerDuplicates(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	tr := testTracker(1 << 12)
	ds := spreadAndInterleave(rng, numbers(0, 10_000), 4)
	// Redeliver some numbers soon after (inside the window) and a whole
	// partition's worth again at the end (a consumer rewind).
	ds = append(ds[:5000:5000], append([]delivery{ds[10], ds[11], ds[4999]}, ds[5000:]...)...)
	var rewind []delivery
	for _, d := range ds[:1000] {
		if d.partition == 2 {
			rewind = append(rewind, d)
		}
	}
	ds = append(ds, rewind...)
	counts, _ := feed(tr, t0, 9, ds)
	wantDup := 3 + len(rewind)
	if counts[SeqDuplicate] != wantDup || tr.Stats().Duplicates != uint64(wantDup) {
		t.Errorf("duplicates: verdicts %v stats %d, want %d", counts, tr.Stats().Duplicates, wantDup)
	}
	if gaps := settle(tr, t0); gaps != 0 || tr.Stats().Gaps != 0 {
		t.Errorf("gaps = %d, want 0", gaps)
	}
}

func TestSeqTrackerGapsAfterGraceAndLateArrival(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	tr := testTracker(1 << 14)
	missing := []uint64{25, 17, 300, 301, 302, 303, 304, 305, 306, 307, 308, 309}
	ds := spreadAndInterleave(rng, numbers(0, 5000, missing...), 6)
	counts, gaps := feed(tr, t0, 1, ds)
	if gaps != 0 || counts[SeqNew] != 5000-len(missing) {
		t.Fatalf("verdicts %v gaps %d", counts, gaps)
	}
	if p := tr.Pending(); p != uint64(len(missing)) {
		t.Errorf("pending before grace = %d, want %d", p, len(missing))
	}
	if g := tr.Tick(t0.Add(time.Second)); g != 0 {
		t.Errorf("gaps declared within grace: %d", g)
	}
	if g := settle(tr, t0); g != uint64(len(missing)) {
		t.Errorf("gaps after grace = %d, want %d", g, len(missing))
	}
	if p := tr.Pending(); p != 0 {
		t.Errorf("pending after grace = %d, want 0", p)
	}

	// 17 turns up after all: late, not a duplicate; then again: duplicate.
	if v, _ := tr.Observe(t0.Add(time.Minute), 1, 5, 17); v != SeqLate {
		t.Errorf("late arrival verdict = %v, want SeqLate", v)
	}
	if v, _ := tr.Observe(t0.Add(time.Minute), 1, 5, 17); v != SeqDuplicate {
		t.Errorf("second arrival verdict = %v, want SeqDuplicate", v)
	}
	// Inside a missing run too.
	if v, _ := tr.Observe(t0.Add(time.Minute), 1, 3, 303); v != SeqLate {
		t.Errorf("late arrival inside a run = %v, want SeqLate", v)
	}
	if v, _ := tr.Observe(t0.Add(time.Minute), 1, 4, 304); v != SeqLate {
		t.Errorf("late arrival next to a late one = %v, want SeqLate", v)
	}
	s := tr.Stats()
	if s.Gaps != uint64(len(missing)) || s.Late != 3 || s.Duplicates != 1 {
		t.Errorf("stats %+v", s)
	}
}

func TestSeqTrackerWindowOverflowDeclaresGap(t *testing.T) {
	tr := testTracker(128)
	var gaps uint64
	for _, s := range numbers(0, 400, 10) {
		_, g := tr.Observe(t0, 1, 0, s)
		gaps += g
	}
	if gaps != 1 {
		t.Errorf("gaps = %d, want 1 (number 10)", gaps)
	}
	// A jump far past the window: everything in between is missing.
	_, g := tr.Observe(t0, 1, 0, 1000)
	// 400..872 fall out of the window at once; 873..999 stay pending.
	if g != 473 || tr.Pending() != 127 {
		t.Errorf("jump declared %d gaps, %d pending; want 473 and 127", g, tr.Pending())
	}
	if v, _ := tr.Observe(t0, 1, 0, 5); v != SeqDuplicate {
		t.Errorf("old number verdict = %v, want SeqDuplicate", v)
	}
	if v, _ := tr.Observe(t0, 1, 0, 10); v != SeqLate {
		t.Errorf("missing number verdict = %v, want SeqLate", v)
	}
}

func TestSeqTrackerMidStreamStartIsNotAGap(t *testing.T) {
	// A consumer resumes from committed offsets that differ per partition:
	// partition 1 starts at 2950, partition 0 at 3000, partition 2 at 3011.
	// What lies below each partition's start was read by an earlier run.
	rng := rand.New(rand.NewPCG(7, 8))
	tr := testTracker(1 << 12)
	starts := map[uint64]uint64{0: 3000, 1: 2950, 2: 3011}
	var seqs []uint64
	for s := uint64(2900); s < 6000; s++ {
		if s >= starts[s%3] {
			seqs = append(seqs, s)
		}
	}
	counts, gaps := feed(tr, t0, 3, spreadAndInterleave(rng, seqs, 3))
	gaps += settle(tr, t0)
	if gaps != 0 || counts[SeqDuplicate] != 0 {
		t.Errorf("gaps %d verdicts %v, want no gaps and no duplicates", gaps, counts)
	}
	// A number below every start is too old to judge.
	if v, _ := tr.Observe(t0.Add(time.Minute), 3, 0, 100); v != SeqUntracked {
		t.Errorf("old number verdict = %v, want SeqUntracked", v)
	}
}

func TestSeqTrackerWidensDownBeforeFirstSweep(t *testing.T) {
	tr := testTracker(1 << 10)
	for _, s := range []uint64{10, 11, 12} {
		tr.Observe(t0, 1, 0, s)
	}
	if v, _ := tr.Observe(t0, 1, 1, 5); v != SeqNew {
		t.Errorf("lower first number verdict = %v, want SeqNew", v)
	}
	if v, _ := tr.Observe(t0, 1, 1, 5); v != SeqDuplicate {
		t.Errorf("repeat verdict = %v, want SeqDuplicate", v)
	}
	if tr.Pending() != 4 { // 6..9
		t.Errorf("pending = %d, want 4", tr.Pending())
	}
}

func TestSeqTrackerPartialCoverageCountsNoGaps(t *testing.T) {
	tr := testTracker(1 << 12)
	tr.SetFullCoverage(false)
	// This member reads partitions 0 and 1 of 3: a third of the numbers
	// never arrive here.
	var ds []delivery
	for s := uint64(0); s < 3000; s++ {
		if p := int32(s % 3); p != 2 {
			ds = append(ds, delivery{p, s})
		}
	}
	feed(tr, t0, 1, ds)
	if g := settle(tr, t0); g != 0 {
		t.Errorf("gaps = %d, want 0 without full coverage", g)
	}
	if v, _ := tr.Observe(t0.Add(time.Minute), 1, 2, 2); v != SeqUntracked {
		t.Errorf("verdict = %v, want SeqUntracked", v)
	}
}

func TestSeqTrackerProducersAreIndependentAndBounded(t *testing.T) {
	cfg := DefaultTrackerConfig()
	cfg.Window = 256
	cfg.MaxProducers = 2
	cfg.IdleTimeout = time.Minute
	tr := NewSeqTracker(cfg)
	for _, s := range numbers(0, 100, 50) {
		tr.Observe(t0, 1, 0, s)
	}
	for _, s := range numbers(0, 100) {
		tr.Observe(t0.Add(time.Second), 2, 0, s)
	}
	// A third producer evicts the least recently seen one (1), whose
	// missing 50 is then resolved as a gap.
	_, g := tr.Observe(t0.Add(2*time.Second), 3, 0, 0)
	if g != 1 || tr.Stats().Producers != 2 {
		t.Errorf("eviction gaps = %d producers = %d, want 1 and 2", g, tr.Stats().Producers)
	}
	if g := tr.Tick(t0.Add(2*time.Second + cfg.IdleTimeout)); g != 0 || tr.Stats().Producers != 0 {
		t.Errorf("idle drop gaps = %d producers = %d, want 0 and 0", g, tr.Stats().Producers)
	}
}

func TestSeqTrackerMissingRunsAreBounded(t *testing.T) {
	cfg := DefaultTrackerConfig()
	cfg.Window = 128
	cfg.MaxRanges = 3
	tr := NewSeqTracker(cfg)
	// Every other number missing: many separate runs.
	for s := uint64(0); s < 1000; s += 2 {
		tr.Observe(t0, 1, 0, s)
	}
	st := tr.states[1]
	if len(st.missing) > cfg.MaxRanges {
		t.Errorf("%d missing runs kept, want at most %d", len(st.missing), cfg.MaxRanges)
	}
}
