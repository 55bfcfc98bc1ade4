package perfbench

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kafkatune/kafkatune/internal/kafkaproc"
	"github.com/kafkatune/kafkatune/internal/tuner"
)

func noEnv(string) (string, bool) { return "", false }

func TestParseFlags(t *testing.T) {
	t.Run("defaults", func(t *testing.T) {
		c, err := ParseFlags(nil, noEnv, nil)
		if err != nil {
			t.Fatal(err)
		}
		if c.Quick || c.Pairs != 3 || len(c.Rates) != 2 || c.RecordSize != 1024 || !c.GoBench {
			t.Errorf("defaults: %+v", c)
		}
	})
	t.Run("quick shortens what was not given", func(t *testing.T) {
		c, err := ParseFlags([]string{"-quick", "-pairs", "2"}, noEnv, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !c.Quick || c.Pairs != 2 || c.ProduceDuration != 3*time.Second ||
			len(c.Rates) != 1 || c.GoBench {
			t.Errorf("quick: %+v", c)
		}
	})
	t.Run("environment", func(t *testing.T) {
		env := map[string]string{"BENCH_RATES": "100,200,300", "BENCH_QUICK": "true"}
		c, err := ParseFlags(nil, func(k string) (string, bool) { v, ok := env[k]; return v, ok }, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !c.Quick || len(c.Rates) != 3 || c.Rates[2] != 300 {
			t.Errorf("from env: %+v", c)
		}
	})
	t.Run("help", func(t *testing.T) {
		var out bytes.Buffer
		if _, err := ParseFlags([]string{"-help"}, noEnv, &out); !errors.Is(err, flag.ErrHelp) {
			t.Fatalf("err = %v, want flag.ErrHelp", err)
		}
		if !strings.Contains(out.String(), "-tune-ledger") {
			t.Errorf("usage lacks -tune-ledger: %s", out.String())
		}
	})
	bad := []struct {
		args []string
		want string
	}{
		{[]string{"-pairs", "0"}, "-pairs"},
		{[]string{"-pairs", "abc"}, "(env BENCH_PAIRS)"},
		{[]string{"-rates", "fast"}, "rates"},
		{[]string{"-duration", "10ms"}, "BENCH_DURATION"},
		{[]string{"-in-flight-bytes", "1000"}, "-in-flight-bytes"},
		{[]string{"extra"}, "unexpected argument"},
	}
	for _, tc := range bad {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			_, err := ParseFlags(tc.args, noEnv, nil)
			var ue *UsageError
			if !errors.As(err, &ue) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want a UsageError naming %s", err, tc.want)
			}
			if ExitCode(err) != 2 {
				t.Errorf("exit code %d, want 2", ExitCode(err))
			}
		})
	}
}

func TestToolsPOMMatchesBrokerVersion(t *testing.T) {
	want := "<version>" + kafkaproc.KafkaVersion + "</version>"
	if !bytes.Contains(toolsPOM, []byte(want)) {
		t.Fatalf("pom-tools.xml does not pin kafka-tools %s", kafkaproc.KafkaVersion)
	}
}

func TestParsePerfTotal(t *testing.T) {
	out := strings.Join([]string{
		"469393 records sent, 93878.6 records/sec (91.68 MB/sec), 250.1 ms avg latency, 600.0 ms max latency.",
		"1000000 records sent, 92936.802974 records/sec (90.76 MB/sec), 302.57 ms avg latency, " +
			"607.00 ms max latency, 290 ms 50th, 490 ms 95th, 590 ms 99th, 603 ms 99.9th.",
	}, "\n")
	sent, rate, err := parsePerfTotal(out)
	if err != nil {
		t.Fatal(err)
	}
	if sent != 1_000_000 || rate != 92936.802974 {
		t.Errorf("got %d records at %g/s", sent, rate)
	}
	if _, _, err := parsePerfTotal("469393 records sent, 93878.6 records/sec (91.68 MB/sec)"); err == nil {
		t.Error("a progress line was taken for the summary")
	}
}

