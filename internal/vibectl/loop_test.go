package vibectl

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kafkatune/kafkatune/internal/knobs"
	"github.com/kafkatune/kafkatune/internal/status"
	"github.com/kafkatune/kafkatune/internal/telemetry"
)

// noRaceExitDelay stops the race detector from sleeping a second at the
// exit of each child process (the test binary playing vibectl and kubectl).
const noRaceExitDelay = "GORACE=atexit_sleep_ms=0"

// testAPIKey must never appear in any log or file of the agent.
const testAPIKey = "sk-ant-test-0123456789abcdefghijKLMNOP"

// loopEnv is everything one loop test needs: a scenario directory, a
// status directory with a snapshot, a stand-in for the real kubectl, a
// fake clientset holding the broker's StatefulSet, and a log buffer.
type loopEnv struct {
	t         *testing.T
	dir       string // scenario
	statusDir string
	cfg       Config
	cs        *fake.Clientset
	reg       *prometheus.Registry
	logs      *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// realKubectlStandIn writes a shell script that records its arguments
// (one per line, then "--") and, for `set env`, the value it would apply.
// It stands in for the real kubectl: no API server runs here.
func realKubectlStandIn(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "kubectl-standin", "kubectl")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	script := `#!/bin/sh
for a in "$@"; do printf '%s\n' "$a"; done >> ` + dir + `/kubectl-args
echo -- >> ` + dir + `/kubectl-args
for a in "$@"; do
  case "$a" in KAFKA_*=*) printf '%s' "$a" > ` + dir + `/applied ;; esac
done
echo '{"actual_latency_ms":"7.500","target_latency_ms":"12.5"}'
`
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

func newLoopEnv(t *testing.T, scenario string) *loopEnv {
	t.Helper()
	e := &loopEnv{t: t, dir: t.TempDir(), statusDir: t.TempDir(), logs: &syncBuffer{}}
	e.write("scenario", scenario)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}

	c := DefaultConfig()
	c.Vibectl = self
	c.Model = "claude-3.7-sonnet"
	c.APIKey = testAPIKey
	c.VibectlKubeconfig = filepath.Join(e.dir, "vibectl.kubeconfig")
	c.Kubectl = realKubectlStandIn(t, e.dir)
	c.WorkDir = t.TempDir()
	c.StatusDir = e.statusDir
	c.TargetLatencyMs = 12.5
	c.Interval = 0
	c.StepTimeout = 30 * time.Second
	c.KillGrace = time.Second
	c.MaxSteps = len(strings.Split(scenario, ","))
	c.MinChangeInterval = 0
	e.cfg = c

	e.cs = fake.NewClientset(brokerStatefulSet("-Xms256m -Xmx256m", "1", "2"))
	e.cs.PrependReactor("get", "statefulsets", e.applyPending)
	e.reg = prometheus.NewRegistry()

	p99, rate := 9.25, 15300.0
	snap := &status.Snapshot{Time: time.Now(), TargetLatencyMs: 12.5, P99LatencyMs: &p99,
		ProducerActualRate: &rate}
	if err := status.WriteSnapshot(e.statusDir, snap); err != nil {
		t.Fatal(err)
	}
	return e
}

// applyPending plays the API server for changes kubectl (the stand-in) or
// a bypass made: it applies the recorded NAME=VALUE before a read.
func (e *loopEnv) applyPending(k8stesting.Action) (bool, runtime.Object, error) {
	path := filepath.Join(e.dir, "applied")
	b, err := os.ReadFile(path)
	if err != nil {
		return false, nil, nil
	}
	_ = os.Remove(path)
	name, value, _ := strings.Cut(string(b), "=")
	gvr := schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "statefulsets"}
	obj, err := e.cs.Tracker().Get(gvr, "kafka", "kafka-controller", metav1.GetOptions{})
	if err != nil {
		return true, nil, err
	}
	sts := obj.(*appsv1.StatefulSet).DeepCopy()
	setEnv(&sts.Spec.Template.Spec.Containers[0], name, value)
	return false, nil, e.cs.Tracker().Update(gvr, sts, "kafka", metav1.UpdateOptions{})
}

func (e *loopEnv) write(name, content string) {
	e.t.Helper()
	if err := os.WriteFile(filepath.Join(e.dir, name), []byte(content), 0o600); err != nil {
		e.t.Fatal(err)
	}
}

func (e *loopEnv) read(name string) string {
	b, _ := os.ReadFile(filepath.Join(e.dir, name))
	return string(b)
}

