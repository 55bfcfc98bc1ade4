package tuner

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// LedgerFile is the trial ledger's name inside the status directory.
const LedgerFile = "tuner-trials.jsonl"

// Record is one line of the ledger: one trial.
type Record struct {
	// Run identifies the tuning run (its start time, UTC), so that runs
	// appended to the same file can be told apart.
	Run string `json:"run"`
	// Trial counts from 1 within the run.
	Trial          int       `json:"trial"`
	Time           time.Time `json:"time"`
	HeapMB         int       `json:"heap_mb"`
	NetworkThreads int       `json:"network_threads"`
	IOThreads      int       `json:"io_threads"`
	// Throughput is the producer throughput in messages per second and
	// P99Ms the consumer P99 in milliseconds (0 when the trial failed).
	Throughput float64 `json:"throughput"`
	P99Ms      float64 `json:"p99_ms"`
	Score      float64 `json:"score"`
	// Verified: the change was read back from the broker as effective.
	Verified bool `json:"verified"`
	// Kept: the setting is the incumbent after this trial.
	Kept bool `json:"kept"`
	// Decision is why the trial ran (see Decision) and Reason the detail.
	Decision string `json:"decision"`
	Reason   string `json:"reason,omitempty"`
	Error    string `json:"error,omitempty"`
	Samples  int    `json:"samples,omitempty"`
	// Best is the incumbent after this trial, as knobs.Setting.String.
	Best string `json:"best"`
}

// Ledger appends records to a JSON-lines file, syncing each one to disk
// so that a crash loses at most the line being written. It is safe for
// concurrent use.
type Ledger struct {
	mu   sync.Mutex
	f    *os.File
	path string
}

// OpenLedger opens (creating it and dir if needed) dir/LedgerFile for
// appending.
func OpenLedger(dir string) (*Ledger, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create ledger dir: %w", err)
	}
	path := filepath.Join(dir, LedgerFile)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open ledger: %w", err)
	}
	return &Ledger{f: f, path: path}, nil
}

// Path returns the ledger file's path.
func (l *Ledger) Path() string { return l.path }

// Append writes r as one line and syncs the file.
func (l *Ledger) Append(r Record) error {
	r.Throughput, r.P99Ms, r.Score = finiteOr0(r.Throughput), finiteOr0(r.P99Ms), finiteOr0(r.Score)
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encode ledger record: %w", err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, err := l.f.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("write ledger: %w", err)
	}
	if err := l.f.Sync(); err != nil {
		return fmt.Errorf("sync ledger: %w", err)
	}
	return nil
}

// Close closes the file.
func (l *Ledger) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.f.Close(); err != nil {
		return fmt.Errorf("close ledger: %w", err)
	}
	return nil
}

func finiteOr0(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return v
}

// ReadLedger reads every record of a ledger file. A last line without a
// newline (a write cut short by a crash) is ignored; any other line that
// does not decode is an error naming its line number.
func ReadLedger(path string) ([]Record, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read ledger: %w", err)
	}
	if i := bytes.LastIndexByte(data, '\n'); i != len(data)-1 {
		data = data[:i+1]
	}
	var recs []Record
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for line := 1; sc.Scan(); line++ {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var r Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("ledger %s line %d: %w", path, line, err)
		}
		recs = append(recs, r)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read ledger: %w", err)
	}
	return recs, nil
}
