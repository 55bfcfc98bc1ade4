package perfbench

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/kafkatune/kafkatune/internal/tuner"
)

// Section titles of the report; the tests look for them.
const (
	SectionMachine  = "## Machine and versions"
	SectionCommands = "## Commands"
	SectionProducer = "## Producer throughput: kafkatune loadgen against Kafka ProducerPerformance"
	SectionLatency  = "## End-to-end latency at fixed rates"
	SectionTuner    = "## Tuner"
	SectionGoBench  = "## Hot-path Go benchmarks"
	SectionTargets  = "## Targets of issue 8"
)

// Markdown renders the report.
func (r *Report) Markdown() string {
	var b strings.Builder
	r.header(&b)
	r.machine(&b)
	r.commands(&b)
	r.producer(&b)
	r.latency(&b)
	r.tuner(&b)
	r.goBench(&b)
	r.targets(&b)
	return b.String()
}

// num formats x with digits decimals, "n/a" when it is not finite.
func num(x float64, digits int) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return "n/a"
	}
	return strconv.FormatFloat(x, 'f', digits, 64)
}

func metWord(ok bool) string {
	if ok {
		return "**met**"
	}
	return "**missed**"
}

func (r *Report) header(b *strings.Builder) {
	fmt.Fprintf(b, "# kafkatune benchmark results\n\n")
	fmt.Fprintf(b, "Written by `%s` on %s UTC; the run took %s. ",
		r.Config.CommandLine, r.Started.UTC().Format("2006-01-02 15:04"),
		r.Finished.Sub(r.Started).Round(time.Second))
	b.WriteString("Every figure below was measured in this run; none is asserted by a test.\n\n")
	if r.Config.Quick {
		b.WriteString("**Quick mode**: one short pair, one rate, a small tuner comparison. " +
			"The figures only show that every part runs; do not compare them.\n\n")
	}
}

func (r *Report) machine(b *strings.Builder) {
	m := r.Machine
	b.WriteString(SectionMachine + "\n\n| | |\n|---|---|\n")
	fmt.Fprintf(b, "| CPU | %s, %d logical CPUs |\n", m.CPUModel, m.CPUs)
	fmt.Fprintf(b, "| memory | %d MiB |\n", m.MemTotalMiB)
	fmt.Fprintf(b, "| kernel | %s |\n", m.Kernel)
	fmt.Fprintf(b, "| Go | %s |\n", m.Go)
	fmt.Fprintf(b, "| Kafka (broker and kafka-tools, from Maven Central) | %s |\n", m.Kafka)
	fmt.Fprintf(b, "| librdkafka (confluent-kafka-go, linked into loadgen) | %s |\n", m.Librdkafka)
	fmt.Fprintf(b, "| Java | %s |\n", m.Java)
	fmt.Fprintf(b, "| load average at the start (1, 5, 15 min) | %.2f, %.2f, %.2f |\n",
		m.LoadStart.Load1, m.LoadStart.Load5, m.LoadStart.Load15)
	fmt.Fprintf(b, "| load average at the end (1, 5, 15 min) | %.2f, %.2f, %.2f |\n\n",
		m.LoadEnd.Load1, m.LoadEnd.Load5, m.LoadEnd.Load15)
	fmt.Fprintf(b, "The machine is shared: other engineers run their tests on the same %d CPUs "+
		"while this benchmark runs, so it is not an idle machine. The load averages above and "+
		"the column \"others' CPU\" of the producer runs (CPU time of every other process on "+
		"the machine, from /proc/stat, less the client and the broker) show how much they took.\n\n",
		m.CPUs)
	c := r.Broker
	fmt.Fprintf(b, "Broker: one local KRaft broker started through internal/kafkaproc on a fresh "+
		"data directory, heap %d MiB, %d network threads, %d I/O threads, JMX exporter off. "+
		"These are generous settings, chosen so that the broker's configuration does not limit "+
		"the clients. It still shares the %d CPUs with the client under test, so the machine "+
		"does limit both (see the broker CPU columns). Every run uses a fresh topic with %d "+
		"partitions, replication factor 1, deleted after the run.\n\n",
		c.HeapMB, c.NetworkThreads, c.IOThreads, m.CPUs, r.Config.Partitions)
}

