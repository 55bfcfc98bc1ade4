package dashboards

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/kafkatune/kafkatune/internal/telemetry"
)

// telemetryDir is the package that owns every metric name.
var telemetryDir = filepath.Join("..", "telemetry")

// metricRE matches the names of kafkatune's own series and recording rules,
// the broker's JMX series and the JVM's: every name a dashboard may use
// that internal/telemetry must declare.
var metricRE = regexp.MustCompile(`\b(?:kafkatune|kafka|jvm)[_:][A-Za-z0-9_:]*`)

// telemetryStrings returns every string constant declared in
// internal/telemetry, read from its source so that names added later are
// found without touching this test.
func telemetryStrings(t *testing.T) map[string]bool {
	t.Helper()
	fset := token.NewFileSet()
	paths, err := filepath.Glob(filepath.Join(telemetryDir, "*.go"))
	if err != nil {
		t.Fatalf("list telemetry sources: %v", err)
	}
	names := map[string]bool{}
	for _, p := range paths {
		if strings.HasSuffix(p, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, p, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatalf("parse %s: %v", p, err)
		}
		collectConstStrings(f, names)
	}
	if len(names) == 0 {
		t.Fatalf("no string constants found in %s", telemetryDir)
	}
	return names
}

func collectConstStrings(f *ast.File, into map[string]bool) {
	for _, decl := range f.Decls {
		gen, ok := decl.(*ast.GenDecl)
		if !ok || gen.Tok != token.CONST {
			continue
		}
		for _, spec := range gen.Specs {
			for _, v := range spec.(*ast.ValueSpec).Values {
				lit, ok := v.(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					continue
				}
				if s, err := strconv.Unquote(lit.Value); err == nil {
					into[s] = true
				}
			}
		}
	}
}

// seriesSuffixes are the suffixes PromQL adds to histogram and summary
// names.
var seriesSuffixes = []string{"_bucket", "_sum", "_count"}

// known reports whether name, or the histogram or summary it is a series of,
// is declared in internal/telemetry.
func known(name string, declared map[string]bool) bool {
	if declared[name] {
		return true
	}
	for _, s := range seriesSuffixes {
		if base, ok := strings.CutSuffix(name, s); ok && declared[base] {
			return true
		}
	}
	return false
}

// TestMetricNamesComeFromTelemetry fails when a dashboard uses a metric or
// recording rule that internal/telemetry does not declare (a typo, or a
// rename the dashboards missed).
func TestMetricNamesComeFromTelemetry(t *testing.T) {
	declared := telemetryStrings(t)
	for _, f := range loadCommitted(t) {
		used := 0
		for _, q := range queries(t, f.name, f.parsed) {
			for _, name := range metricRE.FindAllString(q.expr, -1) {
				used++
				if !known(name, declared) {
					t.Errorf("%s: %s is not declared in internal/telemetry",
						q.where, name)
				}
			}
		}
		if used == 0 {
			t.Errorf("%s uses no metric at all", f.name)
		}
	}
}

// TestKnownRejectsUndeclared makes sure the drift check can fail.
func TestKnownRejectsUndeclared(t *testing.T) {
	declared := telemetryStrings(t)
	tests := []struct {
		name string
		want bool
	}{
		{telemetry.ProducerAcked, true},
		{telemetry.ConsumerEndToEndLatency + "_bucket", true},
		{telemetry.JVMGCSeconds + "_sum", true},
		{telemetry.RuleP99Latency1m, true},
		{"kafkatune_producer_mesages_acked_total", false},
		{telemetry.ProducerAcked + "_bucket_bucket", false},
		{"kafka_network_processor_avg_idle_percent", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := known(tt.name, declared); got != tt.want {
				t.Errorf("known(%q) = %v, want %v", tt.name, got, tt.want)
			}
		})
	}
}