func (e *loopEnv) run(ctx context.Context) (*Runner, error) {
	e.t.Helper()
	r, err := New(e.cfg, testLogger(e.logs), e.reg, WithClient(e.cs), WithEnv(envFakeVibectl+"="+e.dir, noRaceExitDelay))
	if err != nil {
		e.t.Fatal(err)
	}
	return r, r.Run(ctx)
}

func testLogger(w *syncBuffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func (e *loopEnv) counter(name, label, value string) float64 {
	e.t.Helper()
	mfs, err := e.reg.Gather()
	if err != nil {
		e.t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == label && lp.GetValue() == value {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	e.t.Fatalf("no series %s{%s=%q}", name, label, value)
	return 0
}

func TestLoopWithFakeVibectl(t *testing.T) {
	t.Parallel()
	e := newLoopEnv(t, "ok,error0,refused,mutate,bypass,leak,exit1")
	r, err := e.run(context.Background())
	if err != nil {
		t.Fatalf("Run: %v\nlogs:\n%s", err, e.logs)
	}

	t.Run("steps by result", func(t *testing.T) {
		for result, want := range map[string]float64{"ok": 4, "failed": 3, "timeout": 0} {
			if got := e.counter(telemetry.VibectlSteps, telemetry.LabelResult, result); got != want {
				t.Errorf("steps{result=%s} = %v, want %v", result, got, want)
			}
		}
		if n := testutil.CollectAndCount(e.reg, telemetry.VibectlLastStep); n != 1 {
			t.Errorf("last step series = %d", n)
		}
	})
	t.Run("shim decisions", func(t *testing.T) {
		if got := e.counter(telemetry.VibectlKubectlCalls, telemetry.LabelResult, "allowed"); got != 2 {
			t.Errorf("allowed = %v, want 2 (ok and mutate)", got)
		}
		if got := e.counter(telemetry.VibectlKubectlCalls, telemetry.LabelResult, "refused"); got != 1 {
			t.Errorf("refused = %v, want 1", got)
		}
		calls := strings.Split(strings.TrimSuffix(e.read("kubectl-args"), "--\n"), "--\n")
		if len(calls) != 2 {
			t.Fatalf("real kubectl ran %d times, want 2: %q", len(calls), calls)
		}
		want := "--kubeconfig=" + e.cfg.VibectlKubeconfig + "\n--namespace=kafka\nget\nconfigmap\n" +
			"kafka-latency-metrics\n--output=jsonpath={.data}\n"
		if calls[0] != want {
			t.Errorf("first kubectl call\n got %q\nwant %q", calls[0], want)
		}
	})
	t.Run("guard", func(t *testing.T) {
		if got := e.counter(telemetry.VibectlGuardReverts, telemetry.LabelKnob, knobs.KnobIOThreads); got != 1 {
			t.Errorf("reverts{knob=num.io.threads} = %v, want 1 (the bypass)", got)
		}
		if got := r.guard.LastGood(); got.IOThreads != 4 {
			t.Errorf("last good = %v, want io threads 4 from the allowed change", got)
		}
	})
	t.Run("requests carry metrics and the last result", func(t *testing.T) {
		reqs := strings.Split(e.read("requests"), "\n=====\n")
		wants := []string{
			"p99_ms=9.250",
			"ran kubectl --kubeconfig ",
			"Error: Error in vibe command: boom",
			"kubectl guard refused: KAFKA_NUM_IO_THREADS=\"99\" refused",
			"KAFKA_NUM_IO_THREADS=4.",
			"guard reverted num.io.threads from \"99\" to \"4\"",
		}
		for i, want := range wants {
			if !strings.Contains(reqs[i], want) {
				t.Errorf("request %d lacks %q:\n%s", i+1, want, reqs[i])
			}
		}
	})
	t.Run("agent log", func(t *testing.T) {
		b, err := os.ReadFile(filepath.Join(e.statusDir, AgentLogFile))
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"=== step 1 ", "--- stderr ---", "result=failed exit_code=0",
			"guard reverted knob=num.io.threads", "stop at step 7: step budget spent", Redacted} {
			if !bytes.Contains(b, []byte(want)) {
				t.Errorf("agent log lacks %q", want)
			}
		}
	})
	t.Run("the API key is nowhere", func(t *testing.T) {
		assertNoSecret(t, e.logs.String(), "slog output")
		for _, dir := range []string{e.statusDir, r.WorkDir()} {
			_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
				if err == nil && d.Type().IsRegular() {
					b, _ := os.ReadFile(path)
					assertNoSecret(t, string(b), path)
				}
				return nil
			})
		}
		if !strings.Contains(e.logs.String(), "api_key="+Redacted) {
			t.Error("the start log does not show the key as redacted")
		}
	})
}

