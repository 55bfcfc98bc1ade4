// Package childproc runs one external program as a supervised child: in its
// own process group, killed if this process dies, its output streamed line by
// line into a structured log, stopped with SIGTERM and then SIGKILL after a
// bound. The Kafka broker, Prometheus, Alertmanager and the load generators of
// the local stack all run through it.
package childproc

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// DefaultStopTimeout bounds how long Stop waits after SIGTERM before it sends
// SIGKILL, when the context given to Stop has no earlier deadline.
const DefaultStopTimeout = 30 * time.Second

// Spec says what to run.
type Spec struct {
	// Name identifies the child in logs and errors ("kafka", "producer").
	Name string
	// Path is the executable; Args are its arguments (without argv[0]).
	Path string
	Args []string
	// Env is added to this process's environment (KEY=value entries).
	Env []string
	// Dir is the working directory; empty means the current one.
	Dir string
	// Output, if set, also receives every output line (for a log file).
	Output io.Writer
}

// Process is a running child.
type Process struct {
	name   string
	cmd    *exec.Cmd
	done   chan struct{}
	err    error // exit status, valid after done is closed
	output sync.WaitGroup

	stopOnce sync.Once
	stopping chan struct{}
}

// Start starts the child described by spec. Its stdout and stderr lines are
// logged at Info with the attribute component=spec.Name.
func Start(logger *slog.Logger, spec Spec) (*Process, error) {
	if spec.Name == "" || spec.Path == "" {
		return nil, errors.New("childproc: spec needs a name and a path")
	}
	cmd := exec.Command(spec.Path, spec.Args...)
	cmd.Dir = spec.Dir
	cmd.Env = append(os.Environ(), spec.Env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Setpgid: true,
		// The child dies with us, so no JVM outlives a killed test.
		Pdeathsig: syscall.SIGKILL,
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("%s: stdout pipe: %w", spec.Name, err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, fmt.Errorf("%s: stderr pipe: %w", spec.Name, err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", spec.Name, err)
	}

	p := &Process{
		name:     spec.Name,
		cmd:      cmd,
		done:     make(chan struct{}),
		stopping: make(chan struct{}),
	}
	log := logger.With("component", spec.Name)
	var mu sync.Mutex // serialises writes to spec.Output
	p.output.Add(2)
	go p.copyLines(log, stdout, spec.Output, &mu)
	go p.copyLines(log, stderr, spec.Output, &mu)
	go p.wait()
	log.Debug("child started", "pid", cmd.Process.Pid, "path", spec.Path)
	return p, nil
}

func (p *Process) copyLines(log *slog.Logger, r io.Reader, w io.Writer, mu *sync.Mutex) {
	defer p.output.Done()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		log.Info("output", "line", line)
		if w != nil {
			mu.Lock()
			_, _ = io.WriteString(w, line+"\n")
			mu.Unlock()
		}
	}
}

func (p *Process) wait() {
	// Wait for the pipes to drain first: cmd.Wait closes them.
	p.output.Wait()
	p.err = p.cmd.Wait()
	close(p.done)
}

// Name returns the child's name.
func (p *Process) Name() string { return p.name }

// PID returns the child's process id.
func (p *Process) PID() int { return p.cmd.Process.Pid }

// Done is closed when the child has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Err returns how the child exited; call it after Done is closed. It is nil
// for exit status 0.
func (p *Process) Err() error {
	select {
	case <-p.done:
		return p.err
	default:
		return nil
	}
}

// Stopping reports whether Stop has been called.
func (p *Process) Stopping() bool {
	select {
	case <-p.stopping:
		return true
	default:
		return false
	}
}

// Stop sends SIGTERM to the child's process group and waits for it to exit.
// If it is still running when ctx ends (or after DefaultStopTimeout when ctx
// has no deadline), the group gets SIGKILL. Stop returns nil once the child
// is gone, whatever its exit status; it is safe to call more than once.
func (p *Process) Stop(ctx context.Context) error {
	p.stopOnce.Do(func() { close(p.stopping) })
	select {
	case <-p.done:
		return nil
	default:
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultStopTimeout)
		defer cancel()
	}
	pgid := -p.cmd.Process.Pid
	if err := syscall.Kill(pgid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("stop %s: sigterm: %w", p.name, err)
	}
	select {
	case <-p.done:
		return nil
	case <-ctx.Done():
	}
	if err := syscall.Kill(pgid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("stop %s: sigkill: %w", p.name, err)
	}
	select {
	case <-p.done:
		return fmt.Errorf("stop %s: killed after SIGTERM timed out: %w", p.name, ctx.Err())
	case <-time.After(10 * time.Second):
		return fmt.Errorf("stop %s: still running after SIGKILL", p.name)
	}
}
