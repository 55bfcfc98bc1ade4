package tuner

import (
	"fmt"
	"math"
	"strings"
)

// Markdown renders the comparison as a short description and a table, for
// docs/tuner.md and bench/results.md.
func (r CompareResult) Markdown() string {
	c := r.Config
	b := c.Limits.Bounds()
	var sb strings.Builder
	fmt.Fprintf(&sb, "Synthetic surface: %g CPUs, %d MiB, P99 target %g ms, noise %.3g%%.\n",
		c.Limits.CPUs, c.Limits.MemoryMB, c.TargetP99Ms, 100*c.Noise)
	fmt.Fprintf(&sb, "Grid: %d settings (%d heap x %d network x %d I/O); a quarter of it is %d trials.\n",
		r.GridSize, len(b.HeapMB.Values()), len(b.NetworkThreads.Values()),
		len(b.IOThreads.Values()), r.GridSize/4)
	fmt.Fprintf(&sb, "Grid best (noise-free): %v, score %.0f msg/s; the start scores %.0f%% of it; "+
		"%d settings (%.1f%%) are within %.0f%%.\n",
		r.GridBest, r.GridBestScore, 100*r.StartRel, r.Within,
		100*float64(r.Within)/float64(r.GridSize), 100*c.Threshold)
	fmt.Fprintf(&sb, "Budget %d trials per run, %d seeds. Trials to reach %.0f%% of the grid best "+
		"(noise-free score of the optimizer's kept setting):\n\n", c.Budget, c.Seeds, 100*c.Threshold)
	sb.WriteString("| optimizer | runs that reached it | median | IQR (Q1-Q3) " +
		"| final / grid best, median | final / grid best, worst |\n")
	sb.WriteString("|---|---|---|---|---|---|\n")
	for _, s := range []Summary{r.Ours, r.Random} {
		fmt.Fprintf(&sb, "| %s | %d/%d | %s | %s-%s | %.3f | %.3f |\n",
			s.Name, s.Reached, len(s.Traces), trials(s.Median, c.Budget),
			trials(s.Q1, c.Budget), trials(s.Q3, c.Budget), s.FinalRelMedian, s.FinalRelMin)
	}
	return sb.String()
}

// trials formats a trial count, ">budget" for runs that never got there.
func trials(v float64, budget int) string {
	if math.IsInf(v, 1) {
		return fmt.Sprintf(">%d", budget)
	}
	return fmt.Sprintf("%.1f", v)
}
