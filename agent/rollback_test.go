package main

import (
	"context"
	"fmt"
	"io/fs"
	"strings"
	"syscall"
	"testing"
	"testing/fstest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"

	promfiles "github.com/kafkatune/kafkatune/prometheus"

	"github.com/kafkatune/kafkatune/internal/childproc"
	"github.com/kafkatune/kafkatune/internal/knobs"
	"github.com/kafkatune/kafkatune/internal/localstack/localtest"
	"github.com/kafkatune/kafkatune/internal/rollback"
	"github.com/kafkatune/kafkatune/internal/telemetry"
	"github.com/kafkatune/kafkatune/internal/testlog"
	"github.com/kafkatune/kafkatune/internal/tuner"
)

// scaledRules returns the repository's rules with the regression alert's
// time scales shrunk from minutes to seconds, so a test sees it fire: the
// baselines are the median P99 and acknowledged rate of 20 to 80 s ago
// instead of 5 to 25 min ago, and the alert fires after 5 s instead of
// 3 min. The thresholds (1.5x the P99 baseline, above the target, less
// than 1.2x the rate baseline) are unchanged.
func scaledRules(t *testing.T) fs.FS {
	t.Helper()
	out := fstest.MapFS{}
	entries, err := fs.ReadDir(promfiles.Rules, "rules")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, err := fs.ReadFile(promfiles.Rules, "rules/"+e.Name())
		if err != nil {
			t.Fatal(err)
		}
		text := string(data)
		if e.Name() == "alerts.yml" {
			head := "- alert: " + telemetry.AlertP99LatencyRegression
			i := strings.Index(text, head)
			if i < 0 {
				t.Fatalf("alerts.yml has no %s", head)
			}
			end := strings.Index(text[i+len(head):], "- alert: ")
			if end < 0 {
				end = len(text) - i - len(head)
			}
			block := text[i : i+len(head)+end]
			scaled := block
			for _, r := range [][2]string{{"[20m] offset 5m", "[60s] offset 20s"}, {"for: 3m", "for: 5s"}} {
				if !strings.Contains(scaled, r[0]) {
					t.Fatalf("the regression alert no longer contains %q: update this test's scaling", r[0])
				}
				scaled = strings.ReplaceAll(scaled, r[0], r[1])
			}
			text = strings.Replace(text, block, scaled, 1)
		}
		out["rules/"+e.Name()] = &fstest.MapFile{Data: []byte(text)}
	}
	return out
}

