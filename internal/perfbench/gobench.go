package perfbench

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// goBenchPackages hold the hot-path benchmarks.
var goBenchPackages = []string{"./internal/stamp", "./internal/loadgen"}

// goBenchTime is -benchtime of each hot-path benchmark.
const goBenchTime = "300ms"

// GoBench is one line of `go test -bench` output.
type GoBench struct {
	Package     string
	Name        string
	NsPerOp     float64
	BytesPerOp  float64
	AllocsPerOp float64
}

// GoBenchResult is the hot-path benchmark run.
type GoBenchResult struct {
	Command string
	Benches []GoBench
}

// runGoBench runs the hot-path benchmarks of this module with the go
// tool, in the module's root.
func runGoBench(ctx context.Context) (GoBenchResult, error) {
	goBin, root, err := moduleRoot(ctx)
	if err != nil {
		return GoBenchResult{}, err
	}
	args := append([]string{"test", "-run", "^$", "-bench", ".", "-benchmem",
		"-benchtime", goBenchTime, "-count", "1"}, goBenchPackages...)
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goBin, args...)
	cmd.Dir = root
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return GoBenchResult{}, fmt.Errorf("go test -bench: %w: %s", err, tail(stderr.String()+stdout.String(), 10))
	}
	res := GoBenchResult{Command: "go " + strings.Join(args, " "), Benches: parseGoBench(stdout.String())}
	if len(res.Benches) == 0 {
		return res, fmt.Errorf("go test -bench printed no results: %s", tail(stdout.String(), 10))
	}
	return res, nil
}

var benchLine = regexp.MustCompile(
	`^(Benchmark\S+)\s+\d+\s+([0-9.]+) ns/op(?:\s+([0-9.]+) B/op\s+([0-9.]+) allocs/op)?`)

// parseGoBench reads the result lines of `go test -bench` output, each
// with the package of the "pkg:" line before it.
func parseGoBench(out string) []GoBench {
	var res []GoBench
	pkg := ""
	for _, line := range strings.Split(out, "\n") {
		if p, ok := strings.CutPrefix(line, "pkg: "); ok {
			pkg = strings.TrimSpace(p)
			continue
		}
		m := benchLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		b := GoBench{Package: pkg, Name: m[1]}
		b.NsPerOp, _ = strconv.ParseFloat(m[2], 64)
		if m[3] != "" {
			b.BytesPerOp, _ = strconv.ParseFloat(m[3], 64)
			b.AllocsPerOp, _ = strconv.ParseFloat(m[4], 64)
		}
		res = append(res, b)
	}
	return res
}
