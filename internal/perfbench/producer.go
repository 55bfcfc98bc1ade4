package perfbench

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Client names in the report.
const (
	ClientOurs = "kafkatune loadgen"
	ClientJava = "Kafka ProducerPerformance"
)

// producerPerfClass is Kafka's producer benchmark tool.
const producerPerfClass = "org.apache.kafka.tools.ProducerPerformance"

// javaToolOpts are the JVM options kafka-producer-perf-test.sh gives the
// tool through kafka-run-class.sh (KAFKA_HEAP_OPTS and the default
// KAFKA_JVM_PERFORMANCE_OPTS).
var javaToolOpts = []string{
	"-Xmx512M", "-server", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20",
	"-XX:InitiatingHeapOccupancyPercent=35", "-XX:+ExplicitGCInvokesConcurrent",
	"-Djava.awt.headless=true",
}

// ProducerRun is one run of one producer client at its maximum rate.
type ProducerRun struct {
	Client string
	Pair   int
	// Messages the broker acknowledged, over Seconds of sending as the
	// client itself times it (first send to the end of the final flush).
	Messages uint64
	Seconds  float64
	Usage    Usage
	// Load1 is the 1-minute load average at the end of the run.
	Load1 float64
}

// MsgPerSec is the throughput in messages per second.
func (r ProducerRun) MsgPerSec() float64 { return float64(r.Messages) / r.Seconds }

// MBPerSec is the throughput of record values in 10^6 bytes per second.
func (r ProducerRun) MBPerSec(recordSize int) float64 {
	return r.MsgPerSec() * float64(recordSize) / 1e6
}

// CPUPerMillion is the client process's CPU seconds per million messages.
func (r ProducerRun) CPUPerMillion() float64 { return perMillion(r.Usage.Client, r.Messages) }

// BrokerCPUPerMillion is the broker's CPU seconds per million messages.
func (r ProducerRun) BrokerCPUPerMillion() float64 { return perMillion(r.Usage.Broker, r.Messages) }

func perMillion(sec float64, msgs uint64) float64 {
	if msgs == 0 {
		return 0
	}
	return sec / float64(msgs) * 1e6
}

// loadgenProduceArgs is the command line of our producer at its maximum
// rate with the comparison's settings.
func (r *runner) loadgenProduceArgs(topic string) []string {
	c := r.cfg
	return []string{"produce",
		"--broker", r.bootstrap, "--topic", topic,
		"--partitions", strconv.Itoa(c.Partitions),
		"--message-size", strconv.Itoa(c.RecordSize),
		"--rate-mode", "max",
		"--max-in-flight", strconv.Itoa(c.MaxInFlightBytes / c.RecordSize),
		"--duration", c.ProduceDuration.String(),
		"--acks", Acks, "--idempotence=true",
		"--linger-ms", strconv.Itoa(c.LingerMs),
		"--compression", Compression,
		"--partitioner", "sticky",
		"--metrics-addr", "127.0.0.1:0",
		"--status-dir", r.statusDir,
		"--log-format", "json",
	}
}

// producerPerfArgs is the java command line of ProducerPerformance
// sending n records with the comparison's settings.
func (r *runner) producerPerfArgs(topic string, n uint64) []string {
	c := r.cfg
	args := append([]string{}, javaToolOpts...)
	return append(args, "-cp", filepath.Join(r.toolsLib, "*"), producerPerfClass,
		"--topic", topic,
		"--num-records", strconv.FormatUint(n, 10),
		"--record-size", strconv.Itoa(c.RecordSize),
		"--throughput", "-1",
		"--producer-props",
		"bootstrap.servers="+r.bootstrap,
		"acks="+Acks,
		"enable.idempotence=true",
		"linger.ms="+strconv.Itoa(c.LingerMs),
		"batch.size="+strconv.Itoa(BatchSizeBytes),
		"buffer.memory="+strconv.Itoa(c.MaxInFlightBytes),
		"compression.type="+Compression,
	)
}

