package tuner

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"slices"

	"golang.org/x/sync/errgroup"

	"github.com/kafkatune/kafkatune/internal/knobs"
)

// CompareConfig configures Compare: the pattern search against random
// search on the synthetic Surface, over several seeds, at the same budget.
type CompareConfig struct {
	Limits      knobs.Limits
	TargetP99Ms float64
	Noise       float64
	// Seeds is the number of seeds (1..Seeds); each seed drives both the
	// optimizer and the surface's noise.
	Seeds int
	// Budget is the number of trials each run may use.
	Budget int
	// Threshold is the share of the grid best a run must reach (0.95).
	Threshold float64
}

// DefaultCompareConfig returns the configuration docs/tuner.md reports.
func DefaultCompareConfig() CompareConfig {
	return CompareConfig{
		Limits: knobs.DefaultLimits(), TargetP99Ms: DefaultSurfaceTarget,
		Noise: DefaultSurfaceNoise, Seeds: 20, Budget: 100, Threshold: 0.95,
	}
}

// Trace is one run of one optimizer.
type Trace struct {
	Seed uint64
	// ReachedAt is the first trial after which the incumbent's noise-free
	// score was at least Threshold x the grid best; 0 if never.
	ReachedAt int
	// Trials is how many trials the run used (fewer than the budget when
	// the optimizer finished early).
	Trials int
	// Final is the setting the run ended on and FinalRel its noise-free
	// score relative to the grid best.
	Final    knobs.Setting
	FinalRel float64
}

// Summary aggregates the traces of one optimizer over the seeds. Runs
// that never reached the threshold count as +Inf in the quantiles.
type Summary struct {
	Name           string
	Traces         []Trace
	Reached        int
	Q1, Median, Q3 float64
	FinalRelMin    float64
	FinalRelMedian float64
	MeanTrialsUsed float64
	// NeverBelowStart is true when no run ended on a setting whose
	// noise-free score is below the start's.
	NeverBelowStart bool
}

// CompareResult is the outcome of Compare.
type CompareResult struct {
	Config        CompareConfig
	GridSize      int
	GridBest      knobs.Setting
	GridBestScore float64
	// Within is how many grid settings score at least Threshold x best.
	Within   int
	StartRel float64
	Ours     Summary
	Random   Summary
}

// Compare runs the pattern search and random search for every seed and
// summarizes how many trials each needed to reach the threshold.
func Compare(cfg CompareConfig) (CompareResult, error) {
	obj := Objective{TargetP99Ms: cfg.TargetP99Ms}
	bounds := cfg.Limits.Bounds()
	ref := NewSurface(cfg.Limits, cfg.TargetP99Ms, 0, 0)
	best, bestScore := ref.GridBest(obj, bounds)
	res := CompareResult{
		Config: cfg, GridSize: bounds.Size(), GridBest: best, GridBestScore: bestScore,
		StartRel: ref.TrueScore(obj, knobs.Start()) / bestScore,
	}
	for _, s := range bounds.Grid() {
		if ref.TrueScore(obj, s) >= cfg.Threshold*bestScore {
			res.Within++
		}
	}
	kinds := []struct {
		name string
		make func(Config) (Optimizer, error)
		out  *Summary
	}{
		{"kafkatune search", func(c Config) (Optimizer, error) { return NewSearch(c) }, &res.Ours},
		{"random search", func(c Config) (Optimizer, error) { return NewRandomSearch(c) }, &res.Random},
	}
	for _, k := range kinds {
		traces, err := runSeeds(cfg, bounds, obj, bestScore, k.make)
		if err != nil {
			return CompareResult{}, fmt.Errorf("%s: %w", k.name, err)
		}
		*k.out = summarize(k.name, traces, res.StartRel)
	}
	return res, nil
}

// runSeeds runs one optimizer for every seed, in parallel (the runs are
// independent), and returns the traces in seed order.
func runSeeds(cfg CompareConfig, bounds knobs.Bounds, obj Objective, bestScore float64,
	newOpt func(Config) (Optimizer, error),
) ([]Trace, error) {
	traces := make([]Trace, cfg.Seeds)
	var g errgroup.Group
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i := range traces {
		seed := uint64(i + 1)
		g.Go(func() error {
			opt, err := newOpt(Config{Bounds: bounds, Objective: obj, Start: knobs.Start(), Seed: seed})
			if err != nil {
				return err
			}
			sf := NewSurface(cfg.Limits, cfg.TargetP99Ms, cfg.Noise, seed)
			tr, err := runTrace(opt, sf, obj, cfg.Budget, cfg.Threshold*bestScore)
			if err != nil {
				return fmt.Errorf("seed %d: %w", seed, err)
			}
			tr.Seed, tr.FinalRel = seed, sf.TrueScore(obj, tr.Final)/bestScore
			traces[i] = tr
			return nil
		})
	}
	return traces, g.Wait()
}

// runTrace drives opt against sf for up to budget trials and notes when
// the incumbent's noise-free score first reached goal.
func runTrace(opt Optimizer, sf *Surface, obj Objective, budget int, goal float64) (Trace, error) {
	var tr Trace
	for t := 1; t <= budget; t++ {
		s, ok := opt.Next()
		if !ok {
			break
		}
		m, err := sf.Evaluate(context.Background(), s)
		if err != nil {
			return tr, err
		}
		if _, err := opt.Tell(s, m); err != nil {
			return tr, err
		}
		tr.Trials = t
		if tr.ReachedAt == 0 && sf.TrueScore(obj, opt.Best()) >= goal {
			tr.ReachedAt = t
		}
	}
	tr.Final = opt.Best()
	return tr, nil
}

func summarize(name string, traces []Trace, startRel float64) Summary {
	sum := Summary{Name: name, Traces: traces, FinalRelMin: math.Inf(1), NeverBelowStart: true}
	var reached, finals []float64
	for _, tr := range traces {
		v := math.Inf(1)
		if tr.ReachedAt > 0 {
			v = float64(tr.ReachedAt)
			sum.Reached++
		}
		reached = append(reached, v)
		finals = append(finals, tr.FinalRel)
		sum.FinalRelMin = min(sum.FinalRelMin, tr.FinalRel)
		sum.MeanTrialsUsed += float64(tr.Trials) / float64(len(traces))
		if tr.FinalRel < startRel {
			sum.NeverBelowStart = false
		}
	}
	sum.Q1, sum.Median, sum.Q3 = quantile(reached, 0.25), quantile(reached, 0.5), quantile(reached, 0.75)
	sum.FinalRelMedian = quantile(finals, 0.5)
	return sum
}

// quantile returns the p-quantile of xs by linear interpolation between
// order statistics; +Inf values (runs that never got there) sort last.
func quantile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	h := p * float64(len(s)-1)
	lo := int(math.Floor(h))
	frac := h - float64(lo)
	if frac == 0 || lo+1 >= len(s) {
		return s[lo]
	}
	if math.IsInf(s[lo+1], 1) {
		return math.Inf(1)
	}
	return s[lo] + frac*(s[lo+1]-s[lo])
}
