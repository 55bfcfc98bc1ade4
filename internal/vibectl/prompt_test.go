package vibectl

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kafkatune/kafkatune/internal/knobs"
	"github.com/kafkatune/kafkatune/internal/status"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func goldenConfig() Config {
	c := DefaultConfig()
	c.VibectlKubeconfig = "/run/kafkatune/vibectl.kubeconfig"
	c.Model = "kafkatune-scripted"
	c.TargetLatencyMs = 12.5
	c.Limits = knobs.Limits{CPUs: 4, MemoryMB: 4096}
	c.MaxSteps = 40
	return c
}

func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run with -update to create it): %v", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the rendered text (run go test -run Golden -update "+
			"after checking the change):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func TestGoldenPrompts(t *testing.T) {
	c := goldenConfig()
	p, err := NewPrompts(&c, "")
	if err != nil {
		t.Fatal(err)
	}
	cur := knobs.Setting{HeapMB: 512, NetworkThreads: 2, IOThreads: 4}
	p99, rate := 9.25, 15300.0
	snap := &status.Snapshot{
		Time:               time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC),
		TargetLatencyMs:    12.5,
		P99LatencyMs:       &p99,
		ProducerActualRate: &rate,
	}
	view := ViewSnapshot(snap, snap.Time.Add(7*time.Second))

	instructions, err := p.Instructions(cur)
	if err != nil {
		t.Fatal(err)
	}
	memory, err := p.Memory(cur)
	if err != nil {
		t.Fatal(err)
	}
	request, err := p.Request(3, cur, view, "ok: kubectl get configmap kafka-latency-metrics")
	if err != nil {
		t.Fatal(err)
	}
	t.Run("instructions", func(t *testing.T) { checkGolden(t, "instructions.golden", instructions) })
	t.Run("memory", func(t *testing.T) { checkGolden(t, "memory.golden", memory) })
	t.Run("request", func(t *testing.T) { checkGolden(t, "request.golden", request) })

	t.Run("every value filled in", func(t *testing.T) {
		for _, s := range []string{instructions, memory, request} {
			for _, bad := range []string{"<no value>", "{{", "MISSING", "${"} {
				if strings.Contains(s, bad) {
					t.Errorf("rendered prompt holds %q:\n%s", bad, s)
				}
			}
		}
		for _, want := range []string{"12.5 ms", "256 to 2048", "1 to 8", "1 to 16",
			`"-Xms512m -Xmx512m"`, "kafka-latency-metrics", "5m0s"} {
			if !strings.Contains(instructions, want) {
				t.Errorf("instructions lack %q", want)
			}
		}
	})
	t.Run("memory fits", func(t *testing.T) {
		if len(memory) > c.MemoryMaxChars {
			t.Errorf("memory is %d chars, more than memory.max_chars %d", len(memory), c.MemoryMaxChars)
		}
	})
}

func TestPromptsTemplateErrors(t *testing.T) {
	c := goldenConfig()
	dir := t.TempDir()
	tests := []struct {
		name, text, want string
	}{
		{"unknown field", `{{.Nope}}{{define "memory"}}m{{end}}{{define "request"}}r{{end}}`, "Nope"},
		{"no memory template", `x{{define "request"}}r{{end}}`, `no "memory"`},
		{"syntax", `{{if}}`, "parse"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, tt.name+".tmpl")
			if err := os.WriteFile(path, []byte(tt.text), 0o644); err != nil {
				t.Fatal(err)
			}
			p, err := NewPrompts(&c, path)
			if err == nil {
				_, err = p.Instructions(knobs.Start())
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}

func TestViewSnapshotWithoutData(t *testing.T) {
	v := ViewSnapshot(nil, time.Now())
	if !strings.Contains(v.Summary, "no measurements") {
		t.Errorf("summary = %q", v.Summary)
	}
	s := &status.Snapshot{Time: time.Unix(0, 0), Stale: true, TargetLatencyMs: 5}
	v = ViewSnapshot(s, time.Unix(60, 0))
	if !strings.Contains(v.Source, "STALE") || !strings.Contains(v.Summary, "p99_ms=N/A") {
		t.Errorf("view = %+v", v)
	}
}