func TestHistogramQuantile(t *testing.T) {
	bs := []bucket{{0.001, 10}, {0.002, 60}, {0.004, 100}, {math.Inf(1), 100}}
	cases := []struct{ q, want float64 }{
		{0.05, 0.0005},  // rank 5 of 10 in [0, 1 ms]
		{0.5, 0.0018},   // rank 50: 40 of 50 into [1, 2 ms]
		{0.99, 0.00395}, // rank 99: 39 of 40 into [2, 4 ms]
	}
	for _, c := range cases {
		if got := histogramQuantile(c.q, bs); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("q%g = %g, want %g", c.q, got, c.want)
		}
	}
	inf := []bucket{{0.001, 1}, {math.Inf(1), 100}}
	if got := histogramQuantile(0.99, inf); got != 0.001 {
		t.Errorf("rank in +Inf bucket: %g, want the last finite bound", got)
	}
	if got := histogramQuantile(0.5, []bucket{{0.001, 0}, {math.Inf(1), 0}}); !math.IsNaN(got) {
		t.Errorf("empty histogram: %g, want NaN", got)
	}
	d, err := bucketDelta(bs, []bucket{{0.001, 10}, {0.002, 70}, {0.004, 120}, {math.Inf(1), 121}})
	if err != nil || d[1].count != 10 || d[3].count != 21 {
		t.Errorf("delta = %v, %v", d, err)
	}
	if _, err := bucketDelta(bs, bs[:2]); err == nil {
		t.Error("delta of different layouts did not fail")
	}
}

func TestExactQuantileAndMedian(t *testing.T) {
	xs := make([]float64, 100)
	for i := range xs {
		xs[len(xs)-1-i] = float64(i + 1)
	}
	if got := exactQuantile(0.99, xs); got != 99 {
		t.Errorf("p99 of 1..100 = %g, want 99", got)
	}
	if got := exactQuantile(0.5, xs); got != 50 {
		t.Errorf("p50 of 1..100 = %g, want 50", got)
	}
	if got := median([]float64{3, 1, 2, 10}); got != 2.5 {
		t.Errorf("median = %g, want 2.5", got)
	}
	if !math.IsNaN(exactQuantile(0.5, nil)) || !math.IsNaN(median(nil)) {
		t.Error("empty input should give NaN")
	}
}

func TestProducerTotals(t *testing.T) {
	l := newLines()
	_, _ = l.Write([]byte(`{"time":"2026-01-02T03:04:05.5Z","level":"INFO","msg":"producer started"}` + "\n" +
		"not json\n" +
		`{"time":"2026-01-02T03:04:15.5Z","level":"INFO","msg":"producer stopped","acked":12345,"failed":0}`))
	l.close()
	acked, secs, failed, err := producerTotals(l)
	if err != nil {
		t.Fatal(err)
	}
	if acked != 12345 || secs != 10 || failed != 0 {
		t.Errorf("got acked %d, %g s, failed %d", acked, secs, failed)
	}
	if _, err := l.waitFor(context.Background(), "never logged"); err == nil {
		t.Error("waitFor on closed output without the line did not fail")
	}
}

