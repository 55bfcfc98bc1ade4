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
	// RaiseBelow is the share of TargetLatencyMs under which the rate is
	// raised; from there up to the target it is held. 1 raises right up to
	// the target, as the original demo did.
	RaiseBelow float64
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
	ReasonNearTarget  = "p99_near_target"
	ReasonLagging     = "actual_rate_below_margin"
	ReasonAtMax       = "at_max_rate"
	ReasonAtMin       = "at_min_rate"
)

// Controller is the adaptive rate controller of the original demo, with a
// back-off, a hold band and a step that shrinks near the limit: it raises
// the rate while the P99 is under RaiseBelow x target and the acked rate
// keeps up with the target rate, lowers it while the P99 is over target,
// and holds otherwise and without latency data.
//
// The hold band is there because the P99 the controller reads covers a
// few seconds, and over a longer time (a trial's window, an alert's five
// minutes) the P99 is higher: occasional pauses (a garbage collection, a
// busy CPU) put more than 1% of a longer stretch's messages into the tail.
// Raising right up to the target kept the P99 of 45 s windows at 1.4 to
// 1.9 times the target on the local stack, and the P99 alerts fired while
// nothing was wrong.
//
// A fixed step makes the rate swing around the highest one the broker
// holds within the target, because the P99 reacts to a raise only after
// the messages have queued up, and then stays high for a whole bridge
// window: with Mult 1.2 the rate was seen to swing between 20,000 and
// 80,000 msg/s on the same setting. So the step starts at Mult, and every
// change of direction halves it (rate*step, rate/step), down to
// 1+(Mult-1)/8; after four moves the same way it doubles again, up to
// Mult, so that the controller still follows a limit that moved (a
// broker setting changed). Four, not fewer: the P99 stays high for a
// whole bridge window after the rate went over the limit, so a few moves
// down in a row are what an overshoot looks like, not a lower limit.
//
// The P99 the controller reads is as old as the bridge's window plus a
// scrape and a bridge interval. In TestControllerSettles' model (the P99
// is high while any of the last lag intervals was over the limit, and
// reacts at once) the controller holds a rate within a few per cent of
// the limit for a lag of up to three intervals; a P99 that also reacts
// late (queues building up) or a longer lag makes it swing again.
// A Controller is not safe for concurrent use.
type Controller struct {
	p    ControlParams
	step float64
	dir  int // direction of the last move: +1 up, -1 down, 0 none yet
	run  int // moves in a row in dir
}

// NewController returns a controller whose first step is p.Mult.
func NewController(p ControlParams) *Controller {
	return &Controller{p: p, step: p.Mult}
}

// Step returns the factor of the last move (p.Mult before the first). The
// next move may halve it (a change of direction) or double it (the fifth
// move the same way in a row).
func (c *Controller) Step() float64 { return c.step }

// minStep is the smallest factor the step shrinks to.
func (c *Controller) minStep() float64 { return 1 + (c.p.Mult-1)/8 }

// Next decides the rate after observation o. A hold ends a run of moves
// the same way: only moves in a row, not moves spread over holds near the
// limit, grow the step.
func (c *Controller) Next(o Observation) Decision {
	p := c.p
	hold := func(reason string) Decision {
		c.run = 0
		return Decision{o.Rate, reason}
	}
	switch {
	case !o.HaveP99:
		return hold(ReasonNoData)
	case o.P99Ms > p.TargetLatencyMs:
		if o.Rate <= p.MinRate {
			return hold(ReasonAtMin)
		}
		return Decision{math.Max(o.Rate/c.move(-1), p.MinRate), ReasonOverTarget}
	case o.P99Ms >= p.RaiseBelow*p.TargetLatencyMs:
		return hold(ReasonNearTarget)
	case o.ActualRate < p.Margin*o.Rate:
		return hold(ReasonLagging)
	case o.Rate >= p.MaxRate:
		return hold(ReasonAtMax)
	default:
		return Decision{math.Min(o.Rate*c.move(+1), p.MaxRate), ReasonUnderTarget}
	}
}

// move records a move in direction dir and returns its factor.
func (c *Controller) move(dir int) float64 {
	switch {
	case c.dir != 0 && dir != c.dir:
		c.step = math.Max(1+(c.step-1)/2, c.minStep())
		c.run = 0
	case c.run >= 4:
		c.step = math.Min(1+(c.step-1)*2, c.p.Mult)
		c.run = 0
	}
	c.dir = dir
	c.run++
	return c.step
}
