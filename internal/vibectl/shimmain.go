package vibectl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// EnvShimPolicy names the policy file of the kubectl shim. The agent sets
// it in vibectl's environment, which vibectl passes on to kubectl.
const EnvShimPolicy = "KAFKATUNE_SHIM_POLICY"

// ShimName is the name under which the shim must be found on PATH.
const ShimName = "kubectl"

// shimPing is the argument with which the agent checks, before the first
// step, that its shim answers as the shim.
const (
	shimPing  = "--kafkatune-shim-ping"
	shimReply = "kafkatune kubectl shim ok"
)

// InvokedAsShim reports whether a binary started as argv0 is to act as
// the kubectl shim: the agent installs itself on vibectl's PATH under the
// name kubectl. The agent's main calls ShimMain then:
//
//	if vibectl.InvokedAsShim(os.Args[0]) {
//		os.Exit(vibectl.ShimMain(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
//	}
func InvokedAsShim(argv0 string) bool { return filepath.Base(argv0) == ShimName }

// Exit codes of the shim besides the real kubectl's own.
const (
	shimExitRefused = 1
	shimExitBroken  = 125
)

// shimRecord is one line of the shim's invocation log.
type shimRecord struct {
	Time     time.Time         `json:"time"`
	Args     []string          `json:"args"`
	Allow    bool              `json:"allow"`
	Reason   string            `json:"reason,omitempty"`
	Verb     string            `json:"verb,omitempty"`
	Mutation bool              `json:"mutation"`
	Changes  map[string]string `json:"changes,omitempty"`
	ExitCode *int              `json:"exit_code,omitempty"`
	Seconds  float64           `json:"duration_seconds,omitempty"`
}

// ShimMain runs the kubectl shim: it judges args (without the program
// name) under the policy named in the environment, logs the invocation,
// applies the rate limit on changes and runs the real kubectl with the
// agent's kubeconfig. It returns the exit code.
func ShimMain(ctx context.Context, args []string, getenv func(string) string,
	stdout, stderr io.Writer,
) int {
	if len(args) == 1 && args[0] == shimPing {
		fmt.Fprintln(stdout, shimReply)
		return 0
	}
	p, err := LoadPolicy(getenv(EnvShimPolicy))
	if err != nil {
		fmt.Fprintf(stderr, "error: kafkatune kubectl guard: %v\n", err)
		return shimExitBroken
	}
	red := NewRedactor(secretsFromEnv(getenv)...)
	rec := shimRecord{Time: time.Now().UTC(), Args: redactArgs(args, red)}
	d := Decide(args, p)
	rec.Allow, rec.Reason, rec.Verb = d.Allow, d.Reason, d.Verb
	rec.Mutation, rec.Changes = d.Mutation, d.Changes
	if !d.Allow {
		return shimRefuse(p, &rec, stderr)
	}
	if d.Mutation {
		unlock, err := lockState(p.StateFile)
		if err != nil {
			fmt.Fprintf(stderr, "error: kafkatune kubectl guard: %v\n", err)
			return shimExitBroken
		}
		defer unlock()
		if err := checkRate(p, rec.Time); err != nil {
			rec.Allow, rec.Reason = false, err.Error()
			return shimRefuse(p, &rec, stderr)
		}
	}
	code := runReal(ctx, p, d.Args, getenv("HOME"), stdout, stderr)
	rec.ExitCode, rec.Seconds = &code, time.Since(rec.Time).Seconds()
	if d.Mutation && code == 0 {
		if err := writeState(p.StateFile, rec.Time); err != nil {
			fmt.Fprintf(stderr, "error: kafkatune kubectl guard: %v\n", err)
		}
	}
	appendShimLog(p.LogFile, &rec, stderr)
	return code
}

func shimRefuse(p *Policy, rec *shimRecord, stderr io.Writer) int {
	appendShimLog(p.LogFile, rec, stderr)
	fmt.Fprintf(stderr, "error: kafkatune guard refused this kubectl command: %s\n", rec.Reason)
	return shimExitRefused
}

