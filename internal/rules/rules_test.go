package rules

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/kafkatune/kafkatune/internal/telemetry"
)

// repoRoot is the repository root seen from this package's directory,
// where go test runs.
var repoRoot = filepath.Join("..", "..")

const runbookBase = "https://github.com/kafkatune/kafkatune/blob/main/docs/runbooks.md"

func loadRules(t *testing.T) map[string]*File {
	t.Helper()
	files, err := LoadDir(filepath.Join(repoRoot, RulesDir))
	if err != nil {
		t.Fatalf("load rules: %v", err)
	}
	for _, name := range []string{"recording.yml", "alerts.yml"} {
		if files[name] == nil {
			t.Fatalf("%s/%s missing", RulesDir, name)
		}
	}
	return files
}

// telemetryConstants parses internal/telemetry and returns its exported
// string constants, value -> Go name. Parsing the source (rather than a
// hand-kept list) means any constant added there counts.
func telemetryConstants(t *testing.T) map[string]string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(repoRoot, "internal", "telemetry", "*.go"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("list internal/telemetry: %v (%d files)", err, len(paths))
	}
	consts := map[string]string{}
	fset := token.NewFileSet()
	for _, p := range paths {
		if strings.HasSuffix(p, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, p, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatalf("parse %s: %v", p, err)
		}
		for _, d := range f.Decls {
			collectStringConsts(d, consts)
		}
	}
	return consts
}

func collectStringConsts(d ast.Decl, into map[string]string) {
	gd, ok := d.(*ast.GenDecl)
	if !ok || gd.Tok != token.CONST {
		return
	}
	for _, spec := range gd.Specs {
		vs := spec.(*ast.ValueSpec)
		for i, name := range vs.Names {
			if !name.IsExported() || i >= len(vs.Values) {
				continue
			}
			lit, ok := vs.Values[i].(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				continue
			}
			if v, err := strconv.Unquote(lit.Value); err == nil {
				into[v] = name.Name
			}
		}
	}
}

var spaces = regexp.MustCompile(`\s+`)

func normalize(expr string) string {
	return strings.TrimSpace(spaces.ReplaceAllString(expr, " "))
}

func TestRecordingRulesMatchTelemetry(t *testing.T) {
	file := loadRules(t)["recording.yml"]
	want := map[string]string{}
	for _, r := range telemetry.RecordingRules() {
		if _, dup := want[r.Record]; dup {
			t.Errorf("telemetry.RecordingRules lists %s twice", r.Record)
		}
		want[r.Record] = r.Expr
	}

	got := map[string]string{}
	for _, r := range file.Rules() {
		if r.Record == "" {
			t.Errorf("recording.yml holds alert %s: alerts go in alerts.yml", r.Alert)
			continue
		}
		if _, dup := got[r.Record]; dup {
			t.Errorf("recording.yml records %s twice", r.Record)
		}
		got[r.Record] = normalize(r.Expr)
	}

	for record, expr := range want {
		switch g, ok := got[record]; {
		case !ok:
			t.Errorf("recording.yml lacks %s (in telemetry.RecordingRules)", record)
		case g != normalize(expr):
			t.Errorf("%s:\n file: %s\n  Go:  %s", record, g, expr)
		}
	}
	for record := range got {
		if _, ok := want[record]; !ok {
			t.Errorf("recording.yml records %s, which telemetry.RecordingRules lacks", record)
		}
	}
}

func TestRecordedNamesAreExportedConstants(t *testing.T) {
	consts := telemetryConstants(t)
	for _, r := range loadRules(t)["recording.yml"].Rules() {
		if _, ok := consts[r.Record]; !ok {
			t.Errorf("recorded series %s is no exported constant in internal/telemetry", r.Record)
		}
		if parts := strings.Split(r.Record, ":"); len(parts) != 3 ||
			parts[0] != telemetry.Namespace || parts[1] == "" || parts[2] == "" {
			t.Errorf("recorded series %s: want %s:metric:operations", r.Record, telemetry.Namespace)
		}
	}
}

// TestRuleNamesExistInTelemetry checks every kafkatune name an expression
// reads: recorded series must be recording rules, metrics must be
// telemetry constants, and histograms are read through their _bucket,
// _sum or _count series only.
func TestRuleNamesExistInTelemetry(t *testing.T) {
	consts := telemetryConstants(t)
	recorded := map[string]bool{}
	for _, r := range telemetry.RecordingRules() {
		recorded[r.Record] = true
	}
	histograms := telemetry.Histograms()

	for file, f := range loadRules(t) {
		for _, r := range f.Rules() {
			names := Names(r.Expr, telemetry.Namespace)
			if r.Record != "" && len(names) == 0 {
				t.Errorf("%s: %s reads no kafkatune series", file, r.Name())
			}
			for _, n := range names {
				if err := checkName(n, consts, recorded, histograms); err != "" {
					t.Errorf("%s: %s: %s", file, r.Name(), err)
				}
			}
		}
	}
}