// runLoadgen runs our producer for the configured duration.
func (r *runner) runLoadgen(ctx context.Context, pair int, topic string) (ProducerRun, error) {
	run := ProducerRun{Client: ClientOurs, Pair: pair}
	before, err := snapCPU(r.broker.PID())
	if err != nil {
		return run, err
	}
	p, err := startProc(ctx, "loadgen produce", r.loadgen, r.loadgenProduceArgs(topic)...)
	if err != nil {
		return run, err
	}
	if err := p.wait(ctx); err != nil {
		return run, err
	}
	after, err := snapCPU(r.broker.PID())
	if err != nil {
		return run, err
	}
	run.Usage, run.Load1 = usage(before, after, p.cpu()), loadAvg().Load1
	acked, secs, failed, err := producerTotals(p.stderr)
	if err != nil {
		return run, err
	}
	if failed > 0 {
		return run, fmt.Errorf("loadgen produce: %d messages failed", failed)
	}
	run.Messages, run.Seconds = acked, secs
	return run, nil
}

// producerTotals reads acked and failed messages and the sending time
// from a loadgen producer's JSON log: from "producer started" (topic
// ready, client connected) to "producer stopped" (after the final flush).
func producerTotals(l *lines) (acked uint64, seconds float64, failed uint64, err error) {
	start, ok1 := l.find("producer started")
	stop, ok2 := l.find("producer stopped")
	if !ok1 || !ok2 {
		return 0, 0, 0, fmt.Errorf("loadgen produce log lacks its start or stop line: %s", tail(l.text(), 10))
	}
	t0, err := start.time()
	if err != nil {
		return 0, 0, 0, err
	}
	t1, err := stop.time()
	if err != nil {
		return 0, 0, 0, err
	}
	a, err := stop.number("acked")
	if err != nil {
		return 0, 0, 0, err
	}
	f, err := stop.number("failed")
	if err != nil {
		return 0, 0, 0, err
	}
	return uint64(a), t1.Sub(t0).Seconds(), uint64(f), nil
}

// runProducerPerf runs ProducerPerformance for n records.
func (r *runner) runProducerPerf(ctx context.Context, pair int, topic string, n uint64) (ProducerRun, error) {
	run := ProducerRun{Client: ClientJava, Pair: pair}
	before, err := snapCPU(r.broker.PID())
	if err != nil {
		return run, err
	}
	p, err := startProc(ctx, "ProducerPerformance", r.java, r.producerPerfArgs(topic, n)...)
	if err != nil {
		return run, err
	}
	if err := p.wait(ctx); err != nil {
		return run, err
	}
	after, err := snapCPU(r.broker.PID())
	if err != nil {
		return run, err
	}
	run.Usage, run.Load1 = usage(before, after, p.cpu()), loadAvg().Load1
	if strings.Contains(p.stderr.text(), "Exception") {
		return run, fmt.Errorf("ProducerPerformance reported errors: %s", tail(p.stderr.text(), 10))
	}
	sent, rate, err := parsePerfTotal(p.stdout.text())
	if err != nil {
		return run, err
	}
	if sent != n {
		return run, fmt.Errorf("ProducerPerformance sent %d records, asked for %d", sent, n)
	}
	run.Messages, run.Seconds = sent, float64(sent)/rate
	return run, nil
}

// perfTotal matches the summary line ProducerPerformance prints at the
// end (the progress lines lack the percentiles).
var perfTotal = regexp.MustCompile(`(?m)^(\d+) records sent, ([0-9.]+) records/sec .* 50th`)

// parsePerfTotal returns the records sent and the records per second of
// ProducerPerformance's summary line.
func parsePerfTotal(out string) (uint64, float64, error) {
	m := perfTotal.FindAllStringSubmatch(out, -1)
	if len(m) == 0 {
		return 0, 0, fmt.Errorf("no summary line in ProducerPerformance output: %s", tail(out, 5))
	}
	last := m[len(m)-1]
	sent, err := strconv.ParseUint(last[1], 10, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("records sent %q: %w", last[1], err)
	}
	rate, err := strconv.ParseFloat(last[2], 64)
	if err != nil || rate <= 0 {
		return 0, 0, fmt.Errorf("records/sec %q: not a positive number", last[2])
	}
	return sent, rate, nil
}

