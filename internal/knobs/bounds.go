package knobs

import (
	"errors"
	"fmt"
	"math"
	"strconv"
)

// Bounds rules, in terms of the sandbox limits:
//
//   - heap in [MinHeapMB, MemoryMB/2] MiB, on a grid of HeapStepMB. The
//     floor is the de-optimized start: with 128 MiB a Kafka 4.1 broker
//     dies at start-up allocating its log cleaner's dedupe buffer
//     (OutOfMemoryError in SkimpyOffsetMap, seen on the local stack). At most
//     half the memory limit goes to the heap; the rest is left for the page
//     cache (Kafka reads and writes its log through it), metaspace, direct
//     buffers (network and log I/O), thread stacks and the JVM's own
//     overhead. A heap near the container limit gets the broker killed.
//   - num.network.threads in [1, NetworkThreadsPerCPU x CPUs]. Network
//     threads only move bytes between sockets and the request queue; they
//     are CPU-bound, so more than a couple per core only adds contention.
//   - num.io.threads in [1, IOThreadsPerCPU x CPUs]. I/O threads serve
//     requests and block on the disk (log appends, fsync, reads past the
//     page cache), so more of them than cores keeps the CPUs busy while
//     others wait.
const (
	MinHeapMB            = 256
	HeapStepMB           = 64
	NetworkThreadsPerCPU = 2
	IOThreadsPerCPU      = 4
)

// Default sandbox limits.
const (
	DefaultCPUs     = 4.0
	DefaultMemoryMB = 4096
)

// Limits are the resources of the broker's sandbox.
type Limits struct {
	// CPUs is the CPU limit in cores (may be fractional, e.g. 1.5).
	CPUs float64
	// MemoryMB is the memory limit in MiB.
	MemoryMB int
}

// DefaultLimits returns the sandbox defaults: 4 CPUs and 4096 MiB.
func DefaultLimits() Limits {
	return Limits{CPUs: DefaultCPUs, MemoryMB: DefaultMemoryMB}
}

// Validate reports limits too small to hold any setting.
func (l Limits) Validate() error {
	if math.IsNaN(l.CPUs) || math.IsInf(l.CPUs, 0) || l.CPUs < 0.5 {
		return fmt.Errorf("cpu limit %v is below the minimum of 0.5", l.CPUs)
	}
	if l.MemoryMB/2 < MinHeapMB {
		return fmt.Errorf("memory limit %d MiB is below the minimum of %d MiB",
			l.MemoryMB, 2*MinHeapMB)
	}
	return nil
}

// Range is an inclusive range of integer values on a grid of Step.
type Range struct {
	Min, Max, Step int
}

// Contains reports whether v is in [Min, Max].
func (r Range) Contains(v int) bool { return v >= r.Min && v <= r.Max }

// Values returns every grid value from Min to Max.
func (r Range) Values() []int {
	var vs []int
	for v := r.Min; v <= r.Max; v += r.Step {
		vs = append(vs, v)
	}
	return vs
}

// Snap returns the grid value nearest to v inside the range.
func (r Range) Snap(v int) int {
	if v <= r.Min {
		return r.Min
	}
	if v >= r.Max {
		return r.Max
	}
	k := (v - r.Min + r.Step/2) / r.Step
	return min(r.Min+k*r.Step, r.Max)
}

// Bounds are the values the agent may set, derived from Limits.
type Bounds struct {
	Limits         Limits
	HeapMB         Range
	NetworkThreads Range
	IOThreads      Range
}

// Bounds derives the allowed ranges from l (see the rules above). Call
// Validate first: for limits below the minimum the ranges are empty.
func (l Limits) Bounds() Bounds {
	maxHeap := MinHeapMB + (l.MemoryMB/2-MinHeapMB)/HeapStepMB*HeapStepMB
	return Bounds{
		Limits:         l,
		HeapMB:         Range{Min: MinHeapMB, Max: maxHeap, Step: HeapStepMB},
		NetworkThreads: Range{Min: 1, Max: threadMax(NetworkThreadsPerCPU, l.CPUs), Step: 1},
		IOThreads:      Range{Min: 1, Max: threadMax(IOThreadsPerCPU, l.CPUs), Step: 1},
	}
}

func threadMax(perCPU int, cpus float64) int {
	return max(1, int(math.Floor(float64(perCPU)*cpus)))
}

// Size is the number of settings on the grid.
func (b Bounds) Size() int {
	return len(b.HeapMB.Values()) * len(b.NetworkThreads.Values()) *
		len(b.IOThreads.Values())
}

// Grid returns every setting on the grid, heap varying slowest.
func (b Bounds) Grid() []Setting {
	grid := make([]Setting, 0, b.Size())
	for _, h := range b.HeapMB.Values() {
		for _, n := range b.NetworkThreads.Values() {
			for _, io := range b.IOThreads.Values() {
				grid = append(grid, Setting{HeapMB: h, NetworkThreads: n, IOThreads: io})
			}
		}
	}
	return grid
}

// BoundError says which knob is out of its allowed range.
type BoundError struct {
	Knob  string
	Value int
	Range Range
	// Rule explains where the range comes from, e.g. "4 x 4 CPUs".
	Rule string
	// Unit is appended to values, e.g. " MiB" for the heap.
	Unit string
}

func (e *BoundError) Error() string {
	return fmt.Sprintf("%s %d%s is outside the allowed range %d..%d%s (%s)",
		e.Knob, e.Value, e.Unit, e.Range.Min, e.Range.Max, e.Unit, e.Rule)
}

// Check returns nil if every knob of s is within b, or one *BoundError per
// knob that is not (joined with errors.Join). Heap values off the 64 MiB
// grid are accepted: the grid is where the optimizer searches, not a limit.
func (b Bounds) Check(s Setting) error {
	cpus := strconv.FormatFloat(b.Limits.CPUs, 'f', -1, 64)
	var errs []error
	if !b.HeapMB.Contains(s.HeapMB) {
		errs = append(errs, &BoundError{
			Knob: KnobHeap, Value: s.HeapMB, Range: b.HeapMB, Unit: " MiB",
			Rule: fmt.Sprintf("at most half of the %d MiB memory limit", b.Limits.MemoryMB),
		})
	}
	if !b.NetworkThreads.Contains(s.NetworkThreads) {
		errs = append(errs, &BoundError{
			Knob: KnobNetworkThreads, Value: s.NetworkThreads, Range: b.NetworkThreads,
			Rule: fmt.Sprintf("%d x %s CPUs", NetworkThreadsPerCPU, cpus),
		})
	}
	if !b.IOThreads.Contains(s.IOThreads) {
		errs = append(errs, &BoundError{
			Knob: KnobIOThreads, Value: s.IOThreads, Range: b.IOThreads,
			Rule: fmt.Sprintf("%d x %s CPUs", IOThreadsPerCPU, cpus),
		})
	}
	return errors.Join(errs...)
}

// DynamicSteps returns the thread counts to set one after the other to go
// from from to to when each dynamic change may at most halve or double the
// current value. Kafka refuses a new count below current/2 (integer
// division) or above current*2. The result ends with to and is empty when
// from equals to.
func DynamicSteps(from, to int) ([]int, error) {
	if from < 1 || to < 1 {
		return nil, fmt.Errorf("thread counts must be at least 1, got %d -> %d", from, to)
	}
	var steps []int
	for cur := from; cur != to; {
		if to > cur {
			cur = min(to, cur*2)
		} else {
			cur = max(to, cur/2, 1)
		}
		steps = append(steps, cur)
	}
	return steps, nil
}