func (r *Report) commands(b *strings.Builder) {
	b.WriteString(SectionCommands + "\n\n```\n")
	fmt.Fprintf(b, "%s\n", r.Config.CommandLine)
	fmt.Fprintf(b, "# loadgen binary: %s\n", r.LoadgenBuild)
	fmt.Fprintf(b, "# producer comparison, ours:\n%s\n", r.Producer.OursCommand)
	fmt.Fprintf(b, "# producer comparison, Kafka's (the classpath is kafka-tools %s and its "+
		"dependencies; --num-records is what ours acknowledged in the same pair):\n%s\n",
		r.Machine.Kafka, r.Producer.JavaCommand)
	fmt.Fprintf(b, "# latency runs (at each rate):\n%s\n%s\n", r.Latency.ProducerCommand,
		r.Latency.ConsumerCommand)
	if r.GoBench != nil {
		fmt.Fprintf(b, "# hot paths:\n%s\n", r.GoBench.Command)
	}
	b.WriteString("```\n\n")
}

func (r *Report) producer(b *strings.Builder) {
	c := r.Config
	b.WriteString(SectionProducer + "\n\n")
	fmt.Fprintf(b, "Both clients run as separate processes with the same settings, set explicitly on "+
		"both sides: record value %d bytes, acks=%s, idempotence on, linger.ms=%d, "+
		"batch.size=%d, compression %s, %d bytes for unacknowledged records "+
		"(ProducerPerformance buffer.memory; loadgen --max-in-flight %d records), no rate limit "+
		"(loadgen --rate-mode max, ProducerPerformance --throughput -1). loadgen has no batch.size "+
		"flag; it runs with librdkafka's default, %d bytes, and the Java producer is given the "+
		"same value (its own default is 16384). Both use sticky partitioning, though not the same "+
		"one: loadgen --partitioner sticky keeps one partition for twice linger.ms (librdkafka's "+
		"sticky.partitioning.linger.ms), the Java producer's default partitioner until a batch "+
		"is full. (loadgen's default is round-robin, one message per "+
		"partition in turn, which keeps exact per-partition shares; with it, an earlier run of "+
		"this comparison, on a machine busy with other work, had ours at 0.95 of "+
		"ProducerPerformance's rate. This run does not separate the two effects.)\n\n",
		c.RecordSize, Acks, c.LingerMs, BatchSizeBytes, Compression, c.MaxInFlightBytes,
		c.MaxInFlightBytes/c.RecordSize, BatchSizeBytes)
	fmt.Fprintf(b, "Pairs: %d, interleaved: ours for %s, then ProducerPerformance for the same "+
		"number of messages. Throughput is acknowledged messages over the client's own "+
		"sending time: for loadgen from its \"producer started\" log line (topic ready, client "+
		"connected) to \"producer stopped\" (after the final flush); for ProducerPerformance "+
		"its summary line (first send to the end of close). MB/s counts record values in "+
		"10^6 bytes. CPU is user plus system time of the client process from its rusage, start-up "+
		"included; a one-record ProducerPerformance run used %s CPU seconds (JVM start, "+
		"connect, close), shown subtracted in a second row. Broker CPU is read from "+
		"/proc/<pid>/stat.\n\n",
		c.Pairs, c.ProduceDuration, num(r.Producer.JavaStartupCPU, 2))
	b.WriteString("| pair | client | messages | seconds | msg/s | MB/s | client CPU s " +
		"| client CPU s / M msgs | broker CPU s / M msgs | others' CPU s | load average (1 min) |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, run := range r.Producer.Runs {
		fmt.Fprintf(b, "| %d | %s | %d | %s | %s | %s | %s | %s | %s | %s | %s |\n",
			run.Pair, run.Client, run.Messages, num(run.Seconds, 2), num(run.MsgPerSec(), 0),
			num(run.MBPerSec(c.RecordSize), 1), num(run.Usage.Client, 2),
			num(run.CPUPerMillion(), 2), num(run.BrokerCPUPerMillion(), 2),
			num(run.Usage.Others, 1), num(run.Load1, 2))
	}
	r.producerMedians(b)
}

