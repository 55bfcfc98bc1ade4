package perfbench

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestQuickBenchEndToEnd runs the quick benchmark on a real broker (built
// loadgen, Kafka's ProducerPerformance, both consumers, the tuner
// comparison, a ledger) and checks that the report holds every section
// with numeric figures. It asserts no timing or speed.
func TestQuickBenchEndToEnd(t *testing.T) {
	dir := t.TempDir()
	ledger := writeLedger(t, filepath.Join(dir, "status"))
	out := filepath.Join(dir, "results.md")
	args := []string{"-quick", "-out", out, "-work-dir", filepath.Join(dir, "work"), "-tune-ledger", ledger}

	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	var stdout bytes.Buffer
	progress := &logBuffer{t: t}
	if err := Main(ctx, args, noEnv, &stdout, progress); err != nil {
		t.Fatalf("bench: %v", err)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	md := string(data)
	if stdout.String() != md {
		t.Error("the printed report differs from the file")
	}
	for _, s := range []string{SectionMachine, SectionCommands, SectionProducer, SectionLatency,
		SectionTuner, SectionGoBench, SectionTargets, "**Quick mode**", "ProducerPerformance --topic"} {
		if !strings.Contains(md, s) {
			t.Errorf("report lacks %q", s)
		}
	}
	t.Run("progress one line per run", func(t *testing.T) {
		logs := progress.String()
		for msg, want := range map[string]int{`msg="producer run"`: 2, `msg="latency run"`: 1} {
			if n := strings.Count(logs, msg); n != want {
				t.Errorf("%d lines with %s, want %d", n, msg, want)
			}
		}
	})
	t.Run("producer runs", func(t *testing.T) {
		rows := tableRows(t, md, "| pair | client |")
		if len(rows) != 2 || !strings.Contains(rows[0][1], "loadgen") ||
			!strings.Contains(rows[1][1], "ProducerPerformance") {
			t.Fatalf("producer rows: %v", rows)
		}
		for _, row := range rows {
			positive(t, row, 2, 3, 4, 5, 6, 7, 8)
		}
		if rows[0][2] != rows[1][2] {
			t.Errorf("the pair sent different message counts: %s and %s", rows[0][2], rows[1][2])
		}
		medians := tableRows(t, md, "| | kafkatune loadgen | Kafka ProducerPerformance |")
		if len(medians) < 5 {
			t.Fatalf("median rows: %v", medians)
		}
		for _, row := range medians[:5] {
			positive(t, row, 1, 2, 3)
		}
	})
	t.Run("latency", func(t *testing.T) {
		rows := tableRows(t, md, "| rate msg/s |")
		if len(rows) != 1 {
			t.Fatalf("latency rows: %v", rows)
		}
		positive(t, rows[0], 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12)
	})
	t.Run("tuner", func(t *testing.T) {
		rows := tableRows(t, md, "| optimizer |")
		if len(rows) != 2 {
			t.Fatalf("comparison rows: %v", rows)
		}
		for _, row := range rows {
			positive(t, row, 4, 5)
		}
		trials := tableRows(t, md, "| trial | which |")
		if len(trials) != 2 || trials[0][0] != "1" || trials[1][0] != "4" {
			t.Fatalf("ledger rows: %v", trials)
		}
		for _, row := range trials {
			positive(t, row, 4, 5, 6)
		}
		means := tableRows(t, md, "| which | setting |")
		if len(means) != 2 || means[0][0] != "start" || means[1][0] != "end" || means[0][2] != "1, 5" {
			t.Fatalf("mean rows: %v", means)
		}
		for _, row := range means {
			positive(t, row, 3, 4, 5)
		}
	})
	t.Run("machine", func(t *testing.T) {
		for _, s := range []string{"| Go | go1.", "| librdkafka", "| Java | ", "load average at the end"} {
			if !strings.Contains(md, s) {
				t.Errorf("machine section lacks %q", s)
			}
		}
	})
}

// tableRows returns the cells of the Markdown table whose header line
// starts with header.
func tableRows(t *testing.T, md, header string) [][]string {
	t.Helper()
	lines := strings.Split(md, "\n")
	for i, l := range lines {
		if !strings.HasPrefix(l, header) {
			continue
		}
		var rows [][]string
		for _, row := range lines[i+2:] {
			if !strings.HasPrefix(row, "|") {
				break
			}
			cells := strings.Split(strings.Trim(row, "|"), "|")
			for j := range cells {
				cells[j] = strings.TrimSpace(cells[j])
			}
			rows = append(rows, cells)
		}
		return rows
	}
	t.Fatalf("no table with header %q", header)
	return nil
}

// positive checks that the cells at idx are positive numbers.
func positive(t *testing.T, row []string, idx ...int) {
	t.Helper()
	for _, i := range idx {
		if i >= len(row) {
			t.Errorf("row %v has no cell %d", row, i)
			continue
		}
		v, err := strconv.ParseFloat(row[i], 64)
		if err != nil || !(v > 0) {
			t.Errorf("cell %d of %v is %q, want a positive number", i, row, row[i])
		}
	}
}

// logBuffer keeps the progress lines and passes them to the test log.
type logBuffer struct {
	t  *testing.T
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.Write(p)
	l.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
