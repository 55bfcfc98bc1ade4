package tuner

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/kafkatune/kafkatune/internal/knobs"
)

// RandomSearch is the baseline the pattern search is compared with: after
// measuring the start it measures grid settings in a random order without
// repeats, and keeps the one with the best single measurement. It honours
// bans like Search.
type RandomSearch struct {
	obj   Objective
	start knobs.Setting
	now   func() time.Time
	order []knobs.Setting
	pos   int

	scores  map[knobs.Setting]float64
	bans    map[knobs.Setting]time.Time
	best    knobs.Setting
	started bool
	pending *knobs.Setting
}

// NewRandomSearch returns a random search over cfg.Bounds starting from
// cfg.Start, shuffled by cfg.Seed.
func NewRandomSearch(cfg Config) (*RandomSearch, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("tuner config: %w", err)
	}
	cfg = cfg.withDefaults()
	order := cfg.Bounds.Grid()
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x7a11d))
	rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	return &RandomSearch{
		obj: cfg.Objective, start: cfg.Start, now: cfg.Now, order: order,
		scores: map[knobs.Setting]float64{}, bans: map[knobs.Setting]time.Time{},
		best: cfg.Start,
	}, nil
}

// Next returns the start first, then the next grid setting not yet
// measured and not banned.
func (r *RandomSearch) Next() (knobs.Setting, bool) {
	if r.pending != nil {
		return *r.pending, true
	}
	next := r.start
	if r.started {
		for {
			if r.pos >= len(r.order) {
				return knobs.Setting{}, false
			}
			next = r.order[r.pos]
			r.pos++
			if _, seen := r.scores[next]; !seen && !r.banned(next) {
				break
			}
		}
	}
	r.pending = &next
	return next, true
}

// Tell records the measurement of the setting Next returned (or of the
// incumbent again, which changes nothing).
func (r *RandomSearch) Tell(s knobs.Setting, m Measurement) (Outcome, error) {
	if r.pending == nil || *r.pending != s {
		if !r.started || s != r.best {
			return Outcome{}, fmt.Errorf("tell %v: not the setting the search asked for", s)
		}
		return Outcome{Score: r.obj.Score(m), Decision: DecisionIncumbent, Best: r.best, Kept: true}, nil
	}
	r.pending = nil
	score := r.obj.Score(m)
	r.scores[s] = score
	out := Outcome{Score: score, Decision: DecisionExplore}
	switch {
	case !r.started:
		r.started = true
		out.Decision = DecisionStart
	case m.Valid() && !r.banned(s) && score > r.scores[r.best]:
		r.best = s
		out.Changed = true
	}
	if !m.Valid() {
		out.Decision = DecisionFailed
	}
	out.Best = r.best
	out.Kept = s == r.best
	return out, nil
}

// Best returns the setting with the best single measurement so far.
func (r *RandomSearch) Best() knobs.Setting { return r.best }

// BestScore returns the best single measured score (0 before any).
func (r *RandomSearch) BestScore() float64 { return r.scores[r.best] }

// Ban keeps s out of the search until the given time; if s was the best,
// the best measured setting that is not banned takes its place (the start
// at the latest).
func (r *RandomSearch) Ban(s knobs.Setting, until time.Time) {
	r.bans[s] = until
	if s != r.best {
		return
	}
	r.best = r.start
	for set, score := range r.scores {
		if !r.banned(set) && score > r.scores[r.best] {
			r.best = set
		}
	}
}

func (r *RandomSearch) banned(s knobs.Setting) bool {
	until, ok := r.bans[s]
	return ok && r.now().Before(until)
}
