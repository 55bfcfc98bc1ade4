package tuner

import (
	"testing"
)

// testCompareConfig is DefaultCompareConfig made lighter for the race
// detector: fewer seeds and a smaller budget.
func testCompareConfig() CompareConfig {
	cfg := DefaultCompareConfig()
	cfg.Seeds, cfg.Budget = 12, 60
	return cfg
}

// TestSearchVersusRandom prints the comparison table (see docs/tuner.md)
// and checks the facts that must hold whatever the figures: the search
// needs fewer trials than random search in the median, reaches the goal
// within a quarter of the grid, and never ends below the start.
func TestSearchVersusRandom(t *testing.T) {
	res, err := Compare(testCompareConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", res.Markdown())
	if !(res.Ours.Median < res.Random.Median) {
		t.Errorf("median trials to 95%%: ours %v, random %v; want ours lower", res.Ours.Median, res.Random.Median)
	}
	if !(res.Ours.Median <= float64(res.GridSize)/4) {
		t.Errorf("median trials to 95%% = %v, want at most a quarter of the %d-setting grid",
			res.Ours.Median, res.GridSize)
	}
	if !res.Ours.NeverBelowStart {
		t.Errorf("a run ended below the start: %+v", res.Ours.Traces)
	}
	for _, tr := range res.Ours.Traces {
		if tr.Trials > res.Config.Budget {
			t.Errorf("seed %d used %d trials, budget %d", tr.Seed, tr.Trials, res.Config.Budget)
		}
	}
}

func TestQuantile(t *testing.T) {
	inf := func() float64 { var z float64; return 1 / z }()
	tests := []struct {
		xs   []float64
		p    float64
		want float64
	}{
		{[]float64{3, 1, 2}, 0.5, 2},
		{[]float64{1, 2, 3, 4}, 0.5, 2.5},
		{[]float64{1, 2, 3, 4}, 0.25, 1.75},
		{[]float64{1, 2, inf, inf}, 0.5, inf},
		{[]float64{1, 2, 3, inf}, 0.5, 2.5},
		{[]float64{1, inf}, 0, 1},
	}
	for _, tt := range tests {
		if got := quantile(tt.xs, tt.p); got != tt.want {
			t.Errorf("quantile(%v, %v) = %v, want %v", tt.xs, tt.p, got, tt.want)
		}
	}
}
