package tuner

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/kafkatune/kafkatune/internal/knobs"
)

func testConfig(seed uint64) Config {
	return Config{
		Bounds: knobs.DefaultLimits().Bounds(), Objective: Objective{TargetP99Ms: DefaultSurfaceTarget},
		Start: knobs.Start(), Seed: seed,
	}
}

// drive runs opt against ev for n trials and returns the settings tried.
func drive(t *testing.T, opt Optimizer, ev Evaluator, n int) []knobs.Setting {
	t.Helper()
	var tried []knobs.Setting
	for range n {
		s, ok := opt.Next()
		if !ok {
			break
		}
		m, err := ev.Evaluate(context.Background(), s)
		if err != nil {
			m.Err = err
		}
		if _, err := opt.Tell(s, m); err != nil {
			t.Fatalf("Tell(%v): %v", s, err)
		}
		tried = append(tried, s)
	}
	return tried
}

func TestSearchDeterministicPerSeed(t *testing.T) {
	run := func(seed uint64) []knobs.Setting {
		s, err := NewSearch(testConfig(seed))
		if err != nil {
			t.Fatal(err)
		}
		return drive(t, s, NewSurface(knobs.DefaultLimits(), 50, 0.07, seed), 30)
	}
	a, b, c := run(7), run(7), run(8)
	if strings.Join(settingsStrings(a), ";") != strings.Join(settingsStrings(b), ";") {
		t.Errorf("seed 7 gave two different trial sequences")
	}
	if strings.Join(settingsStrings(a), ";") == strings.Join(settingsStrings(c), ";") {
		t.Errorf("seeds 7 and 8 gave the same trial sequence")
	}
	if a[0] != knobs.Start() {
		t.Errorf("first trial = %v, want the start %v", a[0], knobs.Start())
	}
}

func settingsStrings(ss []knobs.Setting) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = s.String()
	}
	return out
}

func TestSearchStaysInBoundsAndImproves(t *testing.T) {
	cfg := testConfig(1)
	obj := cfg.Objective
	ref := NewSurface(knobs.DefaultLimits(), 50, 0, 0)
	for seed := uint64(1); seed <= 5; seed++ {
		cfg.Seed = seed
		s, err := NewSearch(cfg)
		if err != nil {
			t.Fatal(err)
		}
		for _, set := range drive(t, s, NewSurface(knobs.DefaultLimits(), 50, 0.07, seed), 40) {
			if err := cfg.Bounds.Check(set); err != nil {
				t.Fatalf("seed %d proposed %v: %v", seed, set, err)
			}
		}
		if start, end := ref.TrueScore(obj, knobs.Start()), ref.TrueScore(obj, s.Best()); end <= start {
			t.Errorf("seed %d ended on %v scoring %.0f, not above the start's %.0f", seed, s.Best(), end, start)
		}
	}
}

func TestSearchKeepsTheBestStart(t *testing.T) {
	// The start is the best setting; every other one scores 10% less.
	// Measurement noise (7%) alone must not make the search move.
	for seed := uint64(1); seed <= 8; seed++ {
		t.Run(fmt.Sprintf("seed_%d", seed), func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewPCG(seed, 1))
			worse := EvaluatorFunc(func(_ context.Context, s knobs.Setting) (Measurement, error) {
				base := 900.0
				if s == knobs.Start() {
					base = 1000
				}
				return Measurement{ThroughputMsgs: base * (1 + 0.07*rng.NormFloat64()), P99Ms: 10, Verified: true}, nil
			})
			s, err := NewSearch(testConfig(seed))
			if err != nil {
				t.Fatal(err)
			}
			drive(t, s, worse, 50)
			if s.Best() != knobs.Start() {
				t.Errorf("Best() = %v, a worse setting than the start", s.Best())
			}
		})
	}
}

