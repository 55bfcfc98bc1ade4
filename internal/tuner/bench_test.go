package tuner

import (
	"testing"

	"github.com/kafkatune/kafkatune/internal/knobs"
)

// BenchmarkSearchRun measures one full run of the search (the optimizer's
// own cost, not a broker's) and reports the trials it needed to reach 95%
// of the grid best.
func BenchmarkSearchRun(b *testing.B) {
	cfg := DefaultCompareConfig()
	obj := Objective{TargetP99Ms: cfg.TargetP99Ms}
	_, best := NewSurface(cfg.Limits, cfg.TargetP99Ms, 0, 0).GridBest(obj, cfg.Limits.Bounds())
	var reached, runs float64
	for i := 0; b.Loop(); i++ {
		seed := uint64(i%cfg.Seeds + 1)
		s, err := NewSearch(Config{Bounds: cfg.Limits.Bounds(), Objective: obj, Start: knobs.Start(), Seed: seed})
		if err != nil {
			b.Fatal(err)
		}
		sf := NewSurface(cfg.Limits, cfg.TargetP99Ms, cfg.Noise, seed)
		tr, err := runTrace(s, sf, obj, cfg.Budget, cfg.Threshold*best)
		if err != nil {
			b.Fatal(err)
		}
		if tr.ReachedAt > 0 {
			reached += float64(tr.ReachedAt)
			runs++
		}
	}
	if runs > 0 {
		b.ReportMetric(reached/runs, "trials-to-95%")
	}
}

// BenchmarkSearchVersusRandom runs the full comparison that docs/tuner.md
// reports (DefaultCompareConfig) and logs its table.
func BenchmarkSearchVersusRandom(b *testing.B) {
	var res CompareResult
	for b.Loop() {
		var err error
		if res, err = Compare(DefaultCompareConfig()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(res.Ours.Median, "ours-median-trials")
	b.ReportMetric(res.Random.Median, "random-median-trials")
	b.Logf("\n%s", res.Markdown())
}