// producerMedians writes the per-pair ratios, the medians and the verdicts.
func (r *Report) producerMedians(b *strings.Builder) {
	c := r.Config
	pairs := r.Producer.PairRatios()
	b.WriteString("\nPer pair, ours / theirs:\n\n| pair | throughput | client CPU per message " +
		"| CPUs kept busy by other processes |\n|---|---|---|---|\n")
	for _, p := range pairs {
		fmt.Fprintf(b, "| %d | %s | %s | %s |\n", p.Pair, num(p.Throughput, 2), num(p.CPU, 2),
			num(p.Others, 2))
	}
	s := r.Producer.Summarize(c.RecordSize)
	b.WriteString("\nMedians:\n\n| | kafkatune loadgen | Kafka ProducerPerformance | ours / theirs |\n")
	b.WriteString("|---|---|---|---|\n")
	row := func(name string, ours, theirs float64, digits int) {
		fmt.Fprintf(b, "| %s | %s | %s | %s |\n", name, num(ours, digits), num(theirs, digits),
			num(ours/theirs, 2))
	}
	row("throughput, msg/s", s.Ours.MsgPerSec, s.Java.MsgPerSec, 0)
	row("throughput, MB/s", s.Ours.MBPerSec, s.Java.MBPerSec, 1)
	row("client CPU s per million messages", s.Ours.CPUPerMillion, s.Java.CPUPerMillion, 2)
	row("client CPU s per million messages, JVM start-up subtracted",
		s.Ours.CPUPerMillionNoStart, s.Java.CPUPerMillionNoStart, 2)
	row("broker CPU s per million messages", s.Ours.BrokerCPUPerMillion, s.Java.BrokerCPUPerMillion, 2)
	row("others' CPU during the runs, CPUs busy", s.Ours.Others, s.Java.Others, 2)
	b.WriteString("\n")
	fmt.Fprintf(b, "Throughput target (ours at least as fast): %s, ratio %s. "+
		"CPU target (no more CPU per message): %s, ratio %s whole process, %s with the JVM "+
		"start-up subtracted.\n\n",
		metWord(s.ThroughputRatio() >= 1), num(s.ThroughputRatio(), 2),
		metWord(s.CPURatio() <= 1), num(s.CPURatio(), 2), num(s.CPURatioNoStart(), 2))
	b.WriteString(producerNotes(s, pairs, c.Quick, r.Machine.CPUs))
}

// producerNotes explains the outcome of the producer comparison in plain
// words, from the figures.
func producerNotes(s ProducerSummary, pairs []PairRatio, quick bool, cpus int) string {
	var notes []string
	if quick {
		notes = append(notes, "In quick mode the runs last a few seconds, so start-up weighs "+
			"heavily on both rate and CPU; the ratios mean little.")
	}
	if busy := max(s.Ours.Others, s.Java.Others); busy > 0.25*float64(cpus) {
		notes = append(notes, fmt.Sprintf("Other processes kept %s (during our runs) and %s "+
			"(during ProducerPerformance's) of the %d CPUs busy, in the median, and their share "+
			"changed from run to run. The throughput figures therefore say mostly how much of "+
			"the machine each run got, and the interleaving evens that out only in part. CPU "+
			"per message depends much less on it and is the sturdier comparison here.",
			num(s.Ours.Others, 2), num(s.Java.Others, 2), cpus))
		if p, ok := leastLoaded(pairs); ok && len(pairs) > 1 {
			notes = append(notes, fmt.Sprintf("In the pair with the least other work (pair %d, "+
				"%s CPUs busy with other processes) the throughput ratio was %s and the CPU ratio %s.",
				p.Pair, num(p.Others, 2), num(p.Throughput, 2), num(p.CPU, 2)))
		}
	}
	if s.ThroughputRatio() < 1 {
		notes = append(notes, fmt.Sprintf("Throughput is missed: ours reached %s of "+
			"ProducerPerformance's rate. Both clients share the machine's CPUs with the broker "+
			"(broker CPU per million messages: ours %s s, theirs %s s), so a client that "+
			"spends more CPU per message leaves less to the broker, and the broker's share sets "+
			"the rate.", num(s.ThroughputRatio(), 2), num(s.Ours.BrokerCPUPerMillion, 2),
			num(s.Java.BrokerCPUPerMillion, 2)))
	}
	if s.CPURatio() > 1 {
		notes = append(notes, fmt.Sprintf("CPU is missed: ours used %s times the CPU per "+
			"message. A likely cause, not measured apart: each record crosses from Go to "+
			"librdkafka through cgo, and the producer stamps it, updates its metrics (sent, in "+
			"flight, send delay) and receives a delivery report through a Go channel, while "+
			"ProducerPerformance sends one pre-built payload and counts the callback.",
			num(s.CPURatio(), 2)))
	}
	if s.Ours.BrokerCPUPerMillion > 1.1*s.Java.BrokerCPUPerMillion {
		notes = append(notes, fmt.Sprintf("The broker spends more CPU per message on our "+
			"producer's traffic (%s against %s s per million); the cause was not measured.",
			num(s.Ours.BrokerCPUPerMillion, 2),
			num(s.Java.BrokerCPUPerMillion, 2)))
	}
	if len(notes) == 0 {
		return ""
	}
	return strings.Join(notes, " ") + "\n\n"
}

