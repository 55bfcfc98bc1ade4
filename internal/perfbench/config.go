// Package perfbench is the benchmark behind `make bench` (go run ./bench):
// on one local Kafka broker it runs this project's producer against
// Kafka's own ProducerPerformance, interleaved, and compares throughput and
// CPU per message; it measures end-to-end latency at fixed rates with the
// project's consumer and with an independent consumer written here; it runs
// the tuner's comparison against random search and reads the ledger of a
// real `agent tune` run. It writes everything to a Markdown report.
package perfbench

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/kafkatune/kafkatune/internal/envflag"
	"github.com/kafkatune/kafkatune/internal/kafkaproc"
	"github.com/kafkatune/kafkatune/internal/tuner"
)

// Fixed producer settings of the comparison: both clients get exactly
// these, set explicitly on both sides.
const (
	// Acks is acks on both producers.
	Acks = "all"
	// BatchSizeBytes is batch.size. The load generator has no flag for it,
	// so it runs with librdkafka's default, which is this value; the Java
	// producer gets it explicitly (its own default is 16384).
	BatchSizeBytes = 1_000_000
	// Compression is compression.type on both producers.
	Compression = "none"
)

// Config is one benchmark run.
type Config struct {
	// Quick marks the short run the tests use; the report says so.
	Quick bool
	// Out is the Markdown report written at the end.
	Out string
	// LoadgenPath is a built loadgen binary; empty builds one.
	LoadgenPath string
	// WorkDir holds the broker's data and temporary files; empty uses a
	// new directory under os.TempDir, removed at the end.
	WorkDir string

	// Pairs is the number of interleaved A/B pairs of producer runs.
	Pairs int
	// ProduceDuration is how long each load generator run lasts; the
	// ProducerPerformance run of the same pair sends as many messages.
	ProduceDuration time.Duration
	RecordSize      int
	LingerMs        int
	Partitions      int
	// MaxInFlightBytes is the producers' memory for unacknowledged
	// records: buffer.memory on the Java side, MaxInFlightBytes/RecordSize
	// messages (--max-in-flight) on ours.
	MaxInFlightBytes int

	// Rates are the fixed rates of the end-to-end latency runs, msg/s.
	Rates []float64
	// LatencyWarmup is discarded; LatencyWindow is measured.
	LatencyWarmup time.Duration
	LatencyWindow time.Duration

	// Broker settings: generous, so that the broker is not the
	// bottleneck.
	HeapMB         int
	NetworkThreads int
	IOThreads      int

	// Compare configures the tuner's comparison on the synthetic surface.
	Compare tuner.CompareConfig
	// TuneLedger is the ledger of a real `agent tune` run, or empty.
	TuneLedger string
	// GoBench runs the hot-path Go benchmarks (needs the go tool and the
	// module source).
	GoBench bool

	// Jars says where the Kafka jars come from (the kafkaproc rules).
	Jars kafkaproc.JarsConfig
	// CommandLine is the bench's own command line, for the report.
	CommandLine string
}

// DefaultConfig returns the full benchmark's settings.
func DefaultConfig() Config {
	return Config{
		Out:              "bench/results.md",
		Pairs:            3,
		ProduceDuration:  20 * time.Second,
		RecordSize:       1024,
		LingerMs:         5,
		Partitions:       6,
		MaxInFlightBytes: 32 << 20,
		Rates:            []float64{1000, 5000},
		LatencyWarmup:    5 * time.Second,
		LatencyWindow:    30 * time.Second,
		HeapMB:           1024,
		NetworkThreads:   3,
		IOThreads:        8,
		Compare:          tuner.DefaultCompareConfig(),
		GoBench:          true,
	}
}

// quick overrides the settings the quick mode shortens, unless the
// command line gave them.
func quick(c *Config, given map[string]bool) {
	c.Quick = true
	set := func(name string, apply func()) {
		if !given[name] {
			apply()
		}
	}
	set(flagPairs, func() { c.Pairs = 1 })
	set(flagProduceDuration, func() { c.ProduceDuration = 3 * time.Second })
	set(flagRates, func() { c.Rates = []float64{1000} })
	set(flagWarmup, func() { c.LatencyWarmup = time.Second })
	set(flagWindow, func() { c.LatencyWindow = 3 * time.Second })
	set(flagSeeds, func() { c.Compare.Seeds = 3 })
	set(flagBudget, func() { c.Compare.Budget = 30 })
	set(flagGoBench, func() { c.GoBench = false })
}