// javaStartup runs ProducerPerformance for a single record: the CPU of
// starting the JVM, connecting and closing, which every Java run pays.
func (r *runner) javaStartup(ctx context.Context, topic string) (time.Duration, error) {
	p, err := startProc(ctx, "ProducerPerformance", r.java, r.producerPerfArgs(topic, 1)...)
	if err != nil {
		return 0, err
	}
	if err := p.wait(ctx); err != nil {
		return 0, err
	}
	return p.cpu(), nil
}

// ProducerResult is the throughput comparison.
type ProducerResult struct {
	Runs []ProducerRun
	// JavaStartupCPU is the CPU of a one-record ProducerPerformance run.
	JavaStartupCPU float64
	// Commands are example command lines of both clients.
	OursCommand, JavaCommand string
}

// compareProducers runs the interleaved pairs: ours for the configured
// duration, then ProducerPerformance for as many messages, each on a
// fresh topic that is deleted afterwards.
func (r *runner) compareProducers(ctx context.Context) (ProducerResult, error) {
	var res ProducerResult
	res.OursCommand = r.shown(commandLine(r.loadgen, r.loadgenProduceArgs("<topic>")))
	res.JavaCommand = r.shown(commandLine(r.java, r.producerPerfArgs("<topic>", 1_000_000)))
	for pair := 1; pair <= r.cfg.Pairs; pair++ {
		ours, err := onTopic(ctx, r, fmt.Sprintf("bench-ours-%d", pair), func(topic string) (ProducerRun, error) {
			return r.runLoadgen(ctx, pair, topic)
		})
		if err != nil {
			return res, fmt.Errorf("pair %d, %s: %w", pair, ClientOurs, err)
		}
		r.logRun(ours)
		res.Runs = append(res.Runs, ours)
		java, err := onTopic(ctx, r, fmt.Sprintf("bench-java-%d", pair), func(topic string) (ProducerRun, error) {
			return r.runProducerPerf(ctx, pair, topic, ours.Messages)
		})
		if err != nil {
			return res, fmt.Errorf("pair %d, %s: %w", pair, ClientJava, err)
		}
		r.logRun(java)
		res.Runs = append(res.Runs, java)
	}
	cpu, err := onTopic(ctx, r, "bench-java-startup", func(topic string) (time.Duration, error) {
		return r.javaStartup(ctx, topic)
	})
	if err != nil {
		return res, fmt.Errorf("java start-up run: %w", err)
	}
	res.JavaStartupCPU = cpu.Seconds()
	r.log.Info("java start-up run", "client", ClientJava, "records", 1, "cpu_seconds", res.JavaStartupCPU)
	return res, nil
}

// onTopic creates topic, runs fn on it and deletes it.
func onTopic[T any](ctx context.Context, r *runner, topic string, fn func(string) (T, error)) (T, error) {
	if err := r.admin.createTopic(ctx, topic, r.cfg.Partitions); err != nil {
		var zero T
		return zero, err
	}
	run, err := fn(topic)
	if derr := r.admin.deleteTopic(context.WithoutCancel(ctx), topic); derr != nil && err == nil {
		err = derr
	}
	return run, err
}

func (r *runner) logRun(run ProducerRun) {
	r.log.Info("producer run", "client", run.Client, "pair", run.Pair,
		"messages", run.Messages, "seconds", round(run.Seconds, 2),
		"msg_per_second", round(run.MsgPerSec(), 0),
		"mb_per_second", round(run.MBPerSec(r.cfg.RecordSize), 1),
		"client_cpu_seconds_per_million", round(run.CPUPerMillion(), 2),
		"broker_cpu_seconds_per_million", round(run.BrokerCPUPerMillion(), 2),
		"others_cpu_seconds", round(run.Usage.Others, 1),
		"load1", run.Load1)
}

// shown replaces the parts of a command line that change from run to run
// (the broker's port, the temporary directory) with placeholders.
func (r *runner) shown(cmd string) string {
	return strings.NewReplacer(r.bootstrap, "127.0.0.1:<port>", r.statusDir, "<tmp>/status").Replace(cmd)
}

// commandLine renders a command for the report.
func commandLine(path string, args []string) string {
	parts := []string{filepath.Base(path)}
	for _, a := range args {
		if a == "" || strings.ContainsAny(a, " *<>\"'") {
			a = "'" + a + "'"
		}
		parts = append(parts, a)
	}
	return strings.Join(parts, " ")
}