func (r *Report) latency(b *strings.Builder) {
	l := r.Latency
	b.WriteString(SectionLatency + "\n\n")
	fmt.Fprintf(b, "At each fixed rate, loadgen produces (open loop, every record stamped with its "+
		"intended send time; %d-byte records, linger.ms=%d, %d partitions) while two consumers "+
		"in separate groups read the same topic:\n\n", l.MessageSize, l.LingerMs, l.Partitions)
	b.WriteString("- **ours**: `loadgen consume`, P50/P99 from its latency histogram, the way " +
		"Prometheus computes them (the buckets' increase over the window, linear " +
		"interpolation inside a bucket; bucket bounds grow by 10%, so up to about 5% off);\n" +
		"- **independent**: a plain confluent-kafka-go consumer with default settings, written " +
		"in the bench without loadgen or stamp code. It decodes the stamp's intended time from " +
		"the bytes as docs/architecture.md lays them out, and takes exact nearest-rank " +
		"quantiles of receive time minus that time, for the records it received in the same " +
		"window. It also gives receive time minus the record's Kafka CreateTime. That " +
		"timestamp is set by librdkafka when produce() is called, with millisecond resolution, " +
		"so it reads up to 1 ms high.\n\n")
	fmt.Fprintf(b, "Both consumers are assigned all partitions before the producer starts. The "+
		"first %s is discarded (warm-up), then a window of %s is measured. Kafka's "+
		"EndToEndLatency tool was not used: it sends one message at a time and waits for it, "+
		"so it measures no fixed rate. Both consumers share the machine with the producer and "+
		"the broker.\n\n", l.Warmup, l.Window)
	b.WriteString("| rate msg/s | acked msg/s | window s | ours P50 ms | ours P99 ms | ours records " +
		"| independent P50 ms | independent P99 ms | independent records | P50 ours/indep. " +
		"| P99 ours/indep. | CreateTime P50 ms | CreateTime P99 ms |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	maxLoad, maxOff := 0.0, 0.0
	for _, run := range l.Runs {
		maxOff = max(maxOff, math.Abs(run.Ours.P99/run.Plain.P99-1))
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %d | %s | %s | %d | %s | %s | %s | %s |\n",
			num(run.Rate, 0), num(run.AckedRate, 0), num(run.Window, 1),
			num(run.Ours.P50, 2), num(run.Ours.P99, 2), run.Ours.Count,
			num(run.Plain.P50, 2), num(run.Plain.P99, 2), run.Plain.Count,
			num(run.Ours.P50/run.Plain.P50, 2), num(run.Ours.P99/run.Plain.P99, 2),
			num(run.PlainCreate.P50, 2), num(run.PlainCreate.P99, 2))
		maxLoad = max(maxLoad, run.Load1)
	}
	b.WriteString("\nThe acked rate is over the producer's whole run, final flush included. " +
		"What the table is for is the agreement of the two consumers on the same records.")
	if maxLoad > float64(r.Machine.CPUs) {
		fmt.Fprintf(b, " The latencies themselves are those of a contended machine (load average "+
			"up to %s on %d CPUs at the end of the windows): the P99 most likely shows processes waiting "+
			"for a CPU, not what this broker does on an idle machine.", num(maxLoad, 1), r.Machine.CPUs)
		if maxOff > 0.05 {
			fmt.Fprintf(b, " The two consumers are separate processes that each wait for a CPU "+
				"on their own, so under this load their P99s differ by up to %s%%, more than "+
				"the histogram's 5%%; their P50s, set by the broker and the batching rather "+
				"than by stalls, agree closely.", num(100*maxOff, 0))
		}
	}
	b.WriteString("\n\n")
}

