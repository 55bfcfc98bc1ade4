// Package knobs describes the three broker settings kafkatune tunes (heap
// size, num.network.threads, num.io.threads), how they reach the broker
// (container environment of the apache/kafka image, broker properties) and
// the bounds that the sandbox's resource limits put on them.
package knobs

import (
	"fmt"
	"strconv"
	"strings"
)

// Environment variables the apache/kafka image reads. The image turns
// KAFKA_<NAME> into the broker property <name> with underscores replaced by
// dots, so KAFKA_NUM_NETWORK_THREADS becomes num.network.threads.
const (
	EnvHeapOpts       = "KAFKA_HEAP_OPTS"
	EnvNetworkThreads = "KAFKA_NUM_NETWORK_THREADS"
	EnvIOThreads      = "KAFKA_NUM_IO_THREADS"
)

// Broker properties of the two thread pools. Both are dynamic broker
// configs: they can be changed cluster-wide without a restart.
const (
	PropNetworkThreads = "num.network.threads"
	PropIOThreads      = "num.io.threads"
)

// Names of the knobs as they appear in errors, logs and metric labels.
const (
	KnobHeap           = "heap"
	KnobNetworkThreads = PropNetworkThreads
	KnobIOThreads      = PropIOThreads
)

// Setting is one value for each knob.
type Setting struct {
	// HeapMB is the JVM heap in MiB (-Xms and -Xmx alike).
	HeapMB int
	// NetworkThreads is num.network.threads.
	NetworkThreads int
	// IOThreads is num.io.threads.
	IOThreads int
}

// Start returns the deliberately de-optimized setting the broker starts
// with: a 256 MiB heap, one network thread and two I/O threads.
func Start() Setting {
	return Setting{HeapMB: 256, NetworkThreads: 1, IOThreads: 2}
}

// String renders s for logs, e.g. "heap=256MiB network_threads=1
// io_threads=2".
func (s Setting) String() string {
	return fmt.Sprintf("heap=%dMiB network_threads=%d io_threads=%d",
		s.HeapMB, s.NetworkThreads, s.IOThreads)
}

// HeapOpts renders the heap as KAFKA_HEAP_OPTS: "-Xms<N>m -Xmx<N>m".
func (s Setting) HeapOpts() string {
	return fmt.Sprintf("-Xms%dm -Xmx%dm", s.HeapMB, s.HeapMB)
}

// Env returns the container environment that carries s.
func (s Setting) Env() map[string]string {
	return map[string]string{
		EnvHeapOpts:       s.HeapOpts(),
		EnvNetworkThreads: strconv.Itoa(s.NetworkThreads),
		EnvIOThreads:      strconv.Itoa(s.IOThreads),
	}
}

// Properties returns the broker properties of the two thread pools.
func (s Setting) Properties() map[string]string {
	return map[string]string{
		PropNetworkThreads: strconv.Itoa(s.NetworkThreads),
		PropIOThreads:      strconv.Itoa(s.IOThreads),
	}
}

// ParseHeapOpts reads the heap size in MiB from a KAFKA_HEAP_OPTS value.
// It takes -Xmx (the last one wins, as in the JVM) and requires an -Xms of
// the same size: the broker must not grow its heap while it runs. Sizes
// may carry a k, m or g suffix (either case) or none for bytes, and must
// be a whole number of MiB. Other JVM options are ignored.
func ParseHeapOpts(opts string) (int, error) {
	var xms, xmx string
	var hasXms, hasXmx bool
	for _, f := range strings.Fields(opts) {
		if v, ok := strings.CutPrefix(f, "-Xmx"); ok {
			xmx, hasXmx = v, true
		}
		if v, ok := strings.CutPrefix(f, "-Xms"); ok {
			xms, hasXms = v, true
		}
	}
	if !hasXmx {
		return 0, fmt.Errorf("heap opts %q: no -Xmx", opts)
	}
	maxMB, err := parseJVMSize(xmx)
	if err != nil {
		return 0, fmt.Errorf("heap opts %q: -Xmx: %w", opts, err)
	}
	if !hasXms {
		return 0, fmt.Errorf("heap opts %q: no -Xms (want -Xms equal to -Xmx)", opts)
	}
	minMB, err := parseJVMSize(xms)
	if err != nil {
		return 0, fmt.Errorf("heap opts %q: -Xms: %w", opts, err)
	}
	if minMB != maxMB {
		return 0, fmt.Errorf("heap opts %q: -Xms %d MiB differs from -Xmx %d MiB (want them equal)",
			opts, minMB, maxMB)
	}
	return maxMB, nil
}

// parseJVMSize parses a JVM memory size such as 512m, 1g or 268435456 into
// MiB.
func parseJVMSize(v string) (int, error) {
	if v == "" {
		return 0, fmt.Errorf("empty size")
	}
	unit := int64(1)
	num := v
	switch v[len(v)-1] {
	case 'k', 'K':
		unit, num = 1<<10, v[:len(v)-1]
	case 'm', 'M':
		unit, num = 1<<20, v[:len(v)-1]
	case 'g', 'G':
		unit, num = 1<<30, v[:len(v)-1]
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("size %q is not a positive whole number with an optional k, m or g suffix", v)
	}
	const maxMB = 1 << 30 // 1 PiB: far past any sane heap, keeps int safe
	if n > maxMB<<20/unit {
		return 0, fmt.Errorf("size %q is too large", v)
	}
	bytes := n * unit
	if bytes%(1<<20) != 0 {
		return 0, fmt.Errorf("size %q is not a whole number of MiB", v)
	}
	return int(bytes >> 20), nil
}
