package perfbench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// stopGrace is how long a child has after SIGTERM before it is killed.
const stopGrace = 15 * time.Second

// proc is a child process of the bench. Its output is kept line by line,
// and its CPU time is read from its resource usage once it has exited.
type proc struct {
	name   string
	cmd    *exec.Cmd
	stdout *lines
	stderr *lines
	done   chan struct{}
	err    error // the exit, valid after done
	start  time.Time
	wall   time.Duration
}

// startProc starts path with args. Ending ctx sends SIGTERM, then SIGKILL
// after stopGrace.
func startProc(ctx context.Context, name, path string, args ...string) (*proc, error) {
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = stopGrace
	// The child dies with the bench, so no client outlives a killed run.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	p := &proc{name: name, cmd: cmd, stdout: newLines(), stderr: newLines(), done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.stdout, p.stderr
	p.start = time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() {
		p.err = cmd.Wait()
		p.wall = time.Since(p.start)
		p.stdout.close()
		p.stderr.close()
		close(p.done)
	}()
	return p, nil
}

// pid returns the child's process id.
func (p *proc) pid() int { return p.cmd.Process.Pid }

// wait waits for the child to exit and returns its exit error, with the
// last lines of its stderr when it failed.
func (p *proc) wait(ctx context.Context) error {
	select {
	case <-p.done:
	case <-ctx.Done():
		return fmt.Errorf("wait for %s: %w", p.name, ctx.Err())
	}
	if p.err != nil {
		return fmt.Errorf("%s: %w: %s", p.name, p.err, tail(p.stderr.text(), 10))
	}
	return nil
}

// stop sends SIGTERM, waits up to stopGrace, then kills the child.
func (p *proc) stop() error {
	select {
	case <-p.done:
		return nil
	default:
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("stop %s: %w", p.name, err)
	}
	select {
	case <-p.done:
		return nil
	case <-time.After(stopGrace):
	}
	if err := p.cmd.Process.Kill(); err != nil {
		return fmt.Errorf("kill %s: %w", p.name, err)
	}
	<-p.done
	return nil
}

// cpu returns the user plus system CPU time of the exited child (all its
// threads).
func (p *proc) cpu() time.Duration {
	st := p.cmd.ProcessState
	if st == nil {
		return 0
	}
	return st.UserTime() + st.SystemTime()
}

// lines is an io.Writer that keeps what a child writes, line by line, and
// wakes up waiters on every new line.
type lines struct {
	mu      sync.Mutex
	partial []byte
	all     []string
	changed chan struct{} // closed and replaced on every change
	closed  bool
}

func newLines() *lines { return &lines{changed: make(chan struct{})} }

func (l *lines) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.partial = append(l.partial, b...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		l.all = append(l.all, strings.TrimRight(string(l.partial[:i]), "\r"))
		l.partial = l.partial[i+1:]
	}
	l.notifyLocked()
	return len(b), nil
}

func (l *lines) notifyLocked() {
	close(l.changed)
	l.changed = make(chan struct{})
}

// close keeps a last line without a newline and wakes up the waiters for
// good.
func (l *lines) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.partial) > 0 {
		l.all = append(l.all, string(l.partial))
		l.partial = nil
	}
	l.closed = true
	l.notifyLocked()
}

func (l *lines) snapshot() ([]string, chan struct{}, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.all, l.changed, l.closed
}

func (l *lines) text() string {
	all, _, _ := l.snapshot()
	return strings.Join(all, "\n")
}

// logRecord is one JSON log line of a loadgen child.
type logRecord map[string]any

func (r logRecord) msg() string { s, _ := r["msg"].(string); return s }

func (r logRecord) time() (time.Time, error) {
	s, _ := r["time"].(string)
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("log record %q: bad time %q: %w", r.msg(), s, err)
	}
	return t, nil
}

func (r logRecord) number(key string) (float64, error) {
	v, ok := r[key].(float64)
	if !ok {
		return 0, fmt.Errorf("log record %q: no number %s", r.msg(), key)
	}
	return v, nil
}

// records returns the JSON log records among the lines so far.
func (l *lines) records() []logRecord {
	all, _, _ := l.snapshot()
	var out []logRecord
	for _, s := range all {
		var r logRecord
		if json.Unmarshal([]byte(s), &r) == nil {
			out = append(out, r)
		}
	}
	return out
}

// find returns the first JSON record with message msg.
func (l *lines) find(msg string) (logRecord, bool) {
	for _, r := range l.records() {
		if r.msg() == msg {
			return r, true
		}
	}
	return nil, false
}

// waitFor waits until a JSON record with message msg arrives, the output
// ends or ctx ends.
func (l *lines) waitFor(ctx context.Context, msg string) (logRecord, error) {
	for {
		_, changed, closed := l.snapshot()
		if r, ok := l.find(msg); ok {
			return r, nil
		}
		if closed {
			return nil, fmt.Errorf("output ended before %q: %s", msg, tail(l.text(), 10))
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return nil, fmt.Errorf("wait for %q: %w", msg, ctx.Err())
		}
	}
}