func (r *Report) tuner(b *strings.Builder) {
	t := r.Tuner
	b.WriteString(SectionTuner + "\n\n### Synthetic surface: our search against random search\n\n")
	fmt.Fprintf(b, "`tuner.Compare` with %s (%d seeds, budget %d; the surface is described in "+
		"docs/tuner.md), %s s on this machine.\n\n", compareConfigName(r.Config),
		t.Compare.Config.Seeds, t.Compare.Config.Budget, num(t.Seconds, 1))
	b.WriteString(t.Compare.Markdown())
	quarter, beats := t.TargetsMet()
	fmt.Fprintf(b, "\nMedian trials to 95%% of the grid best: ours %s, random search %s; a quarter "+
		"of the grid is %d trials. At most a quarter of the grid: %s. Fewer trials than random "+
		"search: %s.\n\n", trialsText(t.Compare.Ours.Median, t.Compare.Config.Budget),
		trialsText(t.Compare.Random.Median, t.Compare.Config.Budget), t.Compare.GridSize/4,
		metWord(quarter), metWord(beats))

	b.WriteString("### Real broker: one `agent tune` run\n\n")
	lg := t.Ledger
	if lg == nil {
		b.WriteString("Not measured in this run: no ledger was given. Run `agent tune` on the local " +
			"stack, then `go run ./bench -tune-ledger $STATUS_DIR/tuner-trials.jsonl` to report " +
			"its start and its end here.\n\n")
		return
	}
	fmt.Fprintf(b, "From the ledger `%s`, run `%s` (its last run), %d trials.\n\n",
		lg.Path, lg.Run, lg.Trials)
	b.WriteString("| trial | which | setting | verified | throughput msg/s | P99 ms | score |\n")
	b.WriteString("|---|---|---|---|---|---|---|\n")
	ledgerRow(b, "first", lg.First)
	if lg.HaveBest {
		ledgerRow(b, "highest-scoring", lg.Best)
	}
	b.WriteString("\n")
	if !lg.HaveBest {
		b.WriteString("No trial of the run was verified, so there is no best setting to report.\n\n")
		return
	}
	b.WriteString("A single trial is one noisy measurement, and the highest-scoring one is the " +
		"luckiest; the search decides on means over repeated trials. The start's setting and the " +
		"setting the run ended on, averaged over their verified trials:\n\n")
	b.WriteString("| which | setting | trials | throughput msg/s | P99 ms | score |\n|---|---|---|---|---|---|\n")
	meanRow(b, "start", lg.Start)
	meanRow(b, "end", lg.End)
	fmt.Fprintf(b, "\nEnd over start, means: score x%s, throughput x%s, P99 x%s.\n\n",
		num(ratio(lg.End.Score, lg.Start.Score), 2), num(ratio(lg.End.Throughput, lg.Start.Throughput), 2),
		num(ratio(lg.End.P99Ms, lg.Start.P99Ms), 2))
}

func meanRow(b *strings.Builder, which string, m SettingMean) {
	trials := make([]string, len(m.Trials))
	for i, n := range m.Trials {
		trials[i] = strconv.Itoa(n)
	}
	fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s |\n", which, m.Setting, strings.Join(trials, ", "),
		num(m.Throughput, 0), num(m.P99Ms, 2), num(m.Score, 0))
}

func compareConfigName(c Config) string {
	if c.Quick {
		return "a reduced configuration for quick mode"
	}
	d := tuner.DefaultCompareConfig()
	if c.Compare.Seeds == d.Seeds && c.Compare.Budget == d.Budget {
		return "its default configuration"
	}
	return "the seeds and budget given on the command line"
}

