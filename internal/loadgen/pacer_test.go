package loadgen

import (
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

func TestPacerSchedule(t *testing.T) {
	start := time.Unix(1_700_000_000, 0)
	tests := []struct {
		rate float64
		i    int
		want time.Duration // after start
	}{
		{1000, 0, 0},
		{1000, 1, time.Millisecond},
		{1000, 1500, 1500 * time.Millisecond},
		{3, 1, 333333333 * time.Nanosecond},
		{3, 3, time.Second},
		{150_000, 150_000, time.Second},
		// Far into a long run the schedule must not drift.
		{1000, 86_400_000, 24 * time.Hour},
	}
	for _, tt := range tests {
		p := NewPacer(start, tt.rate)
		for range tt.i {
			p.Advance()
		}
		got := p.Due().Sub(start)
		if diff := got - tt.want; diff < -time.Microsecond || diff > time.Microsecond {
			t.Errorf("rate %g message %d due at +%v, want +%v", tt.rate, tt.i, got, tt.want)
		}
	}
}

func TestPacerResetRestartsSchedule(t *testing.T) {
	start := time.Unix(0, 0)
	p := NewPacer(start, 10)
	for range 5 {
		p.Advance()
	}
	restart := start.Add(10 * time.Second) // far behind the old schedule
	p.Reset(restart, 100)
	if !p.Due().Equal(restart) {
		t.Errorf("first due after reset = %v, want %v", p.Due(), restart)
	}
	p.Advance()
	if got := p.Due().Sub(restart); got != 10*time.Millisecond {
		t.Errorf("second due after reset = +%v, want +10ms", got)
	}
	if p.Rate() != 100 {
		t.Errorf("Rate = %g, want 100", p.Rate())
	}
}

func TestPacerBehind(t *testing.T) {
	start := time.Unix(0, 0)
	p := NewPacer(start, 100) // one every 10ms
	tests := []struct {
		advance int
		at      time.Duration
		want    uint64
	}{
		{0, -time.Second, 0},
		{0, 0, 1},
		{0, 95 * time.Millisecond, 10},
		{4, 95 * time.Millisecond, 6},
		{10, 95 * time.Millisecond, 0},
		{0, time.Second, 87}, // a stall: everything due is still to be sent
	}
	for _, tt := range tests {
		for range tt.advance {
			p.Advance()
		}
		if got := p.Behind(start.Add(tt.at)); got != tt.want {
			t.Errorf("after +%d Behind(+%v) = %d, want %d", tt.advance, tt.at, got, tt.want)
		}
	}
}

func TestSpreaderAny(t *testing.T) {
	s := spreader{partitions: 6, any: true}
	for range 10 {
		if got := s.pick(); got != kafka.PartitionAny {
			t.Fatalf("pick = %d, want PartitionAny", got)
		}
	}
}

func TestSpreader(t *testing.T) {
	tests := []struct {
		name       string
		partitions int32
		skew       float64
		want       []int // messages per partition out of 1200
	}{
		{"even", 6, 0, []int{200, 200, 200, 200, 200, 200}},
		{"one partition", 1, 0.5, []int{1200}},
		{"half to partition 0", 4, 0.5, []int{600 + 150, 150, 150, 150}},
		{"all to partition 0", 3, 1, []int{1200, 0, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := spreader{partitions: tt.partitions, skew: tt.skew}
			got := make([]int, tt.partitions)
			for range 1200 {
				got[s.pick()]++
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("counts = %v, want %v", got, tt.want)
				}
			}
		})
	}
}