// LoadPolicy reads the shim policy from path.
func LoadPolicy(path string) (*Policy, error) {
	if path == "" {
		return nil, fmt.Errorf("%s is not set: refusing every command", EnvShimPolicy)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read policy: %w", err)
	}
	var p Policy
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("decode policy %s: %w", path, err)
	}
	if p.RealKubectl == "" || p.Kubeconfig == "" || p.Namespace == "" || p.StatefulSet == "" {
		return nil, fmt.Errorf("policy %s is incomplete", path)
	}
	return &p, nil
}

// runReal runs the real kubectl with a clean environment: it sees the
// kubeconfig and nothing of vibectl's (no API keys).
func runReal(ctx context.Context, p *Policy, args []string, home string, stdout, stderr io.Writer) int {
	if p.CallTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(p.CallTimeout))
		defer cancel()
	}
	full := append([]string{"--kubeconfig=" + p.Kubeconfig}, args...)
	cmd := exec.CommandContext(ctx, p.RealKubectl, full...)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.Env = []string{
		"KUBECONFIG=" + p.Kubeconfig,
		"HOME=" + home,
		"PATH=/usr/local/bin:/usr/bin:/bin",
	}
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case ctx.Err() != nil:
		fmt.Fprintf(stderr, "error: kubectl did not finish within %s\n", time.Duration(p.CallTimeout))
		return shimExitRefused
	case errors.As(err, &ee) && ee.ExitCode() > 0:
		return ee.ExitCode()
	default:
		fmt.Fprintf(stderr, "error: run kubectl: %v\n", err)
		return shimExitBroken
	}
}

// checkRate refuses a change sooner than MinChangeInterval after the last
// one.
func checkRate(p *Policy, now time.Time) error {
	last, err := readState(p.StateFile)
	if err != nil {
		return err
	}
	next := last.Add(time.Duration(p.MinChangeInterval))
	if !last.IsZero() && now.Before(next) {
		return fmt.Errorf("one change every %s: the last was at %s, the next is allowed at %s; "+
			"wait and measure meanwhile", time.Duration(p.MinChangeInterval),
			last.Format(time.RFC3339), next.Format(time.RFC3339))
	}
	return nil
}

func readState(path string) (time.Time, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("read change state: %w", err)
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("parse change state %q: %w", s, err)
	}
	return t, nil
}

func writeState(path string, t time.Time) error {
	return os.WriteFile(path, []byte(t.UTC().Format(time.RFC3339Nano)+"\n"), 0o600)
}

// lockState takes an exclusive lock next to the state file, so that two
// changes racing each other are judged one after the other.
func lockState(path string) (func(), error) {
	f, err := os.OpenFile(path+".lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open change lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock change state: %w", err)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

func appendShimLog(path string, rec *shimRecord, stderr io.Writer) {
	if path == "" {
		return
	}
	b, err := json.Marshal(rec)
	if err == nil {
		err = appendFile(path, append(b, '\n'))
	}
	if err != nil {
		fmt.Fprintf(stderr, "error: kafkatune kubectl guard: write log: %v\n", err)
	}
}

func appendFile(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// credentialFlags carry secrets in their values.
var credentialFlags = []string{"--token", "--password", "--client-key", "--username"}

// redactArgs hides the values of credential flags and any known secret.
func redactArgs(args []string, red *Redactor) []string {
	out := make([]string, len(args))
	hideNext := false
	for i, a := range args {
		switch {
		case hideNext:
			out[i], hideNext = Redacted, false
			continue
		case isCredentialFlag(a):
			if strings.Contains(a, "=") {
				name, _, _ := strings.Cut(a, "=")
				out[i] = name + "=" + Redacted
				continue
			}
			hideNext = true
		}
		out[i] = red.String(a)
	}
	return out
}

func isCredentialFlag(a string) bool {
	name, _, _ := strings.Cut(a, "=")
	for _, f := range credentialFlags {
		if name == f {
			return true
		}
	}
	return false
}