func trialsText(v float64, budget int) string {
	if math.IsInf(v, 1) {
		return fmt.Sprintf(">%d (never reached in half the runs)", budget)
	}
	return num(v, 1)
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return math.NaN()
	}
	return a / b
}

func ledgerRow(b *strings.Builder, which string, rec tuner.Record) {
	fmt.Fprintf(b, "| %d | %s | heap=%dMiB network_threads=%d io_threads=%d | %t | %s | %s | %s |\n",
		rec.Trial, which, rec.HeapMB, rec.NetworkThreads, rec.IOThreads, rec.Verified,
		num(rec.Throughput, 0), num(rec.P99Ms, 2), num(rec.Score, 0))
}

func (r *Report) goBench(b *strings.Builder) {
	b.WriteString(SectionGoBench + "\n\n")
	if r.GoBench == nil {
		b.WriteString("Not run (-go-bench=false). Run them with:\n\n" +
			"    go test -run '^$' -bench . -benchmem ./internal/stamp ./internal/loadgen\n\n")
		return
	}
	fmt.Fprintf(b, "`%s`, one run each, on the shared machine:\n\n", r.GoBench.Command)
	b.WriteString("| package | benchmark | ns/op | B/op | allocs/op |\n|---|---|---|---|---|\n")
	for _, gb := range r.GoBench.Benches {
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s |\n", gb.Package, gb.Name,
			num(gb.NsPerOp, 2), num(gb.BytesPerOp, 0), num(gb.AllocsPerOp, 0))
	}
	b.WriteString("\nTo compare two commits, run the same packages with `-count 10` on each " +
		"into old.txt and new.txt and compare them with " +
		"`go run golang.org/x/perf/cmd/benchstat@latest old.txt new.txt`.\n\n")
}

func (r *Report) targets(b *strings.Builder) {
	s := r.Producer.Summarize(r.Config.RecordSize)
	quarter, beats := r.Tuner.TargetsMet()
	b.WriteString(SectionTargets + "\n\n| target | result |\n|---|---|\n")
	tLo, tHi, cLo, cHi := pairRange(r.Producer.PairRatios())
	fmt.Fprintf(b, "| our producer at least as fast as ProducerPerformance | %s in the median "+
		"(ratio %s; single pairs %s to %s) |\n",
		metWord(s.ThroughputRatio() >= 1), num(s.ThroughputRatio(), 2), num(tLo, 2), num(tHi, 2))
	fmt.Fprintf(b, "| no more client CPU per message | %s in the median (ratio %s, %s without "+
		"the JVM start-up; single pairs %s to %s) |\n",
		metWord(s.CPURatio() <= 1), num(s.CPURatio(), 2), num(s.CPURatioNoStart(), 2),
		num(cLo, 2), num(cHi, 2))
	fmt.Fprintf(b, "| search reaches 95%% of the grid best in at most a quarter of the grid | %s |\n",
		metWord(quarter))
	fmt.Fprintf(b, "| search needs fewer trials than random search | %s |\n", metWord(beats))
	real := "**not measured**: no -tune-ledger given"
	if r.Tuner.Ledger != nil {
		real = "reported above"
	}
	fmt.Fprintf(b, "| one real tuning run from the de-optimized start | %s |\n", real)
	if r.Config.Quick {
		b.WriteString("\nQuick mode: these verdicts come from runs too short to mean anything.\n")
	}
}

// pairRange returns the lowest and highest throughput and CPU ratios of
// the pairs (NaN without pairs).
func pairRange(prs []PairRatio) (tLo, tHi, cLo, cHi float64) {
	tLo, tHi, cLo, cHi = math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	for _, p := range prs {
		tLo, tHi = min(tLo, p.Throughput), max(tHi, p.Throughput)
		cLo, cHi = min(cLo, p.CPU), max(cHi, p.CPU)
	}
	if len(prs) == 0 {
		return math.NaN(), math.NaN(), math.NaN(), math.NaN()
	}
	return tLo, tHi, cLo, cHi
}
