package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

// asMain makes the test binary run main() instead of the tests, so that
// the tables below run the real program: its parsing, its one stderr line
// and its exit status.
const asMain = "KAFKATUNE_TEST_RUN_EXPORTER_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(asMain) == "1" {
		os.Args = append([]string{"exporter"}, os.Args[1:]...)
		main()
		return
	}
	os.Exit(m.Run())
}

// runMain runs the program with args and only the environment env, and
// returns its exit status, stdout and stderr.
func runMain(t *testing.T, args []string, env map[string]string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], args...)
	cmd.Env = []string{asMain + "=1", "PATH=" + os.Getenv("PATH")}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0, stdout.String(), stderr.String()
	case errors.As(err, &exit) && ctx.Err() == nil:
		return exit.ExitCode(), stdout.String(), stderr.String()
	default:
		t.Fatalf("run exporter %q: %v (it accepted the input and kept running?)", args, err)
		return 0, "", ""
	}
}

// badValues holds, per flag, a value it refuses on its own.
var badValues = map[string]string{
	"prometheus-url":      "localhost:9090",
	"interval":            "soon",
	"window":              "8s", // under twice the default interval
	"query-timeout":       "0s",
	"stale-after":         "1s", // under the default interval
	"status-dir":          "",
	"target-latency-ms":   "0",
	"in-cluster":          "maybe",
	"configmap-namespace": "Kafka_NS",
	"configmap-name":      "no/slash",
	"metrics-addr":        "localhost",
	"log-level":           "loud",
	// Any path parses; only together with -in-cluster is it refused
	// (TestBadCommandLine).
	"kubeconfig": "",
}

// flagLine matches a flag and its variable in the help text.
var flagLine = regexp.MustCompile(`(?m)^  -([a-z-]+)[^\n]*\n[^\n]*\(env ([A-Z_]+)\)`)

// TestBadFlagsAndEnv gives every flag a bad value, on the command line and
// through its environment variable: the program must exit 2 and print one
// line that names the flag, its variable and what is allowed. Every flag
// the help documents must be in the table.
func TestBadFlagsAndEnv(t *testing.T) {
	code, help, _ := runMain(t, []string{"-help"}, nil)
	if code != 0 {
		t.Fatalf("-help exited %d", code)
	}
	flags := flagLine.FindAllStringSubmatch(help, -1)
	if len(flags) == 0 {
		t.Fatalf("no flags found in the help:\n%s", help)
	}
	for _, f := range flags {
		name, env := f[1], f[2]
		bad, ok := badValues[name]
		if !ok {
			t.Errorf("flag -%s has no bad value in the table", name)
			continue
		}
		if name == "kubeconfig" {
			continue
		}
		t.Run("flag/"+name, func(t *testing.T) {
			checkUsage(t, []string{"-" + name + "=" + bad}, nil, "-"+name, env, "want")
		})
		t.Run("env/"+name, func(t *testing.T) {
			checkUsage(t, nil, map[string]string{env: bad}, "-"+name, env, "want")
		})
	}
}

// TestBadCommandLine covers the input that is not one flag's value.
func TestBadCommandLine(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want []string
	}{
		{"unknown flag", []string{"-bogus"}, nil, []string{"-bogus", "not defined"}},
		{"stray argument", []string{"now"}, nil, []string{`"now"`, "flags only"}},
		{"flag without value", []string{"-interval"}, nil, []string{"-interval", "argument"}},
		{"kubeconfig with in-cluster", []string{"-in-cluster"}, map[string]string{"KUBECONFIG": "/k"},
			[]string{"-kubeconfig", "KUBECONFIG", "-in-cluster", "IN_CLUSTER"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkUsage(t, tt.args, tt.env, tt.want...)
		})
	}
}

func checkUsage(t *testing.T, args []string, env map[string]string, want ...string) {
	t.Helper()
	code, stdout, stderr := runMain(t, args, env)
	if code != exitUsage {
		t.Errorf("exit status %d, want %d; stderr %q", code, exitUsage, stderr)
	}
	line, ok := strings.CutSuffix(stderr, "\n")
	if !ok || strings.Contains(line, "\n") || !strings.HasPrefix(line, "exporter: ") {
		t.Errorf("stderr %q, want exactly one line starting with exporter:", stderr)
	}
	for _, w := range want {
		if !strings.Contains(line, w) {
			t.Errorf("stderr %q does not contain %q", line, w)
		}
	}
	if stdout != "" {
		t.Errorf("stdout %q, want nothing", stdout)
	}
}