// Flag names and their environment variables.
const (
	flagQuick           = "quick"
	flagOut             = "out"
	flagLoadgen         = "loadgen"
	flagWorkDir         = "work-dir"
	flagPairs           = "pairs"
	flagProduceDuration = "duration"
	flagRecordSize      = "record-size"
	flagLinger          = "linger-ms"
	flagPartitions      = "partitions"
	flagInFlight        = "in-flight-bytes"
	flagRates           = "rates"
	flagWarmup          = "latency-warmup"
	flagWindow          = "latency-window"
	flagHeap            = "heap-mb"
	flagNetwork         = "network-threads"
	flagIO              = "io-threads"
	flagSeeds           = "tune-seeds"
	flagBudget          = "tune-budget"
	flagLedger          = "tune-ledger"
	flagGoBench         = "go-bench"
)

var envNames = map[string]string{
	flagQuick:           "BENCH_QUICK",
	flagOut:             "BENCH_OUT",
	flagLoadgen:         "BENCH_LOADGEN",
	flagWorkDir:         "BENCH_WORK_DIR",
	flagPairs:           "BENCH_PAIRS",
	flagProduceDuration: "BENCH_DURATION",
	flagRecordSize:      "BENCH_RECORD_SIZE",
	flagLinger:          "BENCH_LINGER_MS",
	flagPartitions:      "BENCH_PARTITIONS",
	flagInFlight:        "BENCH_IN_FLIGHT_BYTES",
	flagRates:           "BENCH_RATES",
	flagWarmup:          "BENCH_LATENCY_WARMUP",
	flagWindow:          "BENCH_LATENCY_WINDOW",
	flagHeap:            "BENCH_HEAP_MB",
	flagNetwork:         "BENCH_NETWORK_THREADS",
	flagIO:              "BENCH_IO_THREADS",
	flagSeeds:           "BENCH_TUNE_SEEDS",
	flagBudget:          "BENCH_TUNE_BUDGET",
	flagLedger:          "BENCH_TUNE_LEDGER",
	flagGoBench:         "BENCH_GO_BENCH",
}

// UsageError is a bad flag or environment value: the command prints it on
// one line and exits with status 2.
type UsageError struct{ msg string }

func (e *UsageError) Error() string { return e.msg }

func invalid(name, value, allowed string) error {
	return &UsageError{msg: fmt.Sprintf("invalid -%s %q (env %s): allowed %s",
		name, value, envNames[name], allowed)}
}

// rates is a flag.Value holding a comma-separated list of rates.
type rates struct{ v *[]float64 }

func (r rates) String() string {
	if r.v == nil {
		return ""
	}
	parts := make([]string, len(*r.v))
	for i, x := range *r.v {
		parts[i] = strconv.FormatFloat(x, 'g', -1, 64)
	}
	return strings.Join(parts, ",")
}

func (r rates) Set(s string) error {
	var out []float64
	for _, p := range strings.Split(s, ",") {
		x, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || !(x >= 1 && x <= 1_000_000) {
			return errors.New("a comma-separated list of rates from 1 to 1000000 msg/s")
		}
		out = append(out, x)
	}
	*r.v = out
	return nil
}

// ParseFlags parses the bench command line (without the program name),
// falling back to the environment through lookup. -help writes the usage
// to out and returns flag.ErrHelp; bad input is a *UsageError.
func ParseFlags(args []string, lookup func(string) (string, bool), out io.Writer) (Config, error) {
	c := DefaultConfig()
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	defineFlags(fs, &c)
	set := envflag.New(fs)
	fs.VisitAll(func(f *flag.Flag) { set.Bind(f.Name, envNames[f.Name]) })
	if err := set.Parse(args, lookup); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(out, "Usage: go run ./bench [flags]\n\nFlags:")
			fs.SetOutput(out)
			fs.PrintDefaults()
			return c, flag.ErrHelp
		}
		return c, &UsageError{msg: withEnvName(err.Error())}
	}
	if fs.NArg() > 0 {
		return c, &UsageError{msg: fmt.Sprintf("unexpected argument %q: bench takes only flags", fs.Arg(0))}
	}
	given := map[string]bool{} // set on the command line or from the environment
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	if c.Quick {
		quick(&c, given)
	}
	return c, c.Validate()
}

// flagInError finds the flag a flag-package error is about.
var flagInError = regexp.MustCompile(`flag:? -([a-z-]+)`)

// withEnvName adds the environment variable of the flag an error names,
// so that the one-line error says both (envflag already does so for
// values from the environment).
func withEnvName(msg string) string {
	m := flagInError.FindStringSubmatch(msg)
	if m == nil || strings.Contains(msg, "BENCH_") {
		return msg
	}
	if env, ok := envNames[m[1]]; ok {
		return msg + " (env " + env + ")"
	}
	return msg
}