func checkName(n string, consts map[string]string, recorded map[string]bool,
	histograms []string,
) string {
	if strings.Contains(n, ":") {
		if !recorded[n] {
			return n + " is no recording rule in telemetry.RecordingRules"
		}
		return ""
	}
	if slices.Contains(histograms, n) {
		return "histogram " + n + " read by its bare name: use _bucket, _sum or _count"
	}
	base := n
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if b, ok := strings.CutSuffix(n, suffix); ok && slices.Contains(histograms, b) {
			base = b
		}
	}
	if strings.HasSuffix(n, "_bucket") && base == n {
		return n + " reads buckets of a metric that is no telemetry histogram"
	}
	if _, ok := consts[base]; !ok {
		return base + " is no constant in internal/telemetry"
	}
	return ""
}

// TestHistogramQuantileReadsBuckets checks that each histogram_quantile
// aggregates _bucket series and keeps the le label, and that _bucket series
// are read nowhere else.
func TestHistogramQuantileReadsBuckets(t *testing.T) {
	for file, f := range loadRules(t) {
		for _, r := range f.Rules() {
			rest := r.Expr
			for {
				i := strings.Index(rest, "histogram_quantile(")
				if i < 0 {
					break
				}
				arg := balanced(rest[i+len("histogram_quantile"):])
				if !hasBucket(arg) || !strings.Contains(arg, "by (le)") {
					t.Errorf("%s: %s: histogram_quantile%s: want sum by (le) "+
						"(rate(<histogram>_bucket[...]))", file, r.Name(), arg)
				}
				rest = rest[:i] + rest[i+len("histogram_quantile")+len(arg):]
			}
			if hasBucket(rest) {
				t.Errorf("%s: %s reads _bucket series outside histogram_quantile",
					file, r.Name())
			}
		}
	}
}

func hasBucket(expr string) bool {
	for _, n := range Names(expr, telemetry.Namespace) {
		if strings.HasSuffix(n, "_bucket") {
			return true
		}
	}
	return false
}

// balanced returns the parenthesised group s starts with.
func balanced(s string) string {
	depth := 0
	for i, c := range s {
		switch c {
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return s[:i+1]
			}
		}
	}
	return s
}

func TestAlerts(t *testing.T) {
	runbook, err := os.ReadFile(filepath.Join(repoRoot, "docs", "runbooks.md"))
	if err != nil {
		t.Fatalf("read runbooks: %v", err)
	}
	anchors := markdownAnchors(string(runbook))

	var names []string
	for _, r := range loadRules(t)["alerts.yml"].Rules() {
		if r.Alert == "" {
			t.Errorf("alerts.yml records %s: recording rules go in recording.yml", r.Record)
			continue
		}
		names = append(names, r.Alert)
		t.Run(r.Alert, func(t *testing.T) {
			checkAlert(t, r, anchors)
		})
	}
	slices.Sort(names)
	want := telemetry.Alerts()
	slices.Sort(want)
	if !slices.Equal(names, want) {
		t.Errorf("alerts.yml defines %v, telemetry.Alerts lists %v", names, want)
	}
}

var jobMatcher = regexp.MustCompile(`\bjob\s*(=~|!~|!=|=)\s*"([^"]*)"`)

func checkAlert(t *testing.T, r Rule, anchors map[string]bool) {
	if sev := r.Labels["severity"]; sev != "critical" && sev != "warning" {
		t.Errorf("severity %q, want critical or warning", sev)
	}
	if r.For == "" {
		t.Error("no for: one bad evaluation would page")
	}
	for _, key := range []string{"summary", "description", "runbook_url"} {
		if strings.TrimSpace(r.Annotations[key]) == "" {
			t.Errorf("annotation %s missing", key)
		}
	}
	wantURL := runbookBase + "#" + strings.ToLower(r.Alert)
	if got := r.Annotations["runbook_url"]; got != wantURL {
		t.Errorf("runbook_url %q, want %q", got, wantURL)
	}
	if !anchors[strings.ToLower(r.Alert)] {
		t.Errorf("docs/runbooks.md has no section %q", r.Alert)
	}

	jobs := []string{telemetry.JobProducer, telemetry.JobConsumer,
		telemetry.JobExporter, telemetry.JobAgent, telemetry.JobKafka}
	for _, m := range jobMatcher.FindAllStringSubmatch(r.Expr, -1) {
		for _, job := range strings.Split(m[2], "|") {
			if !slices.Contains(jobs, job) {
				t.Errorf("selects job %q, not one of %v", job, jobs)
			}
		}
	}
}

var heading = regexp.MustCompile(`(?m)^#{1,6}\s+(.+?)\s*$`)

// markdownAnchors returns the anchors GitHub derives from the headings of
// md: lower case, punctuation dropped, spaces to hyphens.
func markdownAnchors(md string) map[string]bool {
	anchors := map[string]bool{}
	for _, m := range heading.FindAllStringSubmatch(md, -1) {
		var b strings.Builder
		for _, c := range strings.ToLower(m[1]) {
			switch {
			case c == ' ':
				b.WriteRune('-')
			case c == '-' || c == '_' || ('a' <= c && c <= 'z') || ('0' <= c && c <= '9'):
				b.WriteRune(c)
			}
		}
		anchors[b.String()] = true
	}
	return anchors
}
