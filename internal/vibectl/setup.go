package vibectl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"sigs.k8s.io/yaml"
)

// Files of the agent in the status directory.
const (
	// AgentLogFile receives every step's output, redacted.
	AgentLogFile = "vibectl_agent.log"
	// ShutdownFile is the kill switch: while it exists no step starts and
	// a running one is stopped.
	ShutdownFile = "shutdown"
)

// Files in the per-run directory.
const (
	dirVibectl  = "vibectl"
	dirLLM      = "llm"
	dirShim     = "shim"
	policyFile  = "policy.json"
	shimLogFile = "kubectl.log"
	stateFile   = "last-change"
)

// prepare creates the per-run directory, installs the shim with its
// policy and builds vibectl's environment.
func (r *Runner) prepare() error {
	dir, err := os.MkdirTemp(r.cfg.WorkDir, "kafkatune-vibectl-")
	if err != nil {
		return fmt.Errorf("create vibectl work dir: %w", err)
	}
	r.dir = dir
	for _, d := range []string{dirVibectl, dirLLM, dirShim} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			return fmt.Errorf("create %s: %w", d, err)
		}
	}
	real, err := exec.LookPath(r.cfg.Kubectl)
	if err != nil {
		return fmt.Errorf("find the real kubectl -%s %q: %w", flagKubectl, r.cfg.Kubectl, err)
	}
	if real, err = filepath.Abs(real); err != nil {
		return fmt.Errorf("find the real kubectl: %w", err)
	}
	shim, err := r.cfg.shimPath()
	if err != nil {
		return err
	}
	if same, _ := sameFile(real, shim); same {
		return fmt.Errorf("-%s %s is the shim itself", flagKubectl, real)
	}
	shimDir := filepath.Join(dir, dirShim)
	if err := os.Symlink(shim, filepath.Join(shimDir, ShimName)); err != nil {
		return fmt.Errorf("install kubectl shim: %w", err)
	}
	r.shimLog = filepath.Join(shimDir, shimLogFile)
	if err := r.writePolicy(real, shimDir); err != nil {
		return err
	}
	r.env = r.buildEnv(shimDir)
	return r.pingShim(filepath.Join(shimDir, ShimName))
}

// pingShim checks that the installed shim is the shim: a binary that does
// not dispatch on its name would let every kubectl call fail, or worse.
func (r *Runner) pingShim(path string) error {
	ctx, cancel := context.WithTimeout(context.Background(), r.cfg.SetupTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, shimPing)
	cmd.Env = r.env
	out, err := cmd.Output()
	if err != nil || strings.TrimSpace(string(out)) != shimReply {
		return fmt.Errorf("kubectl shim %s does not answer as the shim (%q, %v): "+
			"the agent's main must call ShimMain when run as %s", path, out, err, ShimName)
	}
	return nil
}

func sameFile(a, b string) (bool, error) {
	ia, err := os.Stat(a)
	if err != nil {
		return false, err
	}
	ib, err := os.Stat(b)
	if err != nil {
		return false, err
	}
	return os.SameFile(ia, ib), nil
}

func (r *Runner) writePolicy(realKubectl, shimDir string) error {
	c := &r.cfg
	p := Policy{
		RealKubectl:        realKubectl,
		Kubeconfig:         c.VibectlKubeconfig,
		Namespace:          c.Namespace,
		StatefulSet:        c.StatefulSet,
		Container:          c.Container,
		ProtectedConfigMap: c.ConfigMap,
		Limits:             c.Limits,
		MinChangeInterval:  Duration(c.MinChangeInterval),
		CallTimeout:        Duration(c.StepTimeout),
		RolloutTimeout:     Duration(min(2*time.Minute, c.StepTimeout/2)),
		LogFile:            r.shimLog,
		StateFile:          filepath.Join(shimDir, stateFile),
	}
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return fmt.Errorf("encode shim policy: %w", err)
	}
	r.policy = filepath.Join(shimDir, policyFile)
	if err := os.WriteFile(r.policy, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write shim policy: %w", err)
	}
	return nil
}

// buildEnv returns vibectl's whole environment: nothing of the agent's
// leaks in except PassEnv. HOME is the work directory, so no kubeconfig or
// llm key file of the user's is found by default.
func (r *Runner) buildEnv(shimDir string) []string {
	c := &r.cfg
	env := []string{
		"PATH=" + shimDir + string(os.PathListSeparator) + os.Getenv("PATH"),
		"HOME=" + r.dir,
		"VIBECTL_CONFIG_DIR=" + filepath.Join(r.dir, dirVibectl),
		"LLM_USER_PATH=" + filepath.Join(r.dir, dirLLM),
		"VIBECTL_LOG_LEVEL=INFO",
		"NO_COLOR=1",
		"TERM=dumb",
		"COLUMNS=200",
		"PYTHONIOENCODING=utf-8",
		"PYTHONUNBUFFERED=1",
		"KUBECONFIG=" + c.VibectlKubeconfig,
		EnvShimPolicy + "=" + r.policy,
	}
	if keyEnv := KeyEnv(Provider(c.Model)); keyEnv != "" {
		if c.APIKey != "" {
			env = append(env, keyEnv+"="+c.APIKey.Reveal())
		}
		if c.APIKeyFile != "" {
			env = append(env, keyEnv+"_FILE="+c.APIKeyFile)
		}
	}
	for _, name := range c.PassEnv {
		if v, ok := os.LookupEnv(name); ok {
			env = append(env, name+"="+v)
		}
	}
	return append(env, r.extraEnv...)
}

