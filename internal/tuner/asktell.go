package tuner

import (
	"fmt"
	"math"
	"slices"

	"github.com/kafkatune/kafkatune/internal/knobs"
)

// Decision says why a trial was run, or that it failed.
type Decision string

// Decisions recorded per trial.
const (
	// DecisionStart: the first measurement, of the start setting.
	DecisionStart Decision = "start"
	// DecisionDesign: one of the settings spread over the grid at first.
	DecisionDesign Decision = "design"
	// DecisionExplore: the setting with the highest expected improvement.
	DecisionExplore Decision = "explore"
	// DecisionConfirm: the challenger measured again before it may become
	// the incumbent.
	DecisionConfirm Decision = "confirm"
	// DecisionIncumbent: the incumbent measured again, so that it is
	// compared on fresh data.
	DecisionIncumbent Decision = "incumbent"
	// DecisionFailed: the trial failed; the setting is not proposed again.
	DecisionFailed Decision = "failed"
)

// Outcome is the optimizer's reading of one trial.
type Outcome struct {
	// Score is the objective's value of this trial's measurement.
	Score float64
	// Decision is why the trial was run (or that it failed).
	Decision Decision
	// Reason explains the trial and any change of incumbent.
	Reason string
	// Best is the incumbent after this trial, and Changed is true when
	// this trial made it change.
	Best    knobs.Setting
	Changed bool
	// Kept is true when the trial's setting is the incumbent.
	Kept bool
}

// Next returns the setting to measure next, or false when the search has
// nothing left worth trying. Until Tell receives that measurement, Next
// returns the same setting again.
func (s *Search) Next() (knobs.Setting, bool) {
	if s.pending != nil {
		return *s.pending, true
	}
	set, role, ok := s.plan()
	if !ok {
		return knobs.Setting{}, false
	}
	s.pending, s.role = &set, role
	return set, true
}

// plan picks the next trial: the start, the initial design, the repeats
// a change of incumbent needs, then the best expected improvement.
func (s *Search) plan() (knobs.Setting, Decision, bool) {
	if !s.started {
		return s.cfg.Start, DecisionStart, true
	}
	for len(s.design) > 0 {
		d := s.design[0]
		s.design = s.design[1:]
		if !s.banned(d) && s.obs[d] == nil {
			return d, DecisionDesign, true
		}
	}
	if i, ok := s.challenger(); ok && s.inModel[i] != s.Best() {
		c := s.inModel[i]
		if len(s.obs[c].scores) < s.cfg.MinRepeats {
			return c, DecisionConfirm, true
		}
		if !s.incumbentReady() {
			return s.Best(), DecisionIncumbent, true
		}
	}
	return s.explore()
}

// incumbentReady reports whether the incumbent has enough recent
// measurements to be compared, or has failed so often that it has none.
func (s *Search) incumbentReady() bool {
	o := s.obs[s.Best()]
	if len(o.scores) == 0 {
		return o.fails >= s.cfg.MinRepeats
	}
	return len(o.scores) >= s.cfg.MinRepeats && s.trials-o.lastTrial <= s.cfg.RefreshTrials
}

// challenger returns the index (into inModel) of the measured setting
// with the best predicted score among those that never failed.
func (s *Search) challenger() (int, bool) {
	if s.model == nil {
		return 0, false
	}
	best, found := 0, false
	var bestMean float64
	for i, set := range s.inModel {
		if s.obs[set].fails > 0 && set != s.Best() {
			continue
		}
		if m := s.model.predictMean(s.model.row(i)); !found || m > bestMean {
			best, bestMean, found = i, m, true
		}
	}
	return best, found
}

// explore returns the grid setting with the highest expected improvement
// over the best predicted score of a measured setting. It computes the
// exact (and costlier) variance only for settings whose improvement could
// still beat the best found, judged by an upper bound of the variance.
func (s *Search) explore() (knobs.Setting, Decision, bool) {
	if s.model == nil {
		return s.Best(), DecisionIncumbent, true
	}
	fstar := math.Inf(-1)
	for i := range s.inModel {
		fstar = max(fstar, s.model.predictMean(s.model.row(i)))
	}
	xi := s.cfg.Explore * math.Abs(fstar)
	bounds := make([]float64, len(s.grid))
	top := -1
	for i, set := range s.grid {
		bounds[i] = -1
		if o := s.obs[set]; s.banned(set) || o != nil && o.fails > 0 {
			continue
		}
		ks := s.kc.grid[i]
		bounds[i] = expectedImprovement(s.model.predictMean(ks), s.model.varianceBound(ks), fstar, xi)
		if top < 0 || bounds[i] > bounds[top] {
			top = i
		}
	}
	bestEI, bestIdx := 0.0, -1
	exact := func(i int) {
		m, v, _ := s.model.predict(s.kc.grid[i])
		if ei := expectedImprovement(m, v, fstar, xi); ei > bestEI || ei == bestEI && i < bestIdx {
			bestEI, bestIdx = ei, i
		}
	}
	if top >= 0 {
		exact(top)
	}
	for i, b := range bounds {
		if b > bestEI && i != top {
			exact(i)
		}
	}
	if bestIdx < 0 {
		return knobs.Setting{}, "", false
	}
	return s.grid[bestIdx], DecisionExplore, true
}

