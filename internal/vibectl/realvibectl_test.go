package vibectl

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kafkatune/kafkatune/internal/telemetry"
)

// These tests run the real vibectl 0.11.6 (PyPI) end to end. Only the
// model and kubectl are stand-ins: the model is a scripted plugin for the
// llm library (testdata/scripted_llm), kubectl a script that records its
// arguments (no API server runs here). vibectl must be installed, as
// .ci/run does:
//
//	python3 -m venv "$VENV"
//	"$VENV/bin/pip" install vibectl==0.11.6 llm==0.36
//	export KAFKATUNE_VIBECTL="$VENV/bin/vibectl"
//
// Without it the tests fail: they are the contract test of the commands
// and config keys the agent uses.

const envRealVibectl = "KAFKATUNE_VIBECTL"

func realVibectl(t *testing.T) string {
	t.Helper()
	path := os.Getenv(envRealVibectl)
	if path == "" {
		p, err := exec.LookPath("vibectl")
		if err != nil {
			t.Fatalf("vibectl 0.11.6 is not installed: set %s or put vibectl on PATH "+
				"(python3 -m venv V && V/bin/pip install vibectl==0.11.6 llm==0.36)", envRealVibectl)
		}
		path = p
	}
	out, err := exec.Command(path, "--version").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "0.11.6") {
		t.Fatalf("%s --version = %q, %v; want vibectl 0.11.6", path, out, err)
	}
	return path
}

type promptRecord struct {
	Planning  bool     `json:"planning"`
	System    string   `json:"system"`
	Prompt    string   `json:"prompt"`
	Fragments []string `json:"fragments"`
}

func (p promptRecord) text() string {
	return p.System + "\n" + p.Prompt + "\n" + strings.Join(p.Fragments, "\n")
}

func readPrompts(t *testing.T, path string) []promptRecord {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("the scripted model was never called: %v", err)
	}
	defer f.Close()
	var out []promptRecord
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var p promptRecord
		if err := json.Unmarshal(sc.Bytes(), &p); err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

