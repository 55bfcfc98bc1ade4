package vibectl

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"sigs.k8s.io/yaml"
)

// envFakeVibectl makes the test binary act as a scripted stand-in for
// vibectl; its value is the test's scenario directory.
const envFakeVibectl = "KAFKATUNE_TEST_FAKE_VIBECTL"

// TestMain lets the test binary play two other programs: the kubectl shim
// (when run under the name kubectl, exactly as the agent binary does) and
// the fake vibectl of the loop tests.
func TestMain(m *testing.M) {
	if InvokedAsShim(os.Args[0]) {
		os.Exit(ShimMain(context.Background(), os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
	}
	if dir := os.Getenv(envFakeVibectl); dir != "" {
		os.Exit(fakeVibectl(dir, os.Args[1:]))
	}
	os.Exit(m.Run())
}

// fakeVibectl imitates the parts of vibectl 0.11.6 the agent uses: config
// set/show (stored in the same config.yaml layout), instructions set and
// memory set from stdin, and `--mode auto vibe REQUEST`, whose behaviour
// comes from the comma-separated scenario file, one entry per step. It is
// a stand-in for the loop tests; the real vibectl runs in
// realvibectl_test.go.
func fakeVibectl(dir string, args []string) int {
	cfgDir := os.Getenv("VIBECTL_CONFIG_DIR")
	switch {
	case len(args) == 4 && args[0] == "config" && args[1] == "set":
		if bad, _ := os.ReadFile(filepath.Join(dir, "badkeys")); strings.Contains(string(bad), args[2]) {
			fmt.Fprintf(os.Stderr, "Error: Invalid value for %s\n", args[2])
			return 0 // as vibectl does
		}
		return fakeConfigSet(cfgDir, args[2], args[3])
	case len(args) == 3 && args[0] == "config" && args[1] == "show":
		v := fakeConfig(cfgDir)[args[2]]
		fmt.Printf("%s: %v", args[2], v)
		return 0
	case len(args) == 2 && args[0] == "instructions" && args[1] == "set":
		b, _ := io.ReadAll(os.Stdin)
		return fakeConfigSet(cfgDir, "system.custom_instructions", strings.TrimSpace(string(b)))
	case len(args) == 2 && args[0] == "memory" && args[1] == "set":
		b, _ := io.ReadAll(os.Stdin)
		return fakeConfigSet(cfgDir, "memory_content", strings.TrimSpace(string(b)))
	case len(args) == 4 && args[0] == "--mode" && args[2] == "vibe":
		return fakeStep(dir, args[3])
	}
	fmt.Fprintf(os.Stderr, "Error: fake vibectl does not know %q\n", args)
	return 1
}

func fakeConfig(cfgDir string) map[string]any {
	m := map[string]any{}
	b, err := os.ReadFile(filepath.Join(cfgDir, "fake.json"))
	if err == nil {
		_ = json.Unmarshal(b, &m)
	}
	return m
}

func fakeConfigSet(cfgDir, key, value string) int {
	m := fakeConfig(cfgDir)
	m[key] = value
	b, _ := json.Marshal(m)
	if err := os.WriteFile(filepath.Join(cfgDir, "fake.json"), b, 0o600); err != nil {
		return 1
	}
	nested := map[string]any{}
	for k, v := range m {
		parts := strings.Split(k, ".")
		cur := nested
		for _, p := range parts[:len(parts)-1] {
			if _, ok := cur[p]; !ok {
				cur[p] = map[string]any{}
			}
			cur = cur[p].(map[string]any)
		}
		cur[parts[len(parts)-1]] = v
	}
	y, _ := yaml.Marshal(nested)
	_ = os.MkdirAll(filepath.Join(cfgDir, "client"), 0o700)
	if err := os.WriteFile(filepath.Join(cfgDir, "client", "config.yaml"), y, 0o600); err != nil {
		return 1
	}
	fmt.Printf("Configuration %s set to %s\n", key, value)
	return 0
}

// fakeStep plays the next scenario entry.
func fakeStep(dir, request string) int {
	scenario, _ := os.ReadFile(filepath.Join(dir, "scenario"))
	steps := strings.Split(strings.TrimSpace(string(scenario)), ",")
	n := 0
	if b, err := os.ReadFile(filepath.Join(dir, "count")); err == nil {
		fmt.Sscan(string(b), &n)
	}
	_ = os.WriteFile(filepath.Join(dir, "count"), []byte(fmt.Sprint(n+1)), 0o600)
	_ = appendFile(filepath.Join(dir, "requests"), []byte(request+"\n=====\n"))
	what := steps[min(n, len(steps)-1)]
	fmt.Println("🔄 Consulting fake for a plan...")
	switch what {
	case "ok":
		return fakeKubectl("COMMAND", "get", "configmap", "kafka-latency-metrics", "-n", "kafka",
			"-o", "jsonpath={.data}")
	case "mutate":
		return fakeKubectl("COMMAND", "set", "env", "statefulset/kafka-controller", "-n", "kafka",
			"KAFKA_NUM_IO_THREADS=4")
	case "refused":
		return fakeKubectl("COMMAND", "set", "env", "statefulset/kafka-controller", "-n", "kafka",
			"KAFKA_NUM_IO_THREADS=99")
	case "bypass":
		// A change that reached the StatefulSet without the shim.
		_ = os.WriteFile(filepath.Join(dir, "applied"), []byte("KAFKA_NUM_IO_THREADS=99"), 0o600)
		return 0
	case "error0":
		fmt.Fprintln(os.Stderr, "[INFO] Raw LLM response text:\nnot json")
		fmt.Fprintln(os.Stderr, "Error: Error in vibe command: boom")
		return 0
	case "exit1":
		return 1
	case "leak":
		key := os.Getenv("VIBECTL_ANTHROPIC_API_KEY")
		fmt.Println("the key is", key)
		fmt.Fprintln(os.Stderr, "[INFO] key", key, "and a lookalike sk-ant-api03-ZYXWVUTSRQPONMLKJIHG")
		return 0
	case "hang", "hangterm":
		if what == "hangterm" {
			signal.Ignore(syscall.SIGTERM)
		}
		_ = os.WriteFile(filepath.Join(dir, "started"), []byte("yes"), 0o600)
		time.Sleep(time.Hour)
	}
	return 0
}

// fakeKubectl prints the planner lines vibectl prints and runs kubectl
// from PATH (the shim) with vibectl's --kubeconfig, as vibectl does.
func fakeKubectl(action string, args ...string) int {
	plan, _ := json.Marshal(map[string]any{"action": map[string]any{
		"action_type": action, "commands": args,
	}})
	fmt.Fprintf(os.Stderr, "[INFO] Raw LLM response text:\n%s\n", plan)
	kc := os.Getenv("KUBECONFIG")
	full := append([]string{"--kubeconfig", kc}, args...)
	fmt.Fprintf(os.Stderr, "[INFO] Running kubectl command: kubectl %s\n", strings.Join(full, " "))
	cmd := exec.Command("kubectl", full...)
	out, err := cmd.CombinedOutput()
	fmt.Printf("%s", out)
	if err != nil {
		fmt.Fprintf(os.Stderr, "Error: Command failed: %s\n", strings.TrimSpace(string(out)))
		return 1
	}
	return 0
}
