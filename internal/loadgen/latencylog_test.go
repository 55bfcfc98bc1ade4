package loadgen

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kafkatune/kafkatune/internal/stamp"
)

func TestLatencyLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lat.log")
	l, err := openLatencyLog(path)
	if err != nil {
		t.Fatal(err)
	}
	base := time.Unix(1700000000, 0)
	l.record(stamp.Header{Intended: base}, base.Add(1500*time.Microsecond))
	l.record(stamp.Header{Intended: base}, base.Add(2*time.Second))
	if err := l.close(); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := "1700000000001500000 1500000\n1700000002000000000 2000000000\n"
	if string(got) != want {
		t.Errorf("log = %q, want %q", got, want)
	}
}

func TestLatencyLogFlag(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lat.log")
	cmd, err := Parse([]string{"consume", "-latency-log", path}, func(string) (string, bool) { return "", false }, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cmd.Consumer.LatencyLog != path {
		t.Errorf("LatencyLog = %q, want %q", cmd.Consumer.LatencyLog, path)
	}
	cmd, err = Parse([]string{"consume"}, func(k string) (string, bool) {
		return path, k == "LATENCY_LOG"
	}, nil)
	if err != nil || cmd.Consumer.LatencyLog != path {
		t.Errorf("LATENCY_LOG: LatencyLog = %q, %v", cmd.Consumer.LatencyLog, err)
	}
}
