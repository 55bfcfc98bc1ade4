package tuner

import (
	"errors"
	"fmt"
	"time"

	"github.com/kafkatune/kafkatune/internal/knobs"
)

// Defaults of the search.
const (
	DefaultMinGain       = 0.02
	DefaultConfidence    = 2.0
	DefaultMinRepeats    = 2
	DefaultRefreshTrials = 10
	DefaultInitialDesign = 4
	DefaultExplore       = 0.05
)

// Config configures a Search (and the RandomSearch baseline, which uses
// Bounds, Objective, Start, Seed and Now only). Zero values take the
// defaults.
type Config struct {
	// Bounds are the allowed values; the search stays on their grid.
	Bounds knobs.Bounds
	// Objective scores measurements.
	Objective Objective
	// Start is the broker's setting when the search begins. It is measured
	// first and is the first incumbent.
	Start knobs.Setting
	// Seed makes the search deterministic: the same seed and the same
	// measurements give the same trials.
	Seed uint64

	// MinGain is the smallest relative improvement, predicted, that makes
	// a new incumbent (0.02).
	MinGain float64
	// Confidence is how many standard deviations of the predicted
	// difference the improvement must exceed (2.0).
	Confidence float64
	// MinRepeats is how many measurements both the challenger and the
	// incumbent need before the incumbent changes (2).
	MinRepeats int
	// RefreshTrials: the incumbent's newest measurement may be at most this
	// many trials old when the incumbent changes, else it is measured
	// again first (10). This guards against a broker that drifts.
	RefreshTrials int
	// InitialDesign is how many settings, spread over the grid by a
	// seeded Latin hypercube, are measured after the start (4; negative
	// for none).
	InitialDesign int
	// Explore is the expected-improvement margin, as a share of the best
	// predicted score (0.05): larger explores more.
	Explore float64
	// Now is the clock bans are checked against (time.Now).
	Now func() time.Time
}

func (c Config) withDefaults() Config {
	if c.MinGain == 0 {
		c.MinGain = DefaultMinGain
	}
	if c.Confidence == 0 {
		c.Confidence = DefaultConfidence
	}
	if c.MinRepeats == 0 {
		c.MinRepeats = DefaultMinRepeats
	}
	if c.RefreshTrials == 0 {
		c.RefreshTrials = DefaultRefreshTrials
	}
	if c.InitialDesign == 0 {
		c.InitialDesign = DefaultInitialDesign
	}
	if c.Explore == 0 {
		c.Explore = DefaultExplore
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Validate reports a configuration the search cannot run with. It checks
// the configuration as given, with zero values standing for defaults.
func (c Config) Validate() error {
	c = c.withDefaults()
	if c.Bounds.HeapMB.Step <= 0 || c.Bounds.Size() == 0 {
		return errors.New("bounds are empty: derive them with knobs.Limits.Bounds")
	}
	if err := c.Bounds.Check(c.Start); err != nil {
		return fmt.Errorf("start setting: %w", err)
	}
	if err := c.Objective.Validate(); err != nil {
		return fmt.Errorf("objective: %w", err)
	}
	switch {
	case c.MinGain < 0 || c.MinGain >= 1:
		return fmt.Errorf("min gain %v must be in [0, 1)", c.MinGain)
	case c.Confidence < 0:
		return fmt.Errorf("confidence %v must not be negative", c.Confidence)
	case c.MinRepeats < 1:
		return fmt.Errorf("min repeats %d must be at least 1", c.MinRepeats)
	case c.RefreshTrials < 1:
		return fmt.Errorf("refresh trials %d must be at least 1", c.RefreshTrials)
	case c.Explore < 0:
		return fmt.Errorf("explore %v must not be negative", c.Explore)
	}
	return nil
}
