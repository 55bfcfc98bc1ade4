package vibectl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// maxCapture bounds what is kept of each output stream of one process.
const maxCapture = 4 << 20

// stopPoll is how often a running process checks its stop condition.
const stopPoll = 500 * time.Millisecond

// procSpec is one process to run to completion under a hard deadline.
type procSpec struct {
	Path  string
	Args  []string // without the program name
	Env   []string
	Dir   string
	Stdin io.Reader // nil: /dev/null
	// Timeout is the hard limit; after it the process group gets SIGTERM,
	// and SIGKILL Grace later.
	Timeout, Grace time.Duration
	// Stop, when it returns true, ends the process like a timeout.
	Stop func() bool
}

// procResult is how a process ended.
type procResult struct {
	Stdout, Stderr []byte
	// ExitCode is the exit status, or -1 when a signal ended the process.
	ExitCode int
	// TimedOut and Stopped say why the agent ended it; Killed that it
	// needed SIGKILL.
	TimedOut, Stopped, Killed bool
	Duration                  time.Duration
}

// runProcess runs spec in its own process group, so that on timeout the
// whole tree (vibectl, the shim, kubectl) is signalled. The end of ctx
// stops the process like the Stop condition. An error means the process
// could not start.
func runProcess(ctx context.Context, spec procSpec) (procResult, error) {
	var stdout, stderr limitedBuffer
	cmd := exec.Command(spec.Path, spec.Args...)
	cmd.Env, cmd.Dir, cmd.Stdin = spec.Env, spec.Dir, spec.Stdin
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// Grandchildren holding the pipes open cannot make Wait hang.
	cmd.WaitDelay = spec.Grace + time.Second

	begin := time.Now()
	if err := cmd.Start(); err != nil {
		return procResult{}, fmt.Errorf("start %s: %w", spec.Path, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	res := procResult{}
	waitErr := watch(ctx, cmd.Process.Pid, spec, done, &res)
	res.Duration = time.Since(begin)
	res.Stdout, res.Stderr = stdout.Bytes(), stderr.Bytes()
	res.ExitCode = exitCode(waitErr)
	return res, nil
}

// watch waits for the process, ending its group on timeout, stop or ctx.
func watch(ctx context.Context, pid int, spec procSpec, done <-chan error, res *procResult) error {
	deadline := time.NewTimer(spec.Timeout)
	defer deadline.Stop()
	tick := time.NewTicker(stopPoll)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			// Reap anything the process left behind in its group.
			_ = syscall.Kill(-pid, syscall.SIGKILL)
			return err
		case <-deadline.C:
			res.TimedOut = true
			return terminate(pid, spec.Grace, done, res)
		case <-tick.C:
			if spec.Stop != nil && spec.Stop() {
				res.Stopped = true
				return terminate(pid, spec.Grace, done, res)
			}
		case <-ctx.Done():
			res.Stopped = true
			return terminate(pid, spec.Grace, done, res)
		}
	}
}

// terminate sends SIGTERM to the group, then SIGKILL after grace.
func terminate(pid int, grace time.Duration, done <-chan error, res *procResult) error {
	_ = syscall.Kill(-pid, syscall.SIGTERM)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case err := <-done:
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		return err
	case <-t.C:
		res.Killed = true
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		return <-done
	}
}

func exitCode(err error) int {
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	return -1
}

// limitedBuffer keeps the first maxCapture bytes written to it and drops
// the rest, noting that it did.
type limitedBuffer struct {
	mu        sync.Mutex
	buf       []byte
	truncated bool
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	room := maxCapture - len(b.buf)
	if len(p) > room {
		b.buf = append(b.buf, p[:max(room, 0)]...)
		b.truncated = true
	} else {
		b.buf = append(b.buf, p...)
	}
	return len(p), nil
}

func (b *limitedBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := append([]byte(nil), b.buf...)
	if b.truncated {
		out = append(out, "\n[output truncated by the agent]\n"...)
	}
	return out
}
