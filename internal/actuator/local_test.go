package actuator_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kafkatune/kafkatune/internal/actuator"
	"github.com/kafkatune/kafkatune/internal/kafkaproc"
	"github.com/kafkatune/kafkatune/internal/kafkaproc/kafkatest"
	"github.com/kafkatune/kafkatune/internal/knobs"
)

// TestLocalRealBroker drives a real broker through a live thread change, a
// heap change that restarts it, and refused settings that change nothing.
func TestLocalRealBroker(t *testing.T) {
	b := kafkatest.Start(t, func(c *kafkaproc.Config) { c.JMXPort = kafkaproc.JMXDisabled })
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	logs := &lockedBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, nil))
	bounds := knobs.Limits{CPUs: 2, MemoryMB: 1024}.Bounds() // heap ..512, threads ..4 and ..8
	a, err := actuator.NewLocal(logger, b, bounds)
	if err != nil {
		t.Fatalf("NewLocal: %v", err)
	}
	defer a.Close()
	defer func() {
		if t.Failed() {
			t.Logf("actuator log:\n%s", logs)
		}
	}()

	assertCurrent(ctx, t, a, knobs.Start())

	// Threads change live: the same JVM keeps running.
	pid := b.PID()
	live := knobs.Setting{HeapMB: 256, NetworkThreads: 4, IOThreads: 7}
	if err := a.Apply(ctx, live); err != nil {
		t.Fatalf("Apply(%s): %v", live, err)
	}
	if b.PID() != pid {
		t.Fatalf("pid %d after a thread change, was %d: want no restart", b.PID(), pid)
	}
	assertCurrent(ctx, t, a, live)

	// A new heap restarts the broker, which comes back with it.
	heap := knobs.Setting{HeapMB: 384, NetworkThreads: 3, IOThreads: 7}
	if err := a.Apply(ctx, heap); err != nil {
		t.Fatalf("Apply(%s): %v", heap, err)
	}
	if b.PID() == pid {
		t.Fatalf("pid unchanged (%d) after a heap change: want a restart", pid)
	}
	if mb, err := b.RunningHeapMB(); err != nil || mb != 384 {
		t.Fatalf("RunningHeapMB() = %d, %v; want 384", mb, err)
	}
	assertCurrent(ctx, t, a, heap)

	// Out of bounds: refused before anything changes.
	pid = b.PID()
	for _, tt := range []struct {
		s    knobs.Setting
		knob string
		text string
	}{
		{knobs.Setting{HeapMB: 1024, NetworkThreads: 1, IOThreads: 2}, knobs.KnobHeap,
			"heap 1024 MiB is outside the allowed range 256..512 MiB"},
		{knobs.Setting{HeapMB: 256, NetworkThreads: 5, IOThreads: 2}, knobs.KnobNetworkThreads,
			"num.network.threads 5 is outside the allowed range 1..4 (2 x 2 CPUs)"},
	} {
		err := a.Apply(ctx, tt.s)
		var be *knobs.BoundError
		if !errors.As(err, &be) || be.Knob != tt.knob || !strings.Contains(err.Error(), tt.text) {
			t.Errorf("Apply(%s) = %v, want a bound error on %s containing %q", tt.s, err, tt.knob, tt.text)
		}
	}
	if b.PID() != pid {
		t.Fatalf("pid %d after refused settings, was %d", b.PID(), pid)
	}
	assertCurrent(ctx, t, a, heap)

	out := logs.String()
	for _, want := range []string{
		`from="heap=256MiB network_threads=1 io_threads=2" ` +
			`to="heap=256MiB network_threads=4 io_threads=7" restart=false`,
		`to="heap=384MiB network_threads=3 io_threads=7" restart=true`,
		`msg="setting refused"`,
	} {
		if !strings.Contains(out, want) || !strings.Contains(out, `msg="setting applied"`) {
			t.Errorf("actuator log lacks %q", want)
		}
	}
}

func assertCurrent(ctx context.Context, t *testing.T, a actuator.Actuator, want knobs.Setting) {
	t.Helper()
	got, err := a.Current(ctx)
	if err != nil || got != want {
		t.Fatalf("Current() = %s, %v; want %s", got, err, want)
	}
}

// lockedBuffer is a bytes.Buffer safe for concurrent writers.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
