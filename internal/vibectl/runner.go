package vibectl

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/client-go/kubernetes"

	"github.com/kafkatune/kafkatune/internal/knobs"
	"github.com/kafkatune/kafkatune/internal/kube"
	"github.com/kafkatune/kafkatune/internal/status"
)

// ErrCircuitOpen ends the loop after too many consecutive failed steps.
var ErrCircuitOpen = errors.New("circuit breaker open")

// Runner is one `agent vibectl` run.
type Runner struct {
	cfg     Config
	log     *slog.Logger
	metrics *metrics
	prompts *Prompts
	guard   *Guard
	red     *Redactor
	now     func() time.Time

	// Set by prepare.
	dir, policy, shimLog string
	env, extraEnv        []string
	shimOffset           int64

	logMu sync.Mutex
}

// Option changes how New builds a Runner.
type Option func(*options)

type options struct {
	client kubernetes.Interface
	now    func() time.Time
	env    []string
}

// WithClient gives the guard a ready Kubernetes client instead of one
// built from the configured kubeconfig.
func WithClient(c kubernetes.Interface) Option { return func(o *options) { o.client = c } }

// WithEnv adds NAME=VALUE entries to vibectl's environment, for example
// PYTHONPATH for a local llm plugin.
func WithEnv(kv ...string) Option { return func(o *options) { o.env = append(o.env, kv...) } }

// WithClock replaces time.Now.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// New validates cfg and builds a Runner that registers its metrics on reg.
func New(cfg Config, log *slog.Logger, reg prometheus.Registerer, opts ...Option) (*Runner, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	o := options{now: time.Now}
	for _, opt := range opts {
		opt(&o)
	}
	if o.client == nil {
		c, err := kube.NewClientset(cfg.guardSource(), "kafkatune-agent-vibectl-guard")
		if err != nil {
			return nil, fmt.Errorf("guard client: %w", err)
		}
		o.client = c
	}
	prompts, err := NewPrompts(&cfg, cfg.InstructionsTemplate)
	if err != nil {
		return nil, err
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, fmt.Errorf("register metrics: %w", err)
	}
	r := &Runner{
		cfg: cfg, log: log, metrics: m, prompts: prompts, now: o.now, extraEnv: o.env,
		red: NewRedactor(cfg.APIKey.Reveal()),
		guard: NewGuard(o.client, cfg.Namespace, cfg.StatefulSet, cfg.Container,
			cfg.Limits.Bounds(), cfg.CallTimeout, log),
	}
	return r, nil
}

// WorkDir returns the per-run directory (vibectl's config, the shim, its
// log), once Run has created it.
func (r *Runner) WorkDir() string { return r.dir }

// Run sets vibectl up and runs the loop until the step budget is spent,
// the kill switch appears, ctx ends (all nil) or the circuit breaker opens
// (ErrCircuitOpen).
func (r *Runner) Run(ctx context.Context) error {
	if err := os.MkdirAll(r.cfg.StatusDir, 0o755); err != nil {
		return fmt.Errorf("create status dir: %w", err)
	}
	if err := r.prepare(); err != nil {
		return err
	}
	r.log.Info("vibectl agent starting", "model", r.cfg.Model, "work_dir", r.dir,
		"max_steps", r.cfg.MaxSteps, "step_timeout", r.cfg.StepTimeout, "api_key", r.cfg.APIKey)
	reverts, err := r.guard.Start(ctx)
	if err != nil {
		return fmt.Errorf("guard start: %w", err)
	}
	r.recordReverts(0, reverts)
	cur := r.guard.LastGood()
	instructions, err := r.prompts.Instructions(cur)
	if err != nil {
		return err
	}
	memory, err := r.prompts.Memory(cur)
	if err != nil {
		return err
	}
	if len(memory) > r.cfg.MemoryMaxChars {
		return fmt.Errorf("seed memory is %d characters, more than -%s %d",
			len(memory), flagMemoryChars, r.cfg.MemoryMaxChars)
	}
	if err := r.configure(ctx, instructions, memory); err != nil {
		return fmt.Errorf("configure vibectl: %w", err)
	}
	r.appendLog(fmt.Sprintf("[agent] start model=%s work_dir=%s knobs=%s\n", r.cfg.Model, r.dir, cur))
	return r.loop(ctx)
}

