package perfbench

import (
	"context"
	"fmt"
	"math"
	"net"
	"strconv"
	"time"

	"github.com/kafkatune/kafkatune/internal/childproc"
)

// latencyTail keeps the producer sending past the measured window, so
// that the window ends under load.
const latencyTail = 2 * time.Second

// Quantiles are a P50 and a P99 in milliseconds over Count records.
type Quantiles struct {
	P50, P99 float64
	Count    uint64
}

// LatencyRun is one fixed-rate run seen by both consumers.
type LatencyRun struct {
	Rate float64
	// AckedRate is the rate the broker acknowledged over the whole run.
	AckedRate float64
	// Ours comes from our consumer's histogram (Prometheus-style
	// interpolation over the buckets observed in the window).
	Ours Quantiles
	// Plain is the plain consumer's exact figure from the stamped intended
	// time; PlainCreate from the record's CreateTime.
	Plain, PlainCreate Quantiles
	Window             float64
	// Load1 is the 1-minute load average at the end of the window.
	Load1 float64
}

// LatencyResult is the end-to-end latency comparison.
type LatencyResult struct {
	Runs                             []LatencyRun
	ProducerCommand, ConsumerCommand string
	Partitions                       int
	Warmup, Window                   time.Duration
	LingerMs, MessageSize            int
}

// compareLatency runs every configured rate on a fresh topic.
func (r *runner) compareLatency(ctx context.Context) (LatencyResult, error) {
	c := r.cfg
	res := LatencyResult{
		Partitions: c.Partitions, Warmup: c.LatencyWarmup, Window: c.LatencyWindow,
		LingerMs: c.LingerMs, MessageSize: c.RecordSize,
		ProducerCommand: r.shown(commandLine(r.loadgen, r.fixedRateArgs("<topic>", c.Rates[0]))),
		ConsumerCommand: r.shown(commandLine(r.loadgen,
			r.consumeArgs("<topic>", "<group>", "127.0.0.1:<metrics-port>"))),
	}
	for i, rate := range c.Rates {
		topic := fmt.Sprintf("bench-latency-%d", i+1)
		run, err := onTopic(ctx, r, topic, func(topic string) (LatencyRun, error) {
			return r.latencyRun(ctx, topic, rate)
		})
		if err != nil {
			return res, fmt.Errorf("latency at %g msg/s: %w", rate, err)
		}
		r.log.Info("latency run", "rate", rate, "acked_rate", round(run.AckedRate, 0),
			"ours_p50_ms", round(run.Ours.P50, 2), "ours_p99_ms", round(run.Ours.P99, 2),
			"ours_count", run.Ours.Count,
			"plain_p50_ms", round(run.Plain.P50, 2), "plain_p99_ms", round(run.Plain.P99, 2),
			"plain_count", run.Plain.Count, "load1", run.Load1)
		res.Runs = append(res.Runs, run)
	}
	return res, nil
}

func (r *runner) fixedRateArgs(topic string, rate float64) []string {
	c := r.cfg
	return []string{"produce",
		"--broker", r.bootstrap, "--topic", topic,
		"--partitions", strconv.Itoa(c.Partitions),
		"--message-size", strconv.Itoa(c.RecordSize),
		"--rate-mode", "fixed",
		"--rate", strconv.FormatFloat(rate, 'g', -1, 64),
		"--duration", (c.LatencyWarmup + c.LatencyWindow + latencyTail).String(),
		"--acks", Acks, "--idempotence=true",
		"--linger-ms", strconv.Itoa(c.LingerMs),
		"--compression", Compression,
		"--partition-skew", "0",
		"--metrics-addr", "127.0.0.1:0",
		"--status-dir", r.statusDir,
		"--log-format", "json",
	}
}

func (r *runner) consumeArgs(topic, group, metricsAddr string) []string {
	return []string{"consume",
		"--broker", r.bootstrap, "--topic", topic, "--group", group,
		"--metrics-addr", metricsAddr,
		"--status-dir", r.statusDir,
		"--log-format", "json",
	}
}

