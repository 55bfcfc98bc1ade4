package tuner

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/kafkatune/kafkatune/internal/knobs"
)

// keepSamples bounds the measurements remembered per setting, so that a
// broker whose behaviour drifts over a long run is judged on recent data.
const keepSamples = 8

// Search is kafkatune's optimizer: Bayesian optimization over the knob
// grid with a Gaussian-process model of the score, made noise-aware and
// conservative about the setting it keeps.
//
// It measures the start first (the first incumbent), then a few settings
// spread over the grid. From then on each trial goes where the expected
// improvement over the best predicted score is highest, given a GP fitted
// to every measurement so far (knobs in log scale, so doubling a knob is
// the same step anywhere; repeats average out noise, and nearby settings
// inform each other). The incumbent changes only on evidence: the setting
// with the best predicted score (the challenger) must have been measured
// at least MinRepeats times, the incumbent too and recently, and the
// predicted gain must exceed both MinGain and Confidence standard
// deviations of the predicted difference. Trials that repeat the
// challenger or the incumbent for that purpose come before new ones.
//
// Search has an ask/tell API: Next says what to measure, Tell gives it the
// result. It is deterministic for a given Seed and measurements, and not
// safe for concurrent use.
type Search struct {
	cfg    Config
	grid   []knobs.Setting
	points []point
	design []knobs.Setting

	obs     map[knobs.Setting]*observations
	order   []knobs.Setting // settings in order of first measurement
	bans    map[knobs.Setting]time.Time
	history []knobs.Setting // incumbents in order; history[0] is the start
	hyper   hyper
	hyperAt int // number of fitted points when hyper was chosen
	kc      kernelCache
	model   *gp
	inModel []knobs.Setting // the settings model was fitted to, in order

	trials  int
	started bool
	pending *knobs.Setting
	role    Decision // why the pending setting is measured
}

// observations are the measurements of one setting.
type observations struct {
	scores    []float64 // valid scores, newest last, at most keepSamples
	lastTrial int       // trial number of the newest valid score
	fails     int
}

func (o *observations) mean() float64 {
	var s float64
	for _, v := range o.scores {
		s += v
	}
	return s / float64(len(o.scores))
}

// NewSearch returns a search configured by cfg.
func NewSearch(cfg Config) (*Search, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("tuner config: %w", err)
	}
	cfg = cfg.withDefaults()
	s := &Search{
		cfg:     cfg,
		grid:    cfg.Bounds.Grid(),
		obs:     map[knobs.Setting]*observations{},
		bans:    map[knobs.Setting]time.Time{},
		history: []knobs.Setting{cfg.Start},
		hyper:   defaultHyper,
	}
	s.points = make([]point, len(s.grid))
	for i, g := range s.grid {
		s.points[i] = s.toPoint(g)
	}
	s.design = latinHypercube(cfg.Bounds, cfg.InitialDesign, rand.New(rand.NewPCG(cfg.Seed, 0x5eed)))
	return s, nil
}

// Best returns the incumbent: the best setting verified so far (the start
// until something beats it).
func (s *Search) Best() knobs.Setting { return s.history[len(s.history)-1] }

// BestScore returns the mean measured score of the incumbent, or 0 when
// it has no valid measurement.
func (s *Search) BestScore() float64 {
	if o := s.obs[s.Best()]; o != nil && len(o.scores) > 0 {
		return o.mean()
	}
	return 0
}

// Trials returns how many measurements Tell has received.
func (s *Search) Trials() int { return s.trials }

// Ban keeps setting out of the search until the given time: it is not
// proposed, its measurements are left out of the model, and if it is the
// incumbent the search falls back to the latest earlier incumbent that is
// not banned (the start at the latest). A driver that rolls back a change
// bans it and then applies Best.
func (s *Search) Ban(setting knobs.Setting, until time.Time) {
	s.bans[setting] = until
	for len(s.history) > 1 && s.banned(s.Best()) {
		s.history = s.history[:len(s.history)-1]
	}
	s.refit()
}

func (s *Search) banned(setting knobs.Setting) bool {
	until, ok := s.bans[setting]
	return ok && s.cfg.Now().Before(until)
}

// toPoint maps a setting into the unit cube, log scale per knob.
func (s *Search) toPoint(set knobs.Setting) point {
	b := s.cfg.Bounds
	return point{
		unitLog(set.HeapMB, b.HeapMB),
		unitLog(set.NetworkThreads, b.NetworkThreads),
		unitLog(set.IOThreads, b.IOThreads),
	}
}

func unitLog(v int, r knobs.Range) float64 {
	if r.Max <= r.Min {
		return 0
	}
	return math.Log(float64(v)/float64(r.Min)) / math.Log(float64(r.Max)/float64(r.Min))
}

// latinHypercube returns n grid settings spread over the unit cube (log
// scale): one per stratum of each knob, strata paired at random.
func latinHypercube(b knobs.Bounds, n int, rng *rand.Rand) []knobs.Setting {
	if n <= 0 {
		return nil
	}
	ranges := [numDims]knobs.Range{b.HeapMB, b.NetworkThreads, b.IOThreads}
	var perms [numDims][]int
	for d := range perms {
		perms[d] = rng.Perm(n)
	}
	out := make([]knobs.Setting, n)
	for i := range out {
		var v [numDims]int
		for d, r := range ranges {
			u := (float64(perms[d][i]) + rng.Float64()) / float64(n)
			x := float64(r.Min) * math.Pow(float64(r.Max)/float64(r.Min), u)
			v[d] = r.Snap(int(math.Round(x)))
		}
		out[i] = knobs.Setting{HeapMB: v[dimHeap], NetworkThreads: v[dimNetwork], IOThreads: v[dimIO]}
	}
	return out
}
