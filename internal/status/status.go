// Package status owns the files and ConfigMap keys the bridge publishes for
// the agent, the load generators and vibectl: the data contract between
// containers. It is the one place that knows their names and formats.
package status

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Environment variable and default of the shared status directory.
const (
	EnvDir     = "STATUS_DIR"
	DefaultDir = "/tmp/status"
)

// File names inside the status directory.
const (
	// LatencyFile holds the consumer end-to-end P99 in milliseconds, one
	// decimal number and a newline (the original demo's contract).
	LatencyFile = "latency.txt"
	// SnapshotFile holds every value the bridge knows, as JSON.
	SnapshotFile = "metrics.json"
)

// ConfigMap written by the bridge and read by vibectl.
const (
	ConfigMapName      = "kafka-latency-metrics"
	ConfigMapNamespace = "kafka"
)

// ConfigMap keys. The first five are the original demo's.
const (
	KeyActualLatency  = "actual_latency_ms"
	KeyTargetLatency  = "target_latency_ms"
	KeyProducerTarget = "producer_target_rate"
	KeyProducerActual = "producer_actual_rate"
	KeyConsumerActual = "consumer_actual_rate"
	KeyP50            = "p50_latency_ms"
	KeyP95            = "p95_latency_ms"
	KeyProduceP99     = "produce_p99_latency_ms"
	KeyErrorRate      = "producer_error_rate"
	KeyConsumerLag    = "consumer_lag_messages"
	KeyStale          = "stale"
	KeyUpdatedAt      = "updated_at"
)

// NotAvailable is written wherever there is no data.
const NotAvailable = "N/A"

// Snapshot is everything the bridge knows at one moment. Pointer fields are
// nil when Prometheus had no data for them; NaN and Inf never appear.
type Snapshot struct {
	// Time is when the values were measured.
	Time time.Time `json:"time"`
	// Stale is true when the last refresh failed and the values are older
	// than one cycle.
	Stale bool `json:"stale"`
	// LastSuccess is when every query last succeeded (zero if never).
	LastSuccess time.Time `json:"last_success,omitempty"`
	// Error is the last refresh error, if any.
	Error string `json:"error,omitempty"`

	TargetLatencyMs    float64  `json:"target_latency_ms"`
	P50LatencyMs       *float64 `json:"p50_latency_ms"`
	P95LatencyMs       *float64 `json:"p95_latency_ms"`
	P99LatencyMs       *float64 `json:"p99_latency_ms"`
	ProduceP99Ms       *float64 `json:"produce_p99_latency_ms"`
	ProducerTargetRate *float64 `json:"producer_target_rate"`
	ProducerActualRate *float64 `json:"producer_actual_rate"`
	ConsumerActualRate *float64 `json:"consumer_actual_rate"`
	ProducerErrorRate  *float64 `json:"producer_error_rate"`
	ConsumerLag        *float64 `json:"consumer_lag_messages"`
	SequenceGapRate    *float64 `json:"sequence_gap_rate"`
	DuplicateRate      *float64 `json:"duplicate_rate"`
}

// Dir returns the status directory from the environment, or the default.
func Dir() string {
	if d := os.Getenv(EnvDir); d != "" {
		return d
	}
	return DefaultDir
}

// Float returns a pointer to v, or nil when v is NaN or infinite, so that a
// value that is not a number is recorded as "no data".
func Float(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

// FormatMs renders a millisecond value the way latency.txt and the ConfigMap
// carry it, or NotAvailable for nil.
func FormatMs(v *float64) string {
	if v == nil {
		return NotAvailable
	}
	return strconv.FormatFloat(*v, 'f', 3, 64)
}

// FormatRate renders a rate in messages per second, or NotAvailable.
func FormatRate(v *float64) string {
	if v == nil {
		return NotAvailable
	}
	return strconv.FormatFloat(*v, 'f', 1, 64)
}

// ConfigMapData returns the ConfigMap keys and values for s.
func (s *Snapshot) ConfigMapData() map[string]string {
	d := map[string]string{
		KeyActualLatency:  FormatMs(s.P99LatencyMs),
		KeyTargetLatency:  strconv.FormatFloat(s.TargetLatencyMs, 'f', -1, 64),
		KeyProducerTarget: FormatRate(s.ProducerTargetRate),
		KeyProducerActual: FormatRate(s.ProducerActualRate),
		KeyConsumerActual: FormatRate(s.ConsumerActualRate),
		KeyP50:            FormatMs(s.P50LatencyMs),
		KeyP95:            FormatMs(s.P95LatencyMs),
		KeyProduceP99:     FormatMs(s.ProduceP99Ms),
		KeyErrorRate:      FormatRate(s.ProducerErrorRate),
		KeyConsumerLag:    FormatRate(s.ConsumerLag),
		KeyStale:          strconv.FormatBool(s.Stale),
		KeyUpdatedAt:      s.Time.UTC().Format(time.RFC3339),
	}
	return d
}

// ErrNoData is returned by ReadLatency when latency.txt says there is no
// data, and wrapped when the file is missing.
var ErrNoData = errors.New("no latency data")

// WriteLatency atomically replaces dir/latency.txt with the P99 in
// milliseconds. A nil p99 writes nothing: the file keeps its last real value
// rather than a made-up one.
func WriteLatency(dir string, p99Ms *float64) error {
	if p99Ms == nil {
		return nil
	}
	return WriteFileAtomic(filepath.Join(dir, LatencyFile), []byte(FormatMs(p99Ms)+"\n"), 0o644)
}

// ReadLatency reads the P99 in milliseconds from dir/latency.txt.
func ReadLatency(dir string) (float64, error) {
	b, err := os.ReadFile(filepath.Join(dir, LatencyFile))
	if errors.Is(err, os.ErrNotExist) {
		return 0, fmt.Errorf("read %s: %w", LatencyFile, ErrNoData)
	}
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", LatencyFile, err)
	}
	s := strings.TrimSpace(string(b))
	if s == NotAvailable || s == "" {
		return 0, ErrNoData
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
		return 0, fmt.Errorf("parse %s: %q is not a non-negative number of milliseconds", LatencyFile, s)
	}
	return v, nil
}

// WriteSnapshot atomically replaces dir/metrics.json with s.
func WriteSnapshot(dir string, s *Snapshot) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("encode snapshot: %w", err)
	}
	return WriteFileAtomic(filepath.Join(dir, SnapshotFile), append(b, '\n'), 0o644)
}

// ReadSnapshot reads dir/metrics.json.
func ReadSnapshot(dir string) (*Snapshot, error) {
	b, err := os.ReadFile(filepath.Join(dir, SnapshotFile))
	if err != nil {
		return nil, fmt.Errorf("read snapshot: %w", err)
	}
	var s Snapshot
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("decode %s: %w", SnapshotFile, err)
	}
	return &s, nil
}
