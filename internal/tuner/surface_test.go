package tuner

import (
	"context"
	"math"
	"testing"

	"github.com/kafkatune/kafkatune/internal/knobs"
)

func TestSurfaceShape(t *testing.T) {
	sf := NewSurface(knobs.DefaultLimits(), DefaultSurfaceTarget, 0, 1)
	obj := Objective{TargetP99Ms: DefaultSurfaceTarget}
	at := func(h, n, io int) float64 {
		return sf.TrueScore(obj, knobs.Setting{HeapMB: h, NetworkThreads: n, IOThreads: io})
	}
	best, bestScore := sf.GridBest(obj, knobs.DefaultLimits().Bounds())
	t.Logf("grid best %v: %.0f msg/s", best, bestScore)

	checks := []struct {
		name string
		ok   bool
	}{
		{"start is far below the best", at(256, 1, 2) < 0.3*bestScore},
		{"more io threads help at first", at(1024, 4, 1) < at(1024, 4, 3)},
		{"too many io threads contend", at(1024, 4, 16) < 0.7*bestScore},
		{"more network threads help at first", at(1024, 1, 6) < at(1024, 3, 6)},
		{"too many network threads contend", at(1024, 8, 6) < 0.8*bestScore},
		{"a tiny heap is a disaster", at(128, 4, 6) < 0.1*bestScore},
		{"a huge heap loses a little", at(2048, 4, 6) < bestScore && at(2048, 4, 6) > 0.85*bestScore},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("surface shape: %s does not hold", c.name)
		}
	}
	if _, p99 := sf.True(knobs.Setting{HeapMB: 128, NetworkThreads: 4, IOThreads: 6}); p99 <= DefaultSurfaceTarget {
		t.Errorf("p99 at 128 MiB = %.1f ms, want over the %v ms target", p99, DefaultSurfaceTarget)
	}
}

func TestSurfaceNoise(t *testing.T) {
	s := knobs.Setting{HeapMB: 1024, NetworkThreads: 4, IOThreads: 6}
	a := NewSurface(knobs.DefaultLimits(), 50, 0.07, 3)
	b := NewSurface(knobs.DefaultLimits(), 50, 0.07, 3)
	trueT, _ := a.True(s)
	var sum, sumSq float64
	const n = 2000
	for range n {
		ma, _ := a.Evaluate(context.Background(), s)
		mb, _ := b.Evaluate(context.Background(), s)
		if ma != mb {
			t.Fatalf("same seed gave %+v and %+v", ma, mb)
		}
		r := ma.ThroughputMsgs/trueT - 1
		sum += r
		sumSq += r * r
	}
	sd := math.Sqrt(sumSq/n - (sum/n)*(sum/n))
	if math.Abs(sd-0.07) > 0.01 {
		t.Errorf("relative noise sd = %.3f, want about 0.07", sd)
	}
}
