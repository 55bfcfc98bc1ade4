package chaos

import (
	"errors"
	"testing"
	"time"
)

func TestLedgerTellsLostFromFailedAndDuplicates(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	l := newLedger(t0)
	l.setProducer(7)
	read := func(seq uint64) { l.consume(7, seq, t0, t0.Add(time.Millisecond)) }

	l.ack(0, nil)
	read(0)
	read(1) // read before its acknowledgement arrives
	l.ack(1, nil)
	l.ack(2, nil) // acknowledged, never read: lost
	l.ack(3, errors.New("timed out"))
	read(3) // failed, yet written: read, not lost
	read(0) // duplicate
	read(1) // duplicate
	l.ack(0, nil)
	l.consume(8, 4, t0, t0) // another producer
	l.ack(200, nil)         // far ahead: the set grows
	read(200)

	c := l.counts()
	want := counts{acked: 4, consumed: 4, lost: 1, duplicates: 2, strangers: 1}
	c.worstP99, c.windows = 0, 0
	if c != want {
		t.Errorf("counts = %+v, want %+v", c, want)
	}
	if got := l.unconsumed(); got != 1 {
		t.Errorf("unconsumed = %d, want 1", got)
	}
}

func TestLatencyWindowsKeepTheWorstP99(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	w := latencyWindows{span: 5 * time.Second, end: t0.Add(5 * time.Second)}
	// Window 1: 1..100 ms, P99 = 99 ms.
	for i := 1; i <= 100; i++ {
		w.add(t0.Add(time.Duration(i)*10*time.Millisecond), time.Duration(i)*time.Millisecond)
	}
	// An outage: nothing for 20 s, then a window whose P99 is 8 s.
	at := t0.Add(25 * time.Second)
	for i := 1; i <= 100; i++ {
		w.add(at, time.Duration(i)*80*time.Millisecond)
	}
	if !w.end.After(at) || w.end.Sub(at) > w.span {
		t.Errorf("window end %v does not cover %v", w.end, at)
	}
	// A calm window after it, and a negative latency (clock step) as 0.
	w.add(at.Add(6*time.Second), -time.Second)
	w.close()
	if w.worst != 7920*time.Millisecond {
		t.Errorf("worst P99 = %v, want 7.92s", w.worst)
	}
	if w.closed != 3 {
		t.Errorf("closed %d windows, want 3", w.closed)
	}
}

func TestQuantile(t *testing.T) {
	tests := []struct {
		in   []time.Duration
		q    float64
		want time.Duration
	}{
		{[]time.Duration{5}, 0.99, 5},
		{[]time.Duration{3, 1, 2}, 0.5, 2},
		{[]time.Duration{3, 1, 2}, 0.99, 3},
		{[]time.Duration{4, 3, 2, 1}, 0, 1},
	}
	for _, tt := range tests {
		if got := quantile(append([]time.Duration(nil), tt.in...), tt.q); got != tt.want {
			t.Errorf("quantile(%v, %g) = %v, want %v", tt.in, tt.q, got, tt.want)
		}
	}
}

func TestBitset(t *testing.T) {
	var b bitset
	for _, n := range []uint64{0, 63, 64, 1000} {
		if !b.set(n) {
			t.Errorf("set(%d) on an empty slot = false", n)
		}
		if b.set(n) {
			t.Errorf("set(%d) twice = true", n)
		}
		if !b.has(n) {
			t.Errorf("has(%d) = false", n)
		}
	}
	if b.has(1) || b.has(5000) {
		t.Error("has reports numbers never set")
	}
}

func TestRestartWaits(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Restarts = 50
	a, b := restartWaits(cfg), restartWaits(cfg)
	distinct := map[time.Duration]bool{}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("wait %d differs with the same seed: %v, %v", i, a[i], b[i])
		}
		if a[i] < cfg.MinInterval || a[i] > cfg.MaxInterval {
			t.Errorf("wait %d = %v, outside [%v, %v]", i, a[i], cfg.MinInterval, cfg.MaxInterval)
		}
		distinct[a[i]] = true
	}
	if len(distinct) < 40 {
		t.Errorf("only %d distinct waits of 50: not random", len(distinct))
	}
	cfg.Seed++
	if c := restartWaits(cfg); c[0] == a[0] && c[1] == a[1] {
		t.Error("another seed gives the same waits")
	}
	cfg.MinInterval, cfg.MaxInterval = 3*time.Second, 3*time.Second
	for _, w := range restartWaits(cfg) {
		if w != 3*time.Second {
			t.Fatalf("wait %v with min = max = 3s", w)
		}
	}
}

func TestReportLine(t *testing.T) {
	r := Report{Acked: 10, Consumed: 9, Lost: 1, Duplicates: 2, WorstP99: 1234567 * time.Microsecond,
		Failed: 3, Gaps: 4, Restarts: 5, Seed: -6}
	want := "acked=10 consumed=9 lost=1 duplicates=2 worst_p99_ms=1234.6 failed=3 gaps=4 restarts=5 seed=-6"
	if got := r.Line(); got != want {
		t.Errorf("Line() = %q, want %q", got, want)
	}
}
