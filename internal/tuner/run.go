package tuner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/kafkatune/kafkatune/internal/knobs"
)

// Why a run stopped.
const (
	StopBudget    = "budget"    // the trial budget is used up
	StopDone      = "done"      // the optimizer had nothing left to try
	StopCancelled = "cancelled" // the context was cancelled
)

// RunConfig configures Run. Ledger, Metrics and Logger are optional.
type RunConfig struct {
	// Budget is the number of search trials.
	Budget  int
	Ledger  *Ledger
	Metrics *Metrics
	Logger  *slog.Logger
	// Now is the clock for the ledger and metrics (time.Now).
	Now func() time.Time
}

// Result is how a run ended.
type Result struct {
	// Best is the optimizer's incumbent at the end; the broker runs it
	// unless the run was cancelled.
	Best      knobs.Setting
	BestScore float64
	// Trials counts every trial, the final one included.
	Trials  int
	Stopped string
}

// Run drives opt with ev for up to cfg.Budget trials, writing each trial
// to the ledger, the metrics and the log. When the search stops and the
// last trial was not the best setting, one more trial (beyond the budget)
// puts the best setting back and measures it. On cancellation Run returns
// at once with ctx's error; the caller should then apply Result.Best with
// a fresh context.
func Run(ctx context.Context, opt Optimizer, ev Evaluator, cfg RunConfig) (Result, error) {
	if cfg.Budget < 1 {
		return Result{}, fmt.Errorf("trial budget %d must be at least 1", cfg.Budget)
	}
	r := runner{opt: opt, ev: ev, cfg: cfg}
	if r.cfg.Logger == nil {
		r.cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if r.cfg.Now == nil {
		r.cfg.Now = time.Now
	}
	r.run = r.cfg.Now().UTC().Format("20060102T150405Z")

	res := Result{Stopped: StopBudget}
	var last knobs.Setting
	for range cfg.Budget {
		s, ok := opt.Next()
		if !ok {
			res.Stopped = StopDone
			break
		}
		if err := r.trial(ctx, s, ""); err != nil {
			return r.result(StopCancelled), err
		}
		last = s
	}
	if best := opt.Best(); r.trials > 0 && last != best {
		if err := r.trial(ctx, best, "final trial: back to the best setting"); err != nil {
			return r.result(StopCancelled), err
		}
	}
	return r.result(res.Stopped), nil
}

// runner carries one run's state.
type runner struct {
	opt    Optimizer
	ev     Evaluator
	cfg    RunConfig
	run    string
	trials int
}

func (r *runner) result(stopped string) Result {
	return Result{Best: r.opt.Best(), BestScore: r.opt.BestScore(), Trials: r.trials, Stopped: stopped}
}

// trial evaluates s, tells the optimizer and records the trial. It
// returns an error only when ctx is done or the record cannot be written.
func (r *runner) trial(ctx context.Context, s knobs.Setting, note string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if r.cfg.Metrics != nil {
		r.cfg.Metrics.SetCurrent(s, r.cfg.Now())
	}
	m, err := r.ev.Evaluate(ctx, s)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		m.Err = errors.Join(m.Err, err)
	}
	out, err := r.opt.Tell(s, m)
	if err != nil {
		return fmt.Errorf("tell optimizer: %w", err)
	}
	if note != "" {
		out.Reason = note
	}
	r.trials++
	return r.record(s, m, out)
}

func (r *runner) record(s knobs.Setting, m Measurement, out Outcome) error {
	rec := Record{
		Run: r.run, Trial: r.trials, Time: r.cfg.Now().UTC(),
		HeapMB: s.HeapMB, NetworkThreads: s.NetworkThreads, IOThreads: s.IOThreads,
		Throughput: m.ThroughputMsgs, P99Ms: m.P99Ms, Score: out.Score,
		Verified: m.Verified, Kept: out.Kept, Decision: string(out.Decision),
		Reason: out.Reason, Samples: m.Samples, Best: out.Best.String(),
	}
	if p := m.Problem(); p != nil {
		rec.Error = p.Error()
		r.cfg.Logger.Warn("tuner trial failed", "trial", r.trials, "setting", s.String(),
			"decision", rec.Decision, "err", p)
	} else {
		r.cfg.Logger.Info("tuner trial", "trial", r.trials, "heap_mb", s.HeapMB,
			"network_threads", s.NetworkThreads, "io_threads", s.IOThreads,
			"throughput", m.ThroughputMsgs, "p99_ms", m.P99Ms, "score", out.Score,
			"decision", rec.Decision, "kept", out.Kept, "best", rec.Best, "reason", out.Reason)
	}
	if r.cfg.Metrics != nil {
		r.cfg.Metrics.ObserveTrial(m, out, r.opt.BestScore())
	}
	if r.cfg.Ledger != nil {
		if err := r.cfg.Ledger.Append(rec); err != nil {
			return err
		}
	}
	return nil
}
