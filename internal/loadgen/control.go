package loadgen

import "math"

// ControlParams are the fixed settings of the adaptive rate controller.
type ControlParams struct {
	// TargetLatencyMs is the P99 the controller keeps under.
	TargetLatencyMs float64
	// Mult raises the rate (rate*Mult) and backs it off (rate/Mult).
	Mult float64
	// Margin is the share of the target rate the acked rate must reach
	// before the rate is raised again.
	Margin float64
	// MinRate and MaxRate bound the rate.
	MinRate float64
	MaxRate float64
}

// Observation is what the controller sees at the end of an interval.
type Observation struct {
	// Rate is the current target rate in messages per second.
	Rate float64
	// P99Ms is the end-to-end P99 the bridge published, valid if HaveP99.
	P99Ms   float64
	HaveP99 bool
	// ActualRate is the acked rate over the interval.
	ActualRate float64
}

// Decision is the controller's next rate and why.
type Decision struct {
	Rate   float64
	Reason string
}

// Reasons of a Decision, used in logs.
const (
	ReasonNoData      = "no_latency_data"
	ReasonUnderTarget = "p99_under_target"
	ReasonOverTarget  = "p99_over_target"
	ReasonOnTarget    = "p99_at_target"
	ReasonLagging     = "actual_rate_below_margin"
	ReasonAtMax       = "at_max_rate"
	ReasonAtMin       = "at_min_rate"
)

// Adjust is the adaptive controller of the original demo, with a back-off
// added: raise the rate by Mult while the P99 is under target and the acked
// rate keeps up with the target rate; divide it by Mult when the P99 is over
// target; otherwise, and without latency data, hold.
func Adjust(p ControlParams, o Observation) Decision {
	switch {
	case !o.HaveP99:
		return Decision{o.Rate, ReasonNoData}
	case o.P99Ms > p.TargetLatencyMs:
		if o.Rate <= p.MinRate {
			return Decision{o.Rate, ReasonAtMin}
		}
		return Decision{math.Max(o.Rate/p.Mult, p.MinRate), ReasonOverTarget}
	case o.P99Ms == p.TargetLatencyMs:
		return Decision{o.Rate, ReasonOnTarget}
	case o.ActualRate < p.Margin*o.Rate:
		return Decision{o.Rate, ReasonLagging}
	case o.Rate >= p.MaxRate:
		return Decision{o.Rate, ReasonAtMax}
	default:
		return Decision{math.Min(o.Rate*p.Mult, p.MaxRate), ReasonUnderTarget}
	}
}
