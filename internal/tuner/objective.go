// Package tuner is kafkatune's built-in optimizer: a noise-aware pattern
// search over the three broker knobs (heap, network threads, I/O threads)
// that maximizes producer throughput while consumer P99 latency stays under a
// target. It is a pure library: the driver supplies an Evaluator (apply the
// setting, wait, measure) or calls the ask/tell API itself; the package
// writes the trial ledger and the tuner's metrics.
package tuner

import (
	"errors"
	"fmt"
	"math"
)

// Measurement is what one trial of a setting measured.
type Measurement struct {
	// ThroughputMsgs is the producer throughput sustained over the window,
	// in messages per second.
	ThroughputMsgs float64
	// P99Ms is the consumer end-to-end P99 latency over the window, in
	// milliseconds.
	P99Ms float64
	// Samples is how many data points the window held (optional,
	// informational).
	Samples int
	// Verified is true when the driver read the setting back from the
	// running broker and found it in effect. An unverified measurement is
	// not trusted: it scores 0 and never becomes the incumbent.
	Verified bool
	// Err is why the trial failed (apply, readiness, query), or nil.
	Err error
}

// ErrNotVerified is the reason given for a measurement whose setting was
// not read back as effective.
var ErrNotVerified = errors.New("setting not verified as effective")

// Problem returns why m cannot be scored, or nil when it can: a trial
// error, a missing verification, or a throughput or latency that is not a
// finite non-negative number.
func (m Measurement) Problem() error {
	switch {
	case m.Err != nil:
		return m.Err
	case !m.Verified:
		return ErrNotVerified
	case !finiteNonNeg(m.ThroughputMsgs):
		return fmt.Errorf("throughput %v is not a finite non-negative number", m.ThroughputMsgs)
	case !finiteNonNeg(m.P99Ms):
		return fmt.Errorf("p99 %v is not a finite non-negative number", m.P99Ms)
	}
	return nil
}

// Valid reports whether m can be scored (Problem returns nil).
func (m Measurement) Valid() bool { return m.Problem() == nil }

func finiteNonNeg(v float64) bool {
	return !math.IsNaN(v) && !math.IsInf(v, 0) && v >= 0
}

// DefaultPenaltyExponent is the exponent of the latency penalty.
const DefaultPenaltyExponent = 2

// Objective scores a measurement: the producer throughput, kept whole while
// P99 is at or under the target and cut down the further P99 is over it:
//
//	score = throughput                                 if p99 <= target
//	score = throughput * (target / p99)^exponent       if p99 >  target
//	score = 0                                          if the trial failed
//
// With the default exponent 2, a P99 10% over the target costs 17% of the
// score and a P99 twice the target costs 75%. The load generator's adaptive
// mode pushes the rate up while P99 stays under the target, so throughput
// is the highest rate the setting sustains within the target.
type Objective struct {
	// TargetP99Ms is the P99 target in milliseconds.
	TargetP99Ms float64
	// PenaltyExponent is the exponent of target/p99 (default 2 when 0).
	PenaltyExponent float64
}

// Validate reports an unusable objective.
func (o Objective) Validate() error {
	if !(o.TargetP99Ms > 0) || math.IsInf(o.TargetP99Ms, 0) {
		return fmt.Errorf("target p99 %v ms must be a positive number", o.TargetP99Ms)
	}
	if o.PenaltyExponent < 0 || math.IsNaN(o.PenaltyExponent) || math.IsInf(o.PenaltyExponent, 0) {
		return fmt.Errorf("penalty exponent %v must be a non-negative number", o.PenaltyExponent)
	}
	return nil
}

// Score returns the objective's value for m (0 when m is not valid).
func (o Objective) Score(m Measurement) float64 {
	if !m.Valid() {
		return 0
	}
	if m.P99Ms <= o.TargetP99Ms {
		return m.ThroughputMsgs
	}
	exp := o.PenaltyExponent
	if exp == 0 {
		exp = DefaultPenaltyExponent
	}
	return m.ThroughputMsgs * math.Pow(o.TargetP99Ms/m.P99Ms, exp)
}
