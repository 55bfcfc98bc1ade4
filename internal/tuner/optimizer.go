package tuner

import (
	"time"

	"github.com/kafkatune/kafkatune/internal/knobs"
)

// Optimizer is the ask/tell interface Run drives; Search and RandomSearch
// implement it.
type Optimizer interface {
	// Next returns the setting to measure next, or false when done.
	Next() (knobs.Setting, bool)
	// Tell records the measurement of the setting Next returned.
	Tell(knobs.Setting, Measurement) (Outcome, error)
	// Best returns the best verified setting so far.
	Best() knobs.Setting
	// BestScore returns the mean measured score of Best (0 if none).
	BestScore() float64
	// Ban keeps a setting out of the search until the given time.
	Ban(knobs.Setting, time.Time)
}

var (
	_ Optimizer = (*Search)(nil)
	_ Optimizer = (*RandomSearch)(nil)
)
