package tuner

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLedgerRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "status")
	l, err := OpenLedger(dir)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	want := []Record{
		{Run: "r1", Trial: 1, Time: at, HeapMB: 256, NetworkThreads: 1, IOThreads: 2,
			Throughput: 4000, P99Ms: 45, Score: 4000, Verified: true, Kept: true, Decision: "start"},
		{Run: "r1", Trial: 2, Time: at.Add(time.Minute), HeapMB: 512, NetworkThreads: 2, IOThreads: 4,
			Decision: "failed", Error: "broker not ready"},
	}
	for _, r := range want {
		if err := l.Append(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := ReadLedger(filepath.Join(dir, LedgerFile))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("read %d records, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("record %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	raw, _ := os.ReadFile(filepath.Join(dir, LedgerFile))
	for _, key := range []string{`"trial":1`, `"heap_mb":256`, `"network_threads":1`, `"io_threads":2`,
		`"throughput":4000`, `"p99_ms":45`, `"score":4000`, `"verified":true`, `"kept":true`} {
		if !strings.Contains(string(raw), key) {
			t.Errorf("ledger line lacks %s: %s", key, raw)
		}
	}
}

func TestReadLedgerDamage(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, LedgerFile)
	good := `{"trial":1,"heap_mb":256}` + "\n"
	if err := os.WriteFile(path, []byte(good+`{"trial":2,"heap`), 0o644); err != nil {
		t.Fatal(err)
	}
	recs, err := ReadLedger(path)
	if err != nil || len(recs) != 1 {
		t.Errorf("truncated last line: got %d records, %v; want 1, nil", len(recs), err)
	}
	if err := os.WriteFile(path, []byte(good+"not json\n"+good), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadLedger(path); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("corrupt middle line: err = %v, want one naming line 2", err)
	}
}