// vibectlSettings are the `config set` keys of every run (contract §6).
func (r *Runner) vibectlSettings() [][2]string {
	return [][2]string{
		{"llm.model", r.cfg.Model},
		{"core.kubeconfig", r.cfg.VibectlKubeconfig},
		{"memory.max_chars", itoa(r.cfg.MemoryMaxChars)},
		{"display.show_streaming", "false"},
		{"display.show_kubectl", "true"},
		{"display.show_raw_output", "true"},
		{"display.show_metrics", "total"},
		{"warnings.warn_no_output", "false"},
	}
}

// configure sets vibectl up once for the run. `config set` exits 0 even
// when it fails, so each command's stderr is read for "Error:" lines and
// the result is read back from vibectl's config file; llm.model, which
// vibectl validates against the llm library, is also checked with
// `config show`.
func (r *Runner) configure(ctx context.Context, instructions, memory string) error {
	settings := r.vibectlSettings()
	for _, kv := range settings {
		if _, err := r.setupCall(ctx, "", "config", "set", kv[0], kv[1]); err != nil {
			return err
		}
	}
	out, err := r.setupCall(ctx, "", "config", "show", "llm.model")
	if err != nil {
		return err
	}
	if got := strings.TrimSpace(string(out)); got != "llm.model: "+r.cfg.Model {
		return fmt.Errorf("vibectl config show llm.model says %q, want %q", got, r.cfg.Model)
	}
	if _, err := r.setupCall(ctx, instructions, "instructions", "set"); err != nil {
		return err
	}
	if _, err := r.setupCall(ctx, memory, "memory", "set"); err != nil {
		return err
	}
	return r.verifyConfig(settings, instructions, memory)
}

// setupCall runs one vibectl configuration command with stdin and returns
// its stdout. Any "Error:" line on stderr fails it, whatever the exit
// status.
func (r *Runner) setupCall(ctx context.Context, stdin string, args ...string) ([]byte, error) {
	spec := procSpec{
		Path: r.cfg.Vibectl, Args: args, Env: r.env, Dir: r.dir,
		Timeout: r.cfg.SetupTimeout, Grace: r.cfg.KillGrace,
	}
	if stdin != "" {
		spec.Stdin = strings.NewReader(stdin)
	}
	res, err := runProcess(ctx, spec)
	r.appendLog(fmt.Sprintf("[agent] setup: vibectl %s\n", strings.Join(setupArgsForLog(args), " ")),
		res.Stdout, res.Stderr)
	what := "vibectl " + strings.Join(setupArgsForLog(args), " ")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if res.Stopped {
		return nil, fmt.Errorf("%s: stopped", what)
	}
	if res.TimedOut {
		return nil, fmt.Errorf("%s: no answer within %s", what, r.cfg.SetupTimeout)
	}
	if errs := ParseOutput(res.Stderr).Errors; len(errs) > 0 {
		return nil, fmt.Errorf("%s: %s", what, r.red.String(errs[0]))
	}
	if res.ExitCode != 0 {
		return nil, fmt.Errorf("%s: exit status %d", what, res.ExitCode)
	}
	return res.Stdout, nil
}

// setupArgsForLog keeps the command and the key, not long values.
func setupArgsForLog(args []string) []string {
	if len(args) > 3 {
		return args[:3]
	}
	return args
}

// verifyConfig reads vibectl's config file back.
func (r *Runner) verifyConfig(settings [][2]string, instructions, memory string) error {
	path := filepath.Join(r.dir, dirVibectl, "client", "config.yaml")
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read vibectl config: %w", err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return fmt.Errorf("decode vibectl config %s: %w", path, err)
	}
	want := append(settings,
		[2]string{"system.custom_instructions", strings.TrimSpace(instructions)},
		[2]string{"memory_content", strings.TrimSpace(memory)})
	var errs []error
	for _, kv := range want {
		got, ok := lookupDotted(doc, kv[0])
		if !ok || strings.TrimSpace(got) != kv[1] {
			errs = append(errs, fmt.Errorf("vibectl config %s is %q, want %q", kv[0], got, kv[1]))
		}
	}
	return errors.Join(errs...)
}

func lookupDotted(doc map[string]any, key string) (string, bool) {
	var cur any = doc
	for _, part := range strings.Split(key, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return "", false
		}
		if cur, ok = m[part]; !ok {
			return "", false
		}
	}
	if cur == nil {
		return "", false
	}
	return fmt.Sprint(cur), true
}