func TestSearchHonoursBans(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cfg := testConfig(3)
	cfg.Now = func() time.Time { return now }
	s, err := NewSearch(cfg)
	if err != nil {
		t.Fatal(err)
	}
	sf := NewSurface(knobs.DefaultLimits(), 50, 0.07, 3)
	drive(t, s, sf, 25)
	first := s.Best()
	if first == knobs.Start() {
		t.Fatalf("no improvement in 25 trials; the ban test needs one")
	}

	s.Ban(first, now.Add(time.Hour))
	if s.Best() == first {
		t.Fatalf("Best() is still the banned %v", first)
	}
	for _, set := range drive(t, s, sf, 40) {
		if set == first {
			t.Fatalf("banned setting %v proposed while banned", first)
		}
	}
	if s.Best() == first {
		t.Errorf("banned setting %v became the incumbent again", first)
	}

	now = now.Add(2 * time.Hour) // the ban has expired
	if s.banned(first) {
		t.Errorf("ban still in force after it expired")
	}
}

func TestSearchDoesNotRetryFailedSettings(t *testing.T) {
	bad := knobs.Setting{}
	calls := map[knobs.Setting]int{}
	sf := NewSurface(knobs.DefaultLimits(), 50, 0.07, 5)
	ev := EvaluatorFunc(func(ctx context.Context, s knobs.Setting) (Measurement, error) {
		calls[s]++
		if s.IOThreads >= 12 { // this part of the grid never comes up
			bad = s
			return Measurement{}, errors.New("broker not ready")
		}
		return sf.Evaluate(ctx, s)
	})
	s, err := NewSearch(testConfig(5))
	if err != nil {
		t.Fatal(err)
	}
	drive(t, s, ev, 50)
	for set, n := range calls {
		if set.IOThreads >= 12 && n > 1 {
			t.Errorf("failed setting %v tried %d times", set, n)
		}
	}
	if s.Best().IOThreads >= 12 {
		t.Errorf("incumbent %v is a failing setting (last failure %v)", s.Best(), bad)
	}
}

func TestSearchTellContract(t *testing.T) {
	s, err := NewSearch(testConfig(1))
	if err != nil {
		t.Fatal(err)
	}
	other := knobs.Setting{HeapMB: 512, NetworkThreads: 2, IOThreads: 4}
	if _, err := s.Tell(other, Measurement{}); err == nil {
		t.Error("Tell before Next succeeded, want error")
	}
	first, _ := s.Next()
	again, _ := s.Next()
	if first != again {
		t.Errorf("Next twice without Tell gave %v then %v", first, again)
	}
	out, err := s.Tell(first, Measurement{ThroughputMsgs: 500, P99Ms: 20, Verified: true})
	if err != nil || out.Decision != DecisionStart || !out.Kept || out.Score != 500 {
		t.Errorf("Tell(start) = %+v, %v; want a kept start scoring 500", out, err)
	}
	if _, err := s.Tell(other, Measurement{}); err == nil {
		t.Error("Tell of a setting not asked for succeeded, want error")
	}
	if out, err := s.Tell(first, Measurement{ThroughputMsgs: 510, P99Ms: 20, Verified: true}); err != nil ||
		out.Decision != DecisionIncumbent {
		t.Errorf("extra Tell of the incumbent = %+v, %v; want an incumbent re-measure", out, err)
	}
}

func TestConfigValidate(t *testing.T) {
	good := testConfig(1)
	tests := []struct {
		name    string
		mutate  func(*Config)
		wantErr string
	}{
		{"empty bounds", func(c *Config) { c.Bounds = knobs.Bounds{} }, "bounds are empty"},
		{"start out of bounds", func(c *Config) { c.Start.IOThreads = 40 }, "num.io.threads 40"},
		{"no target", func(c *Config) { c.Objective = Objective{} }, "target p99"},
		{"min gain", func(c *Config) { c.MinGain = 1.5 }, "min gain"},
		{"confidence", func(c *Config) { c.Confidence = -1 }, "confidence"},
		{"repeats", func(c *Config) { c.MinRepeats = -1 }, "min repeats"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := good
			tt.mutate(&c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Validate() = %v, want it to contain %q", err, tt.wantErr)
			}
			if _, err := NewSearch(c); err == nil {
				t.Errorf("NewSearch accepted an invalid config")
			}
		})
	}
	if err := good.Validate(); err != nil {
		t.Errorf("Validate(good) = %v", err)
	}
}