func assertNoSecret(t *testing.T, text, where string) {
	t.Helper()
	for _, s := range []string{testAPIKey, "sk-ant-api03-ZYXWVUTSRQPONMLKJIHG"} {
		if strings.Contains(text, s) {
			t.Errorf("%s holds a secret", where)
		}
	}
}

func TestLoopStepTimeout(t *testing.T) {
	t.Parallel()
	for _, scenario := range []string{"hang", "hangterm"} {
		t.Run(scenario, func(t *testing.T) {
			t.Parallel()
			e := newLoopEnv(t, scenario)
			e.cfg.StepTimeout = 2 * time.Second
			e.cfg.KillGrace = 500 * time.Millisecond
			if _, err := e.run(context.Background()); err != nil {
				t.Fatal(err)
			}
			if got := e.counter(telemetry.VibectlSteps, telemetry.LabelResult, "timeout"); got != 1 {
				t.Errorf("timeouts = %v, want 1", got)
			}
			b, _ := os.ReadFile(filepath.Join(e.statusDir, AgentLogFile))
			wantKilled := "killed=" + map[string]string{"hang": "false", "hangterm": "true"}[scenario]
			if !bytes.Contains(b, []byte("timed_out=true "+wantKilled)) {
				t.Errorf("agent log lacks %q", "timed_out=true "+wantKilled)
			}
		})
	}
}

func TestLoopCircuitBreaker(t *testing.T) {
	t.Parallel()
	e := newLoopEnv(t, "ok,error0,exit1,error0,ok")
	e.cfg.MaxConsecutiveFailures = 3
	e.cfg.MaxSteps = 10
	_, err := e.run(context.Background())
	if !errors.Is(err, ErrCircuitOpen) {
		t.Fatalf("err = %v, want ErrCircuitOpen", err)
	}
	if got := e.counter(telemetry.VibectlSteps, telemetry.LabelResult, "failed"); got != 3 {
		t.Errorf("failed = %v, want 3", got)
	}
	if got := e.read("count"); got != "4" {
		t.Errorf("vibectl ran %s steps, want 4", got)
	}
}

func TestLoopKillSwitch(t *testing.T) {
	t.Parallel()
	t.Run("before the first step", func(t *testing.T) {
		t.Parallel()
		e := newLoopEnv(t, "ok")
		if err := os.WriteFile(filepath.Join(e.statusDir, ShutdownFile), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := e.run(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got := e.read("count"); got != "" {
			t.Errorf("vibectl ran %s steps with the kill switch present", got)
		}
	})
	t.Run("during a step", func(t *testing.T) {
		t.Parallel()
		e := newLoopEnv(t, "hang,ok")
		e.cfg.StepTimeout = time.Minute
		go func() {
			for e.read("started") == "" && !t.Failed() {
				time.Sleep(50 * time.Millisecond)
			}
			_ = os.WriteFile(filepath.Join(e.statusDir, ShutdownFile), nil, 0o644)
		}()
		if _, err := e.run(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got := e.read("count"); got != "1" {
			t.Errorf("vibectl ran %s steps, want 1", got)
		}
		if got := e.counter(telemetry.VibectlSteps, telemetry.LabelResult, "timeout"); got != 0 {
			t.Errorf("the stopped step counted as a timeout")
		}
	})
	t.Run("context cancelled", func(t *testing.T) {
		t.Parallel()
		e := newLoopEnv(t, "hang")
		e.cfg.StepTimeout = time.Minute
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			for e.read("started") == "" && !t.Failed() {
				time.Sleep(50 * time.Millisecond)
			}
			cancel()
		}()
		if _, err := e.run(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

func TestSetupDetectsConfigErrors(t *testing.T) {
	t.Parallel()
	e := newLoopEnv(t, "ok")
	e.write("badkeys", "display.show_metrics")
	_, err := e.run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "config set display.show_metrics") ||
		!strings.Contains(err.Error(), "Error: Invalid value") {
		t.Fatalf("err = %v, want the config set failure that exited 0", err)
	}
	if e.read("count") != "" {
		t.Error("a step ran after a failed setup")
	}
}

func TestRunRefusesOversizedMemory(t *testing.T) {
	t.Parallel()
	e := newLoopEnv(t, "ok")
	e.cfg.MemoryMaxChars = 200
	if _, err := e.run(context.Background()); err == nil || !strings.Contains(err.Error(), "seed memory") {
		t.Fatalf("err = %v", err)
	}
}