func defineFlags(fs *flag.FlagSet, c *Config) {
	fs.BoolVar(&c.Quick, flagQuick, false,
		"short run for tests: 1 pair of 3 s, one rate, a small tuner comparison, no Go benchmarks")
	fs.StringVar(&c.Out, flagOut, c.Out, "Markdown report to write")
	fs.StringVar(&c.LoadgenPath, flagLoadgen, "", "loadgen `binary` to run (default: build ./loadgen)")
	fs.StringVar(&c.WorkDir, flagWorkDir, "", "`dir`ectory for the broker data (default: a temporary one)")
	fs.IntVar(&c.Pairs, flagPairs, c.Pairs, "interleaved producer `pairs` (ours, then ProducerPerformance)")
	fs.DurationVar(&c.ProduceDuration, flagProduceDuration, c.ProduceDuration,
		"length of each load generator run")
	fs.IntVar(&c.RecordSize, flagRecordSize, c.RecordSize, "record value size in `bytes`")
	fs.IntVar(&c.LingerMs, flagLinger, c.LingerMs, "linger.ms of both producers")
	fs.IntVar(&c.Partitions, flagPartitions, c.Partitions, "partitions of every benchmark topic")
	fs.IntVar(&c.MaxInFlightBytes, flagInFlight, c.MaxInFlightBytes,
		"producer memory for unacknowledged records in `bytes` (Java buffer.memory)")
	fs.Var(rates{&c.Rates}, flagRates, "fixed `rates` of the latency runs, msg/s, comma-separated")
	fs.DurationVar(&c.LatencyWarmup, flagWarmup, c.LatencyWarmup, "discarded start of each latency run")
	fs.DurationVar(&c.LatencyWindow, flagWindow, c.LatencyWindow, "measured part of each latency run")
	fs.IntVar(&c.HeapMB, flagHeap, c.HeapMB, "broker heap in `MiB`")
	fs.IntVar(&c.NetworkThreads, flagNetwork, c.NetworkThreads, "broker num.network.threads")
	fs.IntVar(&c.IOThreads, flagIO, c.IOThreads, "broker num.io.threads")
	fs.IntVar(&c.Compare.Seeds, flagSeeds, c.Compare.Seeds, "seeds of the tuner comparison")
	fs.IntVar(&c.Compare.Budget, flagBudget, c.Compare.Budget, "trials per run of the tuner comparison")
	fs.StringVar(&c.TuneLedger, flagLedger, "", "ledger `file` of a real `agent tune` run to report")
	fs.BoolVar(&c.GoBench, flagGoBench, c.GoBench, "run the hot-path Go benchmarks")
}

// Validate reports the first setting out of range as a *UsageError.
func (c Config) Validate() error {
	ints := []struct {
		name   string
		v      int
		lo, hi int
	}{
		{flagPairs, c.Pairs, 1, 50},
		{flagRecordSize, c.RecordSize, 64, 1_000_000},
		{flagLinger, c.LingerMs, 0, 10_000},
		{flagPartitions, c.Partitions, 1, 1000},
		{flagInFlight, c.MaxInFlightBytes, BatchSizeBytes, 1 << 32},
		{flagHeap, c.HeapMB, kafkaproc.MinHeapMB, kafkaproc.MaxHeapMB},
		{flagNetwork, c.NetworkThreads, 1, kafkaproc.MaxThreads},
		{flagIO, c.IOThreads, 1, kafkaproc.MaxThreads},
		{flagSeeds, c.Compare.Seeds, 1, 1000},
		{flagBudget, c.Compare.Budget, 2, 100_000},
	}
	for _, f := range ints {
		if f.v < f.lo || f.v > f.hi {
			return invalid(f.name, strconv.Itoa(f.v), fmt.Sprintf("an integer from %d to %d", f.lo, f.hi))
		}
	}
	durs := []struct {
		name string
		v    time.Duration
		lo   time.Duration
	}{
		{flagProduceDuration, c.ProduceDuration, time.Second},
		{flagWarmup, c.LatencyWarmup, 0},
		{flagWindow, c.LatencyWindow, time.Second},
	}
	for _, d := range durs {
		if d.v < d.lo {
			return invalid(d.name, d.v.String(), "a duration of at least "+d.lo.String())
		}
	}
	if len(c.Rates) == 0 {
		return invalid(flagRates, "", "at least one rate")
	}
	if strings.TrimSpace(c.Out) == "" {
		return invalid(flagOut, c.Out, "a file path")
	}
	return nil
}