// latencyRun starts both consumers, waits until both hold the topic's
// partitions, runs the fixed-rate producer and compares what both saw in
// the same window: from the end of the warm-up to its end plus the window.
func (r *runner) latencyRun(ctx context.Context, topic string, rate float64) (LatencyRun, error) {
	c := r.cfg
	run := LatencyRun{Rate: rate}
	port, err := childproc.FreePort()
	if err != nil {
		return run, err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	ours, err := startProc(ctx, "loadgen consume", r.loadgen, r.consumeArgs(topic, topic+"-ours", addr)...)
	if err != nil {
		return run, err
	}
	defer ours.stop()
	expect := int(rate*(c.LatencyWarmup+c.LatencyWindow+latencyTail).Seconds()) + 1000
	plain, err := startPlainConsumer(ctx, r.bootstrap, topic, topic+"-plain", expect)
	if err != nil {
		return run, err
	}
	defer plain.stop()
	if err := plain.waitAssigned(ctx); err != nil {
		return run, err
	}
	if err := r.admin.waitGroupAssigned(ctx, topic+"-ours", c.Partitions); err != nil {
		return run, err
	}

	prod, err := startProc(ctx, "loadgen produce", r.loadgen, r.fixedRateArgs(topic, rate)...)
	if err != nil {
		return run, err
	}
	defer prod.stop()
	if _, err := prod.stderr.waitFor(ctx, "producer started"); err != nil {
		return run, fmt.Errorf("loadgen produce: %w", err)
	}
	if err := sleep(ctx, c.LatencyWarmup); err != nil {
		return run, err
	}
	before, from, err := scrapeAt(ctx, addr, topic)
	if err != nil {
		return run, err
	}
	if err := sleep(ctx, c.LatencyWindow); err != nil {
		return run, err
	}
	after, to, err := scrapeAt(ctx, addr, topic)
	if err != nil {
		return run, err
	}
	run.Load1 = loadAvg().Load1
	if err := prod.wait(ctx); err != nil {
		return run, err
	}
	acked, secs, failed, err := producerTotals(prod.stderr)
	if err != nil {
		return run, err
	}
	if failed > 0 {
		return run, fmt.Errorf("loadgen produce: %d messages failed", failed)
	}
	run.AckedRate, run.Window = float64(acked)/secs, to.Sub(from).Seconds()
	if err := ours.stop(); err != nil {
		return run, err
	}
	if err := plain.stop(); err != nil {
		return run, err
	}
	return run, r.fillLatency(&run, before, after, plain, from, to)
}

// fillLatency computes both consumers' quantiles for the window.
func (r *runner) fillLatency(run *LatencyRun, before, after []bucket, plain *plainConsumer, from, to time.Time) error {
	delta, err := bucketDelta(before, after)
	if err != nil {
		return err
	}
	run.Ours = Quantiles{
		P50:   1000 * histogramQuantile(0.5, delta),
		P99:   1000 * histogramQuantile(0.99, delta),
		Count: uint64(delta[len(delta)-1].count),
	}
	stamped, created := plain.window(from, to)
	run.Plain = Quantiles{P50: exactQuantile(0.5, stamped), P99: exactQuantile(0.99, stamped),
		Count: uint64(len(stamped))}
	run.PlainCreate = Quantiles{P50: exactQuantile(0.5, created), P99: exactQuantile(0.99, created),
		Count: uint64(len(created))}
	for _, q := range []float64{run.Ours.P50, run.Ours.P99, run.Plain.P50, run.Plain.P99} {
		if math.IsNaN(q) {
			return fmt.Errorf("no records in the %.1f s window at %g msg/s", run.Window, run.Rate)
		}
	}
	return nil
}

// scrapeAt scrapes the histogram and returns it with the middle of the
// request as its time.
func scrapeAt(ctx context.Context, addr, topic string) ([]bucket, time.Time, error) {
	t0 := time.Now()
	bs, err := scrapeLatency(ctx, addr, topic)
	t1 := time.Now()
	return bs, t0.Add(t1.Sub(t0) / 2), err
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
