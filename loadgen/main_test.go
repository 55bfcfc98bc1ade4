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
// the table below runs the real program: its parsing, its one stderr line
// and its exit status.
const asMain = "KAFKATUNE_TEST_RUN_LOADGEN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(asMain) == "1" {
		os.Args = append([]string{"loadgen"}, os.Args[1:]...)
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
		t.Fatalf("run loadgen %q: %v (it accepted the input and kept running?)", args, err)
		return 0, "", ""
	}
}

// badValues holds, per flag, a value it refuses and the modes that read
// the flag (none: the flag refuses no value).
var badValues = map[string]struct {
	value string
	modes []string
}{
	"broker":            {"localhost", both},
	"topic":             {"no spaces", both},
	"metrics-addr":      {"9101", both},
	"log-level":         {"loud", both},
	"log-format":        {"xml", both},
	"duration":          {"soon", both},
	"status-dir":        {" ", produce},
	"partitions":        {"0", produce},
	"message-size":      {"10", produce},
	"rate-mode":         {"fast", produce},
	"rate":              {"-5", produce},
	"max-rate":          {"0", produce},
	"target-latency-ms": {"-1", produce},
	"rate-mult":         {"1", produce},
	"rate-margin":       {"1.5", produce},
	"raise-below":       {"0", produce},
	"adjust-interval":   {"10ms", produce},
	"partition-skew":    {"2", produce},
	"partitioner":       {"random", produce},
	"max-in-flight":     {"0", produce},
	"acks":              {"2", produce},
	"idempotence":       {"maybe", produce},
	"linger-ms":         {"-1", produce},
	"compression":       {"brotli", produce},
	"group":             {" ", consume},
	// Any path parses; a file that cannot be opened fails the run (exit 1).
	"latency-log": {"", nil},
}

var (
	both    = []string{"produce", "consume"}
	produce = []string{"produce"}
	consume = []string{"consume"}
)

// flagLine matches a flag and its variable in the help text.
var flagLine = regexp.MustCompile(`(?m)^  -([a-z-]+)[^\n]*\n[^\n]*\(env ([A-Z_]+)\)`)

// helpFlags returns the flags and variables the help of mode documents.
func helpFlags(t *testing.T, mode string) map[string]string {
	t.Helper()
	code, stdout, _ := runMain(t, []string{mode, "--help"}, nil)
	if code != 0 {
		t.Fatalf("%s --help exited %d", mode, code)
	}
	flags := map[string]string{}
	for _, m := range flagLine.FindAllStringSubmatch(stdout, -1) {
		flags[m[1]] = m[2]
	}
	if len(flags) == 0 {
		t.Fatalf("no flags found in the help of %s:\n%s", mode, stdout)
	}
	return flags
}

// TestBadFlagsAndEnv gives every flag of both modes a bad value, on the
// command line and through its environment variable: the program must
// exit 2 and print one line that names the flag, its variable and what is
// allowed. Every flag the help documents must be in the table.
func TestBadFlagsAndEnv(t *testing.T) {
	for _, mode := range both {
		for name, env := range helpFlags(t, mode) {
			bad, ok := badValues[name]
			if !ok {
				t.Errorf("flag -%s of %s has no bad value in the table", name, mode)
				continue
			}
			if !contains(bad.modes, mode) {
				continue
			}
			t.Run(mode+"/flag/"+name, func(t *testing.T) {
				checkUsage(t, []string{mode, "--" + name + "=" + bad.value}, nil,
					"--"+name, env, "allowed")
			})
			t.Run(mode+"/env/"+name, func(t *testing.T) {
				checkUsage(t, []string{mode}, map[string]string{env: bad.value},
					"--"+name, env, "allowed")
			})
		}
	}
}

// TestBadCommandLine covers the input that is not a flag value.
func TestBadCommandLine(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"no mode", nil, []string{"missing mode", "allowed produce, consume"}},
		{"unknown mode", []string{"bench"}, []string{`"bench"`, "allowed produce, consume"}},
		{"unknown flag", []string{"produce", "--bogus"}, []string{"-bogus", "produce --help"}},
		{"stray argument", []string{"consume", "now"}, []string{`"now"`, "only flags"}},
		{"flag without value", []string{"produce", "--rate"}, []string{"-rate", "argument"}},
		{"newline in a flag name", []string{"produce", "-\n"}, []string{"not defined"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkUsage(t, tt.args, nil, tt.want...)
		})
	}
}

func checkUsage(t *testing.T, args []string, env map[string]string, want ...string) {
	t.Helper()
	code, stdout, stderr := runMain(t, args, env)
	if code != 2 {
		t.Errorf("exit status %d, want 2; stderr %q", code, stderr)
	}
	line, ok := strings.CutSuffix(stderr, "\n")
	if !ok || strings.Contains(line, "\n") || !strings.HasPrefix(line, "loadgen: ") {
		t.Errorf("stderr %q, want exactly one line starting with loadgen:", stderr)
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

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