// scriptedEnv points vibectl's llm at the scripted model.
func scriptedEnv(t *testing.T, dir string, replies []any) []string {
	t.Helper()
	plugin, err := filepath.Abs(filepath.Join("testdata", "scripted_llm"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(replies)
	if err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(dir, "script.json")
	if err := os.WriteFile(script, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return []string{
		"PYTHONPATH=" + plugin,
		"PYTHONDONTWRITEBYTECODE=1",
		"KAFKATUNE_SCRIPTED_LLM_SCRIPT=" + script,
		"KAFKATUNE_SCRIPTED_LLM_LOG=" + filepath.Join(dir, "prompts.jsonl"),
		noRaceExitDelay,
	}
}

func command(args ...string) map[string]any {
	return map[string]any{"action": map[string]any{
		"action_type": "COMMAND", "commands": args, "allowed_exit_codes": []int{0},
		"explanation": "scripted",
	}}
}

func TestRealVibectlLoop(t *testing.T) {
	t.Parallel()
	vibectl := realVibectl(t)
	e := newLoopEnv(t, "unused")
	e.cfg.Vibectl = vibectl
	e.cfg.Model = "kafkatune-scripted"
	e.cfg.APIKey = ""
	e.cfg.MaxSteps = 3
	e.cfg.StepTimeout = 2 * time.Minute
	e.cfg.SetupTimeout = 2 * time.Minute
	extra := scriptedEnv(t, e.dir, []any{
		command("get", "configmap", "kafka-latency-metrics", "-n", "kafka", "-o", "jsonpath={.data}"),
		command("set", "env", "statefulset/kafka-controller", "-n", "kafka", "KAFKA_NUM_IO_THREADS=99"),
		map[string]any{"action": map[string]any{"action_type": "DONE", "explanation": "scripted"}},
	})
	r, err := New(e.cfg, testLogger(e.logs), e.reg, WithClient(e.cs), WithEnv(extra...))
	if err != nil {
		t.Fatal(err)
	}
	err = r.Run(context.Background())
	log, _ := os.ReadFile(filepath.Join(e.statusDir, AgentLogFile))
	if err != nil {
		t.Fatalf("Run: %v\nagent log:\n%s", err, log)
	}
	if os.Getenv("KAFKATUNE_TEST_SHOW_LOG") != "" {
		t.Logf("agent log:\n%s", log)
	}

	t.Run("steps", func(t *testing.T) {
		for result, want := range map[string]float64{"ok": 2, "failed": 1, "timeout": 0} {
			if got := e.counter(telemetry.VibectlSteps, telemetry.LabelResult, result); got != want {
				t.Errorf("steps{result=%s} = %v, want %v", result, got, want)
			}
		}
	})
	t.Run("kubectl went through the shim", func(t *testing.T) {
		want := "--kubeconfig=" + e.cfg.VibectlKubeconfig + "\n--namespace=kafka\nget\nconfigmap\n" +
			"kafka-latency-metrics\n--output=jsonpath={.data}\n--\n"
		if got := e.read("kubectl-args"); got != want {
			t.Errorf("real kubectl calls\n got %q\nwant %q", got, want)
		}
		if got := e.counter(telemetry.VibectlKubectlCalls, telemetry.LabelResult, "refused"); got != 1 {
			t.Errorf("refused = %v, want 1 (io threads 99)", got)
		}
	})
	prompts := readPrompts(t, filepath.Join(e.dir, "prompts.jsonl"))
	var plans []promptRecord
	for _, p := range prompts {
		if p.Planning {
			plans = append(plans, p)
		}
	}
	t.Run("the planner sees request and memory", func(t *testing.T) {
		if len(plans) != 3 {
			t.Fatalf("planning calls = %d, want 3", len(plans))
		}
		for _, want := range []string{"Step 1 of at most 3", "p99_ms=9.250",
			"Current knobs: KAFKA_HEAP_OPTS=\"-Xms256m -Xmx256m\"", "Goal: max producer throughput"} {
			if !strings.Contains(plans[0].text(), want) {
				t.Errorf("first planning prompt lacks %q", want)
			}
		}
		if !strings.Contains(plans[2].text(), "kubectl guard refused") {
			t.Error("the third planning prompt does not report the shim's refusal")
		}
	})
	t.Run("custom instructions reach the other prompts", func(t *testing.T) {
		found := false
		for _, p := range prompts {
			if !p.Planning && strings.Contains(p.text(), "WHAT YOU CAN CHANGE") {
				found = true
			}
		}
		if !found {
			t.Error("no summary or memory prompt carries the custom instructions")
		}
	})
	t.Run("agent log", func(t *testing.T) {
		b, _ := os.ReadFile(filepath.Join(e.statusDir, AgentLogFile))
		for _, want := range []string{markerKubectl, markerPlan, "kafkatune guard refused"} {
			if !strings.Contains(string(b), want) {
				t.Errorf("agent log lacks %q", want)
			}
		}
	})
}

// TestRealVibectlNoKey checks that a step whose model has no usable key
// is counted as failed: vibectl prints the error; the agent must see it.
func TestRealVibectlNoKey(t *testing.T) {
	t.Parallel()
	vibectl := realVibectl(t)
	e := newLoopEnv(t, "unused")
	e.cfg.Vibectl = vibectl
	e.cfg.Model = "gpt-4o-mini" // llm's built-in OpenAI plugin: no extra package
	e.cfg.APIKey = ""
	e.cfg.APIKeyFile = filepath.Join(e.dir, "empty-key")
	if err := os.WriteFile(e.cfg.APIKeyFile, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	e.cfg.MaxSteps = 1
	e.cfg.MaxConsecutiveFailures = 1
	e.cfg.StepTimeout = 2 * time.Minute
	e.cfg.SetupTimeout = 2 * time.Minute
	r, err := New(e.cfg, testLogger(e.logs), e.reg, WithClient(e.cs), WithEnv(noRaceExitDelay))
	if err != nil {
		t.Fatal(err)
	}
	err = r.Run(context.Background())
	t.Logf("Run: %v", err)
	if !errors.Is(err, ErrCircuitOpen) || !strings.Contains(strings.ToLower(err.Error()), "key") {
		t.Fatalf("Run = %v, want the circuit breaker with the missing-key error", err)
	}
	if got := e.counter(telemetry.VibectlSteps, telemetry.LabelResult, "failed"); got != 1 {
		t.Errorf("failed steps = %v, want 1", got)
	}
}