// TestRegressionRollsBack runs the local stack with the real Prometheus and
// Alertmanager and the agent's core: a setting change made through the
// agent is followed by a slow broker (its JVM paused 70% of the time), the
// regression alert fires in Prometheus, Alertmanager delivers it to the
// webhook, and the agent rolls the broker back to the last good setting and
// records it.
func TestRegressionRollsBack(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	log := testlog.New(t)
	dir := t.TempDir()

	agentPort, err := childproc.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	lc := localConfig{
		stack:            localtest.Config(dir, 300),
		tune:             tuneConfig{limits: knobs.DefaultLimits()},
		rollbackWindow:   5 * time.Minute,
		rollbackCooldown: time.Hour,
	}
	lc.stack.Ports.Agent = agentPort
	lc.stack.TargetLatencyMs = 1 // every P99 is above it: only the regression test decides
	lc.stack.Rules = scaledRules(t)
	// Alertmanager sends changes of the alert group within seconds, so the
	// firing that follows the change is not held back behind an earlier
	// notification (the start-up can fire the scaled rule once; the agent
	// ignores that one: it made no change yet).
	lc.stack.EditAlertmanager = func(b []byte) ([]byte, error) {
		out := string(b)
		for _, r := range [][2]string{{"group_wait: 10s", "group_wait: 1s"}, {"group_interval: 1m", "group_interval: 5s"}} {
			if !strings.Contains(out, r[0]) {
				return nil, fmt.Errorf("alertmanager.yml no longer has %q: update this test", r[0])
			}
			out = strings.Replace(out, r[0], r[1], 1)
		}
		return []byte(out), nil
	}

	stack, err := localtest.Start(ctx, log, lc.stack)
	if err != nil {
		t.Fatalf("start local stack: %v", err)
	}
	t.Cleanup(func() {
		stopCtx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := stack.Stop(stopCtx); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	lc.stack = stack.Config()

	reg := prometheus.NewRegistry()
	srv, err := listen(fmt.Sprintf("127.0.0.1:%d", agentPort), reg, log)
	if err != nil {
		t.Fatal(err)
	}
	ag, act, err := startCore(ctx, lc, stack, reg, log)
	if err != nil {
		t.Fatal(err)
	}
	defer act.Close()
	defer ag.close()
	srv.mux.Handle("/alerts", ag.hook)
	srvCtx, stopSrv := context.WithCancel(ctx)
	defer stopSrv()
	go func() { _ = srv.serve(srvCtx) }()

	good, err := act.Current(ctx)
	if err != nil {
		t.Fatal(err)
	}
	prom, err := newPromAPI(stack.PrometheusURL())
	if err != nil {
		t.Fatal(err)
	}

	// A baseline for the scaled regression rule: P99s whose one-minute
	// windows no longer hold the start-up (the first messages wait for the
	// topic), so at least 60 s + 80 s after the start.
	started := time.Now()
	baselineQ := "quantile_over_time(0.5, " + telemetry.RuleP99Latency1m + "[60s] offset 20s)"
	var baseline float64
	waitUntil(ctx, t, 4*time.Minute, "a P99 baseline", func() (bool, string) {
		if time.Since(started) < 150*time.Second {
			return false, "waiting for the start-up to leave the windows"
		}
		v, _, _, err := prom.Query(ctx, baselineQ, time.Now())
		if err != nil {
			return false, err.Error()
		}
		vec, _ := v.(model.Vector)
		if len(vec) != 1 {
			return false, fmt.Sprint(v)
		}
		baseline = float64(vec[0].Value)
		return true, ""
	})
	t.Logf("baseline P99 %.3f s", baseline)
	if baseline > 0.4 {
		t.Fatalf("baseline P99 %.3f s: the broker is already too slow for a 0.7 s pause per second to be a clear regression", baseline)
	}

	// The change: one fewer I/O thread, applied and verified live.
	bad := good
	bad.IOThreads = max(good.IOThreads-1, 1)
	if bad == good {
		bad.NetworkThreads = good.NetworkThreads + 1
	}
	if err := ag.Apply(ctx, bad); err != nil {
		t.Fatalf("apply %s: %v", bad, err)
	}
	t.Logf("changed %s -> %s; now pausing the broker 700 ms of every second", good, bad)

	// The slow broker: SIGSTOP/SIGCONT on its JVM until the rollback.
	pid := stack.Broker().PID()
	pauseCtx, stopPausing := context.WithCancel(ctx)
	paused := make(chan struct{})
	go func() {
		defer close(paused)
		for pauseCtx.Err() == nil {
			_ = syscall.Kill(pid, syscall.SIGSTOP)
			time.Sleep(700 * time.Millisecond)
			_ = syscall.Kill(pid, syscall.SIGCONT)
			select {
			case <-pauseCtx.Done():
			case <-time.After(300 * time.Millisecond):
			}
		}
		_ = syscall.Kill(pid, syscall.SIGCONT)
	}()
	defer func() { stopPausing(); <-paused }()

	// 1. The alert fires in Prometheus.
	waitUntil(ctx, t, 4*time.Minute, "the regression alert firing", func() (bool, string) {
		q := fmt.Sprintf(`ALERTS{alertname=%q, alertstate="firing"}`, telemetry.AlertP99LatencyRegression)
		v, _, _, err := prom.Query(ctx, q, time.Now())
		if err != nil {
			return false, err.Error()
		}
		vec, _ := v.(model.Vector)
		if len(vec) > 0 {
			return true, ""
		}
		// Say where the rule stands.
		state := ""
		for _, e := range []string{telemetry.RuleP99Latency1m,
			baselineQ,
			telemetry.RuleTargetLatency, `ALERTS{alertname="` + telemetry.AlertP99LatencyRegression + `"}`} {
			v, _, _, err := prom.Query(ctx, e, time.Now())
			state += fmt.Sprintf("%s = %v (%v); ", e, v, err)
		}
		return false, state
	})
	t.Log("regression alert firing in Prometheus")

	// 2. Alertmanager delivers it and 3. the agent rolls back.
	waitUntil(ctx, t, 3*time.Minute, "the rollback", func() (bool, string) {
		n := gatherSum(t, reg, rollback.MetricRollbacks, "reason", string(rollback.ReasonRegression))
		return n >= 1, fmt.Sprintf("rollbacks %g", n)
	})
	stopPausing()
	<-paused

	got, err := act.Current(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got != good {
		t.Errorf("after the rollback the broker runs %s, want the last good %s", got, good)
	}
	if n := gatherSum(t, reg, "kafkatune_agent_webhook_notifications_total", "status", "firing"); n < 1 {
		t.Errorf("webhook firing notifications = %g, want at least 1", n)
	}
	recs, err := tuner.ReadLedger(ag.ledger.Path())
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, r := range recs {
		if r.Decision == rollback.DecisionRollback && r.IOThreads == bad.IOThreads &&
			r.NetworkThreads == bad.NetworkThreads && r.Best == good.String() {
			found = true
			t.Logf("ledger: %s", r.Reason)
		}
	}
	if !found {
		t.Errorf("no rollback of %s to %s in the ledger %s: %+v", bad, good, ag.ledger.Path(), recs)
	}
}

func waitUntil(ctx context.Context, t *testing.T, d time.Duration, what string, ok func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		done, last := ok()
		if done {
			return
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			t.Fatalf("no %s within %s (last: %s)", what, d, last)
		}
		time.Sleep(time.Second)
	}
}

// gatherSum sums the series of a counter family whose label has value.
func gatherSum(t *testing.T, reg *prometheus.Registry, name, label, value string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == label && l.GetValue() == value {
					sum += m.GetCounter().GetValue()
				}
			}
		}
	}
	return sum
}