// Tell records the measurement of setting, which must be the one Next
// returned, or the incumbent (an extra measurement, for example the
// driver's final check). It returns what the trial meant.
func (s *Search) Tell(setting knobs.Setting, m Measurement) (Outcome, error) {
	role := DecisionIncumbent
	switch {
	case s.pending != nil && *s.pending == setting:
		role, s.pending = s.role, nil
	case s.started && setting == s.Best():
	default:
		return Outcome{}, fmt.Errorf("tell %v: not the setting the search asked for", setting)
	}
	s.started = true
	s.trials++
	out := Outcome{Score: s.cfg.Objective.Score(m), Decision: role}
	s.record(setting, m, out.Score)
	if p := m.Problem(); p != nil {
		out.Decision, out.Reason = DecisionFailed, p.Error()
	}
	s.refit()
	if detail, ok := s.maybeAccept(); ok {
		out.Changed, out.Reason = true, detail
	}
	out.Best = s.Best()
	out.Kept = setting == out.Best
	return out, nil
}

func (s *Search) record(setting knobs.Setting, m Measurement, score float64) {
	o := s.obs[setting]
	if o == nil {
		o = &observations{}
		s.obs[setting] = o
		s.order = append(s.order, setting)
	}
	if !m.Valid() {
		o.fails++
		return
	}
	o.scores = append(o.scores, score)
	if len(o.scores) > keepSamples {
		o.scores = o.scores[len(o.scores)-keepSamples:]
	}
	o.lastTrial = s.trials
}

// hyperGrowth: the hyperparameters are chosen again when the number of
// fitted points has grown by this factor since the last choice.
const hyperGrowth = 1.2

// minFitPoints is how many fitted points the likelihood needs before it
// chooses the hyperparameters; below it they are the defaults.
const minFitPoints = 8

// refit fits the model to every setting with valid measurements that is
// not banned.
func (s *Search) refit() {
	var xs []point
	var ys []float64
	var counts []int
	s.inModel = s.inModel[:0]
	for _, set := range s.order {
		o := s.obs[set]
		if len(o.scores) == 0 || s.banned(set) {
			continue
		}
		xs = append(xs, s.toPoint(set))
		ys = append(ys, o.mean())
		counts = append(counts, len(o.scores))
		s.inModel = append(s.inModel, set)
	}
	s.model = nil
	if len(xs) == 0 {
		return
	}
	_, sd := meanSD(ys)
	floor := s.noiseFloor() / (sd * sd) // in standardized units
	if len(xs) >= minFitPoints && float64(len(xs)) >= hyperGrowth*float64(s.hyperAt) {
		s.hyper, s.hyperAt = chooseHyper(xs, ys, counts, floor), len(xs)
	}
	h := s.hyper
	h.noise = max(h.noise, floor)
	s.kc.update(h, xs, s.points)
	s.model = newGP(h, s.kc.data, ys, counts)
}

// Prior for the measurement noise floor: a relative noise of
// noisePriorRel, weighted as noisePriorDOF degrees of freedom.
const (
	noisePriorRel = 0.05
	noisePriorDOF = 2
)

// noiseFloor estimates the variance of one measurement (score units) from
// the repeats: the spread within each repeated setting, pooled, shrunk
// towards noisePriorRel of the mean score. The model's noise is never set
// below it, so that it cannot read noise as signal.
func (s *Search) noiseFloor() float64 {
	var ss, level float64
	dof, n := 0, 0
	for _, set := range s.inModel {
		o := s.obs[set]
		m := o.mean()
		level += m
		n++
		for _, v := range o.scores {
			ss += (v - m) * (v - m)
		}
		dof += len(o.scores) - 1
	}
	prior := noisePriorRel * level / float64(max(n, 1))
	return (noisePriorDOF*prior*prior + ss) / float64(noisePriorDOF+dof)
}

// maybeAccept makes the challenger the incumbent when the evidence is
// sufficient (see Search), and says why.
func (s *Search) maybeAccept() (string, bool) {
	ci, ok := s.challenger()
	if !ok {
		return "", false
	}
	c, inc := s.inModel[ci], s.Best()
	if c == inc || len(s.obs[c].scores) < s.cfg.MinRepeats || !s.incumbentReady() {
		return "", false
	}
	ii := slices.Index(s.inModel, inc)
	if ii < 0 {
		s.history = append(s.history, c)
		return fmt.Sprintf("new incumbent %v: %v has no usable measurements", c, inc), true
	}
	gain, sd := s.model.diff(ci, ii)
	base := s.model.predictMean(s.model.row(ii))
	if gain <= s.cfg.MinGain*math.Abs(base) || gain <= s.cfg.Confidence*sd {
		return "", false
	}
	s.history = append(s.history, c)
	return fmt.Sprintf("new incumbent %v: predicted %+.1f%% (sd %.1f%%) over %v",
		c, 100*gain/base, 100*sd/base, inc), true
}
