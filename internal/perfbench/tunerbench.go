package perfbench

import (
	"errors"
	"fmt"
	"time"

	"github.com/kafkatune/kafkatune/internal/knobs"
	"github.com/kafkatune/kafkatune/internal/tuner"
)

// TunerResult is the tuner section: the comparison on the synthetic
// surface and, when a ledger was given, a real tuning run.
type TunerResult struct {
	Compare tuner.CompareResult
	Seconds float64
	Ledger  *LedgerSummary
}

// TargetsMet reports the two tuner targets: our median trials to
// 95% of the grid best at most a quarter of the grid, and fewer than
// random search's median.
func (t TunerResult) TargetsMet() (quarter, beatsRandom bool) {
	c := t.Compare
	return c.Ours.Median <= float64(c.GridSize/4), c.Ours.Median < c.Random.Median
}

// LedgerSummary is the last run of a tuner ledger: its first trial, its
// highest-scoring verified trial, and the means of the start's setting and
// of the setting the run ended on.
type LedgerSummary struct {
	Path   string
	Run    string
	Trials int
	First  tuner.Record
	// Best is the verified trial with the highest score; HaveBest is
	// false when no trial was verified.
	Best     tuner.Record
	HaveBest bool
	// FinalIncumbent is the incumbent after the run's last trial.
	FinalIncumbent string
	// Start and End average the verified trials of the first trial's
	// setting and of the final incumbent: a single best trial is the
	// luckiest measurement, the mean is what the search decided on.
	Start, End SettingMean
}

// SettingMean averages the verified, error-free trials of one setting.
type SettingMean struct {
	Setting string
	// Trials are the trial numbers averaged; empty when none was.
	Trials                   []int
	Throughput, P99Ms, Score float64
}

func (m *SettingMean) add(r tuner.Record) {
	n := float64(len(m.Trials))
	m.Trials = append(m.Trials, r.Trial)
	m.Throughput = (m.Throughput*n + r.Throughput) / (n + 1)
	m.P99Ms = (m.P99Ms*n + r.P99Ms) / (n + 1)
	m.Score = (m.Score*n + r.Score) / (n + 1)
}

func runCompare(cfg tuner.CompareConfig) (TunerResult, error) {
	start := time.Now()
	res, err := tuner.Compare(cfg)
	if err != nil {
		return TunerResult{}, fmt.Errorf("tuner comparison: %w", err)
	}
	return TunerResult{Compare: res, Seconds: time.Since(start).Seconds()}, nil
}

// summarizeLedger reads the ledger at path and summarizes its last run
// (the run of its last line).
func summarizeLedger(path string) (*LedgerSummary, error) {
	recs, err := tuner.ReadLedger(path)
	if err != nil {
		return nil, err
	}
	if len(recs) == 0 {
		return nil, errors.New("tuner ledger " + path + " holds no trials")
	}
	last := recs[len(recs)-1].Run
	s := &LedgerSummary{Path: path, Run: last}
	for _, r := range recs {
		if r.Run != last {
			continue
		}
		s.Trials++
		if s.Trials == 1 || r.Trial < s.First.Trial {
			s.First = r
		}
		if r.Verified && r.Error == "" && (!s.HaveBest || r.Score > s.Best.Score) {
			s.Best, s.HaveBest = r, true
		}
		s.FinalIncumbent = r.Best
	}
	s.Start.Setting, s.End.Setting = setting(s.First).String(), s.FinalIncumbent
	for _, r := range recs {
		if r.Run != last || !r.Verified || r.Error != "" {
			continue
		}
		name := setting(r).String()
		if name == s.Start.Setting {
			s.Start.add(r)
		}
		if name == s.End.Setting {
			s.End.add(r)
		}
	}
	return s, nil
}

func setting(r tuner.Record) knobs.Setting {
	return knobs.Setting{HeapMB: r.HeapMB, NetworkThreads: r.NetworkThreads, IOThreads: r.IOThreads}
}