func (r *Runner) loop(ctx context.Context) error {
	last := "none yet (first step)"
	failures := 0
	for step := 1; r.cfg.MaxSteps == 0 || step <= r.cfg.MaxSteps; step++ {
		if r.stopRequested() {
			r.stop("kill switch found", step)
			return nil
		}
		rec, err := r.step(ctx, step, last)
		if err != nil {
			return err
		}
		if ctx.Err() != nil {
			r.stop("agent shutting down", step)
			return nil
		}
		reverts, gerr := r.guard.Check(ctx)
		if gerr != nil {
			r.log.Error("guard check failed", "step", step, "err", gerr)
			r.appendLog(fmt.Sprintf("[agent] step=%d guard check failed: %v\n", step, gerr))
		}
		r.recordReverts(step, reverts)
		last = r.summarize(rec, reverts, gerr)
		if rec.Result == ResultOK && gerr == nil {
			failures = 0
		} else {
			failures++
		}
		if failures >= r.cfg.MaxConsecutiveFailures {
			r.stop("circuit breaker open", step)
			return fmt.Errorf("%w: %d consecutive failed steps, the last: %s", ErrCircuitOpen, failures, last)
		}
		if rec.Stopped {
			r.stop("kill switch found", step)
			return nil
		}
		if !r.pause(ctx) {
			r.stop("stopped while waiting", step)
			return nil
		}
	}
	r.stop("step budget spent", r.cfg.MaxSteps)
	return nil
}

func (r *Runner) stop(why string, step int) {
	r.log.Info("vibectl agent stopping", "reason", why, "step", step)
	r.appendLog(fmt.Sprintf("[agent] stop at step %d: %s\n", step, why))
}

func (r *Runner) stopRequested() bool {
	_, err := os.Stat(filepath.Join(r.cfg.StatusDir, ShutdownFile))
	return err == nil
}

// pause waits Interval; it returns false if ctx ended or the kill switch
// appeared meanwhile.
func (r *Runner) pause(ctx context.Context) bool {
	deadline := time.NewTimer(r.cfg.Interval)
	defer deadline.Stop()
	tick := time.NewTicker(stopPoll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-deadline.C:
			return true
		case <-tick.C:
			if r.stopRequested() {
				return false
			}
		}
	}
}

func (r *Runner) recordReverts(step int, reverts []Revert) {
	for _, rv := range reverts {
		r.metrics.reverts.WithLabelValues(rv.Knob).Inc()
		r.appendLog(fmt.Sprintf("[agent] step=%d guard reverted knob=%s found=%q restored=%q reason=%q\n",
			step, rv.Knob, rv.Found, rv.Restored, rv.Reason))
	}
}

// latestMetrics reads the bridge's snapshot for the request.
func (r *Runner) latestMetrics() MetricsView {
	s, err := status.ReadSnapshot(r.cfg.StatusDir)
	if err != nil {
		r.log.Debug("no status snapshot", "err", err)
		return ViewSnapshot(nil, r.now())
	}
	return ViewSnapshot(s, r.now())
}

// currentKnobs is what the guard last saw within bounds.
func (r *Runner) currentKnobs() knobs.Setting { return r.guard.LastGood() }

// summarize renders a step's outcome for the next request: short, and
// marked as output of the previous step (it holds text from the cluster,
// which is not trusted).
func (r *Runner) summarize(rec *StepRecord, reverts []Revert, guardErr error) string {
	var parts []string
	switch rec.Result {
	case ResultOK:
		parts = append(parts, "ok")
	case ResultTimeout:
		parts = append(parts, fmt.Sprintf("stopped after the %s step limit", r.cfg.StepTimeout))
	default:
		parts = append(parts, fmt.Sprintf("failed (exit status %d)", rec.ExitCode))
	}
	if len(rec.Actions) > 0 {
		parts = append(parts, "planned "+strings.Join(rec.Actions, ", "))
	}
	for _, k := range rec.Kubectl {
		parts = append(parts, "ran "+k)
	}
	for _, e := range rec.Errors {
		parts = append(parts, e)
	}
	for _, ref := range rec.Refused {
		parts = append(parts, "kubectl guard refused: "+ref)
	}
	for _, rv := range reverts {
		parts = append(parts, fmt.Sprintf("guard reverted %s from %q to %q (%s)",
			rv.Knob, rv.Found, rv.Restored, rv.Reason))
	}
	if guardErr != nil {
		parts = append(parts, "guard check failed")
	}
	return truncate(r.red.String(strings.Join(parts, "; ")), maxLastResult)
}

// maxLastResult bounds the previous step's summary in the request.
const maxLastResult = 800

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + " [...]"
}
