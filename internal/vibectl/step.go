package vibectl

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// StepRecord is what one step did.
type StepRecord struct {
	Step     int
	Start    time.Time
	Duration time.Duration
	// Result is ResultOK, ResultFailed or ResultTimeout.
	Result   string
	ExitCode int
	// Stopped is true when the kill switch ended the step.
	Stopped bool
	Killed  bool
	Output
	// Allowed and Refused count the shim's decisions during the step;
	// Refused holds the reasons.
	Allowed int
	Refused []string
}

// step runs one `vibectl --mode auto vibe REQUEST`. An error means the
// step could not run at all (vibectl missing, request not renderable);
// a failed step is a record with Result ResultFailed.
func (r *Runner) step(ctx context.Context, n int, last string) (*StepRecord, error) {
	request, err := r.prompts.Request(n, r.currentKnobs(), r.latestMetrics(), last)
	if err != nil {
		return nil, err
	}
	rec := &StepRecord{Step: n, Start: r.now()}
	res, err := runProcess(ctx, procSpec{
		Path: r.cfg.Vibectl,
		Args: []string{"--mode", "auto", "vibe", strings.TrimSpace(request)},
		Env:  r.env, Dir: r.dir,
		Timeout: r.cfg.StepTimeout, Grace: r.cfg.KillGrace,
		Stop: r.stopRequested,
	})
	if err != nil {
		return nil, fmt.Errorf("step %d: %w", n, err)
	}
	rec.Duration, rec.ExitCode = res.Duration, res.ExitCode
	rec.Stopped, rec.Killed = res.Stopped, res.Killed
	rec.Output = ParseOutput(res.Stderr)
	rec.Allowed, rec.Refused = r.readShimLog()
	rec.Result = classify(res, rec.Output)

	r.metrics.steps.WithLabelValues(rec.Result).Inc()
	r.metrics.duration.Observe(rec.Duration.Seconds())
	r.metrics.lastStep.Set(float64(r.now().Unix()))
	r.metrics.kubectl.WithLabelValues("allowed").Add(float64(rec.Allowed))
	r.metrics.kubectl.WithLabelValues("refused").Add(float64(len(rec.Refused)))
	r.logStep(rec, request, res)
	return rec, nil
}

// classify judges a step. vibectl's exit status alone is not enough: it
// can exit 0 after printing an error.
func classify(res procResult, out Output) string {
	switch {
	case res.TimedOut:
		return ResultTimeout
	case res.Stopped, res.ExitCode != 0, len(out.Errors) > 0:
		return ResultFailed
	default:
		return ResultOK
	}
}

func (r *Runner) logStep(rec *StepRecord, request string, res procResult) {
	attrs := []any{
		"step", rec.Step, "result", rec.Result, "exit_code", rec.ExitCode,
		"duration", rec.Duration.Round(time.Millisecond), "actions", rec.Actions,
		"kubectl_allowed", rec.Allowed, "kubectl_refused", len(rec.Refused),
	}
	if len(rec.Errors) > 0 {
		attrs = append(attrs, "error", r.red.String(rec.Errors[0]))
	}
	if rec.Result == ResultOK {
		r.log.Info("vibectl step done", attrs...)
	} else {
		r.log.Warn("vibectl step failed", attrs...)
	}
	for _, ref := range rec.Refused {
		r.log.Warn("kubectl shim refused a command", "step", rec.Step, "reason", r.red.String(ref))
	}
	header := fmt.Sprintf("=== step %d %s ===\n--- request ---\n%s\n--- stdout ---\n",
		rec.Step, rec.Start.UTC().Format(time.RFC3339), strings.TrimSpace(request))
	footer := fmt.Sprintf("[agent] step=%d result=%s exit_code=%d duration=%s timed_out=%t killed=%t "+
		"errors=%d kubectl_allowed=%d kubectl_refused=%d actions=%s\n",
		rec.Step, rec.Result, rec.ExitCode, rec.Duration.Round(time.Millisecond), res.TimedOut,
		rec.Killed, len(rec.Errors), rec.Allowed, len(rec.Refused), strings.Join(rec.Actions, ","))
	r.appendLog(header, res.Stdout, []byte("--- stderr ---\n"), res.Stderr, footer)
}

// appendLog appends parts, redacted, to the agent log in the status
// directory. A failure to write is logged, never fatal.
func (r *Runner) appendLog(parts ...any) {
	var b strings.Builder
	for _, p := range parts {
		switch v := p.(type) {
		case string:
			b.WriteString(v)
		case []byte:
			b.Write(v)
			if len(v) > 0 && v[len(v)-1] != '\n' {
				b.WriteByte('\n')
			}
		}
	}
	r.logMu.Lock()
	defer r.logMu.Unlock()
	path := filepath.Join(r.cfg.StatusDir, AgentLogFile)
	if err := appendFile(path, []byte(r.red.String(b.String()))); err != nil {
		r.log.Error("write agent log", "path", path, "err", err)
	}
}

// readShimLog reads the shim's records written since the last call and
// returns how many commands it allowed and why it refused the others.
func (r *Runner) readShimLog() (allowed int, refused []string) {
	f, err := os.Open(r.shimLog)
	if err != nil {
		return 0, nil
	}
	defer f.Close()
	if _, err := f.Seek(r.shimOffset, io.SeekStart); err != nil {
		return 0, nil
	}
	br := bufio.NewReader(f)
	for {
		line, err := br.ReadBytes('\n')
		if err != nil {
			break // a partial last line is read next time
		}
		r.shimOffset += int64(len(line))
		var rec shimRecord
		if json.Unmarshal(line, &rec) != nil {
			continue
		}
		if rec.Allow {
			allowed++
		} else {
			refused = append(refused, rec.Reason)
		}
	}
	return allowed, refused
}