func TestLinesWaitFor(t *testing.T) {
	l := newLines()
	got := make(chan error, 1)
	go func() {
		_, err := l.waitFor(context.Background(), "producer started")
		got <- err
	}()
	_, _ = l.Write([]byte(`{"msg":"loadgen starting"}` + "\n" + `{"msg":"producer sta`))
	_, _ = l.Write([]byte(`rted"}` + "\n"))
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := l.waitFor(ctx, "producer stopped"); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

func TestParseGoBench(t *testing.T) {
	out := "goos: linux\npkg: github.com/kafkatune/kafkatune/internal/stamp\n" +
		"BenchmarkPutHeader-2   \t52082485\t         4.607 ns/op\t       0 B/op\t       0 allocs/op\n" +
		"pkg: github.com/kafkatune/kafkatune/internal/loadgen\n" +
		"BenchmarkPacer-2 39678550 6.167 ns/op\nPASS\n"
	bs := parseGoBench(out)
	if len(bs) != 2 {
		t.Fatalf("parsed %d benchmarks, want 2: %+v", len(bs), bs)
	}
	if bs[0].Name != "BenchmarkPutHeader-2" || bs[0].NsPerOp != 4.607 ||
		!strings.HasSuffix(bs[0].Package, "/stamp") {
		t.Errorf("first: %+v", bs[0])
	}
	if !strings.HasSuffix(bs[1].Package, "/loadgen") || bs[1].NsPerOp != 6.167 {
		t.Errorf("second: %+v", bs[1])
	}
}

// writeLedger writes two runs; the second has an unverified trial with
// the highest score, which must not count as the best.
func writeLedger(t *testing.T, dir string) string {
	t.Helper()
	l, err := tuner.OpenLedger(dir)
	if err != nil {
		t.Fatal(err)
	}
	recs := []tuner.Record{
		{Run: "old", Trial: 1, HeapMB: 512, NetworkThreads: 2, IOThreads: 2, Throughput: 9, Score: 9, Verified: true},
		{Run: "new", Trial: 1, HeapMB: 256, NetworkThreads: 1, IOThreads: 2,
			Throughput: 4000, P99Ms: 12.5, Score: 4000, Verified: true, Best: "start"},
		{Run: "new", Trial: 2, HeapMB: 1024, NetworkThreads: 4, IOThreads: 8,
			Throughput: 9000, P99Ms: 30, Score: 9000, Verified: false, Best: "start"},
		{Run: "new", Trial: 3, HeapMB: 768, NetworkThreads: 2, IOThreads: 4,
			Throughput: 7000, P99Ms: 15, Score: 7000, Verified: true, Best: "heap=768MiB network_threads=2 io_threads=4"},
		{Run: "new", Trial: 4, HeapMB: 768, NetworkThreads: 2, IOThreads: 4,
			Throughput: 8000, P99Ms: 17, Score: 8000, Verified: true, Best: "heap=768MiB network_threads=2 io_threads=4"},
		{Run: "new", Trial: 5, HeapMB: 256, NetworkThreads: 1, IOThreads: 2,
			Throughput: 2000, P99Ms: 27.5, Score: 2000, Verified: true, Best: "heap=768MiB network_threads=2 io_threads=4"},
		{Run: "new", Trial: 6, HeapMB: 256, NetworkThreads: 1, IOThreads: 2,
			Score: 0, Verified: false, Error: "rolled back", Best: "heap=768MiB network_threads=2 io_threads=4"},
	}
	for _, r := range recs {
		if err := l.Append(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return l.Path()
}

func TestSummarizeLedger(t *testing.T) {
	path := writeLedger(t, t.TempDir())
	s, err := summarizeLedger(path)
	if err != nil {
		t.Fatal(err)
	}
	if s.Run != "new" || s.Trials != 6 || s.First.HeapMB != 256 {
		t.Errorf("run %q, %d trials, first %+v", s.Run, s.Trials, s.First)
	}
	if !s.HaveBest || s.Best.Trial != 4 || s.FinalIncumbent != "heap=768MiB network_threads=2 io_threads=4" {
		t.Errorf("best %+v (have %t), final %q", s.Best, s.HaveBest, s.FinalIncumbent)
	}
	// The start's setting: trials 1 and 5 (trial 6 failed); the end's:
	// trials 3 and 4 (trial 2, unverified, is another setting anyway).
	if got := s.Start; !slices.Equal(got.Trials, []int{1, 5}) || got.Score != 3000 || got.P99Ms != 20 {
		t.Errorf("start mean %+v, want trials 1 and 5, score 3000, P99 20", got)
	}
	if got := s.End; !slices.Equal(got.Trials, []int{3, 4}) || got.Score != 7500 || got.Throughput != 7500 {
		t.Errorf("end mean %+v, want trials 3 and 4, score 7500", got)
	}
	var b strings.Builder
	(&Report{Tuner: TunerResult{Ledger: s}}).tuner(&b)
	for _, want := range []string{
		"| start | heap=256MiB network_threads=1 io_threads=2 | 1, 5 | 3000 | 20.00 | 3000 |",
		"End over start, means: score x2.50",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("tuner section lacks %q:\n%s", want, b.String())
		}
	}
	if _, err := summarizeLedger(filepath.Join(t.TempDir(), "missing.jsonl")); err == nil {
		t.Error("a missing ledger did not fail")
	}
}

func TestPairRatios(t *testing.T) {
	run := func(pair int, client string, msgs uint64, secs, cpu, others float64) ProducerRun {
		return ProducerRun{Client: client, Pair: pair, Messages: msgs, Seconds: secs,
			Usage: Usage{Client: cpu, Others: others, Wall: secs}}
	}
	res := ProducerResult{Runs: []ProducerRun{
		run(1, ClientOurs, 1_000_000, 10, 4, 10),
		run(1, ClientJava, 1_000_000, 20, 8, 30),
		run(2, ClientOurs, 2_000_000, 10, 8, 2),
		run(2, ClientJava, 2_000_000, 8, 20, 2),
		run(3, ClientOurs, 1, 1, 1, 0), // incomplete pair
	}}
	prs := res.PairRatios()
	if len(prs) != 2 {
		t.Fatalf("%d pairs, want 2: %+v", len(prs), prs)
	}
	if prs[0].Throughput != 2 || prs[0].CPU != 0.5 || math.Abs(prs[0].Others-40.0/30) > 1e-12 {
		t.Errorf("pair 1: %+v", prs[0])
	}
	p, ok := leastLoaded(prs)
	if !ok || p.Pair != 2 || p.Throughput != 0.8 || p.CPU != 0.4 {
		t.Errorf("least loaded: %+v", p)
	}
	s := res.Summarize(1000)
	if s.Ours.Runs != 3 || s.Java.Runs != 2 || s.Java.MsgPerSec != (50_000+250_000)/2 {
		t.Errorf("summary: %+v", s)
	}
}
