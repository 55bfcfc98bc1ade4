package loadgen

import "testing"

func TestAdjust(t *testing.T) {
	p := ControlParams{TargetLatencyMs: 20, Mult: 1.1, Margin: 0.98, MinRate: 10, MaxRate: 1000}
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
			Observation{Rate: 500, P99Ms: 20, HaveP99: true, ActualRate: 500}, 500, ReasonOnTarget},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Adjust(p, tt.obs)
			if diff := d.Rate - tt.rate; diff > 1e-9 || diff < -1e-9 {
				t.Errorf("rate = %g, want %g", d.Rate, tt.rate)
			}
			if d.Reason != tt.reason {
				t.Errorf("reason = %q, want %q", d.Reason, tt.reason)
			}
		})
	}
}
