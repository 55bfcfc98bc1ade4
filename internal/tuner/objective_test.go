package tuner

import (
	"errors"
	"math"
	"testing"
)

func TestObjectiveScore(t *testing.T) {
	obj := Objective{TargetP99Ms: 50}
	tests := []struct {
		name string
		m    Measurement
		want float64
	}{
		{"under target", Measurement{ThroughputMsgs: 1000, P99Ms: 40, Verified: true}, 1000},
		{"at target", Measurement{ThroughputMsgs: 1000, P99Ms: 50, Verified: true}, 1000},
		{"twice the target", Measurement{ThroughputMsgs: 1000, P99Ms: 100, Verified: true}, 250},
		{"10% over", Measurement{ThroughputMsgs: 1000, P99Ms: 55, Verified: true}, 1000 * (50.0 / 55) * (50.0 / 55)},
		{"failed", Measurement{ThroughputMsgs: 1000, P99Ms: 10, Verified: true, Err: errors.New("x")}, 0},
		{"not verified", Measurement{ThroughputMsgs: 1000, P99Ms: 10}, 0},
		{"nan p99", Measurement{ThroughputMsgs: 1000, P99Ms: math.NaN(), Verified: true}, 0},
		{"negative throughput", Measurement{ThroughputMsgs: -1, P99Ms: 10, Verified: true}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := obj.Score(tt.m); math.Abs(got-tt.want) > 1e-9 {
				t.Errorf("Score = %v, want %v", got, tt.want)
			}
		})
	}
	cubic := Objective{TargetP99Ms: 50, PenaltyExponent: 3}
	if got := cubic.Score(Measurement{ThroughputMsgs: 800, P99Ms: 100, Verified: true}); got != 100 {
		t.Errorf("exponent 3 score = %v, want 100", got)
	}
}

func TestObjectiveValidate(t *testing.T) {
	bad := []Objective{{}, {TargetP99Ms: -1}, {TargetP99Ms: math.Inf(1)}, {TargetP99Ms: 5, PenaltyExponent: -1}}
	for _, o := range bad {
		if err := o.Validate(); err == nil {
			t.Errorf("Validate(%+v) = nil, want error", o)
		}
	}
	if err := (Objective{TargetP99Ms: 50}).Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
}

func TestMeasurementProblem(t *testing.T) {
	if p := (Measurement{ThroughputMsgs: 1, P99Ms: 1}).Problem(); !errors.Is(p, ErrNotVerified) {
		t.Errorf("Problem() = %v, want ErrNotVerified", p)
	}
}
