package loadgen

import (
	"math"
	"testing"
)

func TestControllerFirstMove(t *testing.T) {
	p := ControlParams{
		TargetLatencyMs: 20, Mult: 1.1, Margin: 0.98, RaiseBelow: 0.75, MinRate: 10, MaxRate: 1000,
	}
	tests := []struct {
		name   string
		obs    Observation
		rate   float64
		reason string
	}{
		{"no latency data holds", Observation{Rate: 500, ActualRate: 500}, 500, ReasonNoData},
		{"under target and keeping up raises",
			Observation{Rate: 500, P99Ms: 10, HaveP99: true, ActualRate: 495}, 550, ReasonUnderTarget},
		{"exactly at margin raises",
			Observation{Rate: 500, P99Ms: 10, HaveP99: true, ActualRate: 490}, 550, ReasonUnderTarget},
		{"under target but lagging holds",
			Observation{Rate: 500, P99Ms: 10, HaveP99: true, ActualRate: 400}, 500, ReasonLagging},
		{"raise is capped at max",
			Observation{Rate: 950, P99Ms: 10, HaveP99: true, ActualRate: 950}, 1000, ReasonUnderTarget},
		{"at max holds",
			Observation{Rate: 1000, P99Ms: 10, HaveP99: true, ActualRate: 1000}, 1000, ReasonAtMax},
		{"over target backs off",
			Observation{Rate: 550, P99Ms: 35, HaveP99: true, ActualRate: 550}, 500, ReasonOverTarget},
		{"over target backs off even when lagging",
			Observation{Rate: 550, P99Ms: 35, HaveP99: true, ActualRate: 100}, 500, ReasonOverTarget},
		{"back-off is floored at min",
			Observation{Rate: 10.5, P99Ms: 35, HaveP99: true}, 10, ReasonOverTarget},
		{"at min holds", Observation{Rate: 10, P99Ms: 35, HaveP99: true}, 10, ReasonAtMin},
		{"on target holds",
			Observation{Rate: 500, P99Ms: 20, HaveP99: true, ActualRate: 500}, 500, ReasonNearTarget},
		{"in the hold band holds",
			Observation{Rate: 500, P99Ms: 15, HaveP99: true, ActualRate: 500}, 500, ReasonNearTarget},
		{"just under the band raises",
			Observation{Rate: 500, P99Ms: 14.9, HaveP99: true, ActualRate: 500}, 550, ReasonUnderTarget},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := NewController(p).Next(tt.obs)
			if !near(d.Rate, tt.rate) {
				t.Errorf("rate = %g, want %g", d.Rate, tt.rate)
			}
			if d.Reason != tt.reason {
				t.Errorf("reason = %q, want %q", d.Reason, tt.reason)
			}
		})
	}
}

// TestControllerStep follows the step through a sequence of moves: it
// halves at every change of direction down to 1+(Mult-1)/8, is not changed
// by holds, and doubles after four moves the same way.
func TestControllerStep(t *testing.T) {
	c := NewController(ControlParams{
		TargetLatencyMs: 20, Mult: 1.2, Margin: 0.9, RaiseBelow: 1, MinRate: 1, MaxRate: 1e9,
	})
	up := Observation{Rate: 1000, P99Ms: 5, HaveP99: true, ActualRate: 1000}
	down := Observation{Rate: 1000, P99Ms: 50, HaveP99: true, ActualRate: 1000}
	hold := Observation{Rate: 1000}
	steps := []struct {
		obs  Observation
		rate float64 // after the move, from 1000
	}{
		{up, 1200},
		{up, 1200},
		{down, 1000 / 1.1},   // reversal: 1.2 -> 1.1
		{hold, 1000},         // no data: no move, step kept
		{up, 1050},           // reversal: 1.1 -> 1.05
		{down, 1000 / 1.025}, // 1.05 -> 1.025, the floor
		{up, 1025},           // stays at the floor
		{down, 1000 / 1.025},
		{down, 1000 / 1.025},
		{down, 1000 / 1.025},
		{down, 1000 / 1.025},
		{down, 1000 / 1.05}, // the fifth in a row: doubled
		{down, 1000 / 1.05},
		{down, 1000 / 1.05},
		{down, 1000 / 1.05},
		{down, 1000 / 1.1},
		{down, 1000 / 1.1},
		{down, 1000 / 1.1},
		{down, 1000 / 1.1},
		{down, 1000 / 1.2}, // back at Mult
		{down, 1000 / 1.2}, // not above it
		{down, 1000 / 1.2},
		{down, 1000 / 1.2},
		{down, 1000 / 1.2},
	}
	for i, s := range steps {
		if d := c.Next(s.obs); !near(d.Rate, s.rate) {
			t.Fatalf("move %d: rate %g, want %g", i+1, d.Rate, s.rate)
		}
	}

	// Raises spread over holds near the target do not grow the step.
	c = NewController(ControlParams{
		TargetLatencyMs: 20, Mult: 1.2, Margin: 0.9, RaiseBelow: 0.5, MinRate: 1, MaxRate: 1e9,
	})
	inBand := Observation{Rate: 1000, P99Ms: 15, HaveP99: true, ActualRate: 1000}
	for i, o := range []Observation{up, down, up, down, up, inBand, up, inBand, up, inBand, up, inBand, up} {
		c.Next(o)
		if i >= 4 && !near(c.Step(), 1.025) {
			t.Fatalf("observation %d: step %g, want 1.025 (holds end a run)", i+1, c.Step())
		}
	}
}

// TestControllerSettles runs the controller against a model broker that
// holds the target up to a limit, and a P99 that stays high for the whole
// last lag intervals once any of them went over the limit (the bridge's
// window spans several adjustments). The limit then drops and rises, as a
// change of broker setting does. Each time the controller must come
// within 5% of the limit in 30 moves and then hold within lag+1 floor
// steps of it, where a fixed step keeps swinging by whole steps.
func TestControllerSettles(t *testing.T) {
	p := ControlParams{TargetLatencyMs: 50, Mult: 1.2, Margin: 0.95, RaiseBelow: 0.7, MinRate: 100, MaxRate: 150_000}
	floor := 1 + (p.Mult-1)/8
	for _, lag := range []int{1, 2, 3} {
		c := NewController(p)
		rate := 1000.0
		var history []float64
		for _, limit := range []float64{37_000, 20_000, 60_000} {
			band := math.Pow(floor, float64(lag+1))
			lo, hi, reached := math.Inf(1), 0.0, -1
			for i := range 100 {
				history = append(history, rate)
				p99 := 10.0
				for _, r := range history[max(0, len(history)-lag):] {
					if r > limit {
						p99 = 200
					}
				}
				rate = c.Next(Observation{Rate: rate, P99Ms: p99, HaveP99: true, ActualRate: rate}).Rate
				if reached < 0 && math.Abs(rate/limit-1) < 0.05 {
					reached = i + 1
				}
				if i >= 60 {
					lo, hi = min(lo, rate), max(hi, rate)
				}
			}
			if reached < 0 || reached > 30 {
				t.Errorf("lag %d, limit %.0f: within 5%% after %d moves, want at most 30", lag, limit, reached)
			}
			if lo < limit/band || hi > limit*band {
				t.Errorf("lag %d, limit %.0f: the last 40 rates span %.0f..%.0f, want within x%.3f of the limit",
					lag, limit, lo, hi, band)
			}
		}
	}
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }
