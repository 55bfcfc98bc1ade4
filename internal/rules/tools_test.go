package rules

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The Prometheus and Alertmanager tools judge the files themselves. They
// are required: a missing tool fails the test, it does not skip it.

// tool returns the path of name or fails with how to install it.
func tool(t *testing.T, name, pkg string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is required to check the Prometheus rules and the "+
			"Alertmanager config but is not in PATH (%v); install it, for "+
			"example with `apt-get install %s`", name, err, pkg)
	}
	return path
}

// run runs a tool in the repository root, so messages name files as the
// repository does, and fails with its output if it fails.
func run(t *testing.T, path string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Dir = repoRoot
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(path), strings.Join(args, " "), err, out)
	}
	return string(out)
}

// glob lists files matching pattern under the repository root, relative to
// it.
func glob(t *testing.T, pattern string) []string {
	t.Helper()
	abs, err := filepath.Glob(filepath.Join(repoRoot, pattern))
	if err != nil || len(abs) == 0 {
		t.Fatalf("no files match %s (%v)", pattern, err)
	}
	rel := make([]string, len(abs))
	for i, p := range abs {
		if rel[i], err = filepath.Rel(repoRoot, p); err != nil {
			t.Fatalf("relative path of %s: %v", p, err)
		}
	}
	return rel
}

func TestPromtoolCheckRules(t *testing.T) {
	promtool := tool(t, "promtool", "prometheus")
	files := glob(t, filepath.Join(RulesDir, "*.yml"))
	out := run(t, promtool, append([]string{"check", "rules"}, files...)...)
	if n := strings.Count(out, "SUCCESS"); n != len(files) {
		t.Errorf("promtool check rules: %d successes for %d files:\n%s", n, len(files), out)
	}
}

func TestPromtoolTestRules(t *testing.T) {
	promtool := tool(t, "promtool", "prometheus")
	files := glob(t, filepath.Join(TestsDir, "*.yml"))
	out := run(t, promtool, append([]string{"test", "rules"}, files...)...)
	if n := strings.Count(out, "SUCCESS"); n != len(files) {
		t.Errorf("promtool test rules: %d successes for %d files:\n%s", n, len(files), out)
	}
}

func TestAmtoolCheckConfig(t *testing.T) {
	amtool := tool(t, "amtool", "prometheus-alertmanager")
	out := run(t, amtool, "check-config", AlertmanagerConfig)
	if !strings.Contains(out, "SUCCESS") || !strings.Contains(out, "1 receivers") {
		t.Errorf("amtool check-config:\n%s", out)
	}
}

// TestAmtoolCheckRendered checks what the local stack will run.
func TestAmtoolCheckRendered(t *testing.T) {
	amtool := tool(t, "amtool", "prometheus-alertmanager")
	src, err := os.ReadFile(filepath.Join(repoRoot, AlertmanagerConfig))
	if err != nil {
		t.Fatalf("read config: %v", err)
	}
	dir := t.TempDir()
	out, err := RenderAlertmanager(src, Webhook{
		URL:             "http://127.0.0.1:19104/alerts",
		CredentialsFile: filepath.Join(dir, "token"),
	})
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	path := filepath.Join(dir, "alertmanager.yml")
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatalf("write: %v", err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		t.Fatalf("abs: %v", err)
	}
	if got := run(t, amtool, "check-config", abs); !strings.Contains(got, "SUCCESS") {
		t.Errorf("amtool check-config (rendered):\n%s", got)
	}
}
