package perfbench

import "math"

// ClientSummary holds the medians of one client's runs.
type ClientSummary struct {
	Runs                int
	MsgPerSec, MBPerSec float64
	// CPUPerMillion is the client's whole-process CPU seconds per million
	// messages; CPUPerMillionNoStart subtracts the start-up CPU measured
	// on a one-record run (the JVM's; ours is negligible and left in).
	CPUPerMillion, CPUPerMillionNoStart float64
	BrokerCPUPerMillion                 float64
	// Others is the median CPU seconds per wall second used by other
	// processes on the machine during the runs.
	Others float64
}

// ProducerSummary compares the medians of both clients.
type ProducerSummary struct {
	Ours, Java ClientSummary
}

// Summarize returns the medians per client.
func (p ProducerResult) Summarize(recordSize int) ProducerSummary {
	return ProducerSummary{
		Ours: summarizeClient(p.Runs, ClientOurs, recordSize, 0),
		Java: summarizeClient(p.Runs, ClientJava, recordSize, p.JavaStartupCPU),
	}
}

func summarizeClient(runs []ProducerRun, client string, recordSize int, startup float64) ClientSummary {
	var rate, mb, cpu, noStart, broker, others []float64
	for _, r := range runs {
		if r.Client != client {
			continue
		}
		rate = append(rate, r.MsgPerSec())
		mb = append(mb, r.MBPerSec(recordSize))
		cpu = append(cpu, r.CPUPerMillion())
		noStart = append(noStart, perMillion(math.Max(r.Usage.Client-startup, 0), r.Messages))
		broker = append(broker, r.BrokerCPUPerMillion())
		if r.Usage.Wall > 0 {
			others = append(others, r.Usage.Others/r.Usage.Wall)
		}
	}
	return ClientSummary{
		Runs: len(rate), MsgPerSec: median(rate), MBPerSec: median(mb),
		CPUPerMillion: median(cpu), CPUPerMillionNoStart: median(noStart),
		BrokerCPUPerMillion: median(broker), Others: median(others),
	}
}

// ThroughputRatio is ours over theirs (above 1: ours is faster).
func (s ProducerSummary) ThroughputRatio() float64 { return s.Ours.MsgPerSec / s.Java.MsgPerSec }

// CPURatio is ours over theirs, whole process (below 1: ours uses less).
func (s ProducerSummary) CPURatio() float64 { return s.Ours.CPUPerMillion / s.Java.CPUPerMillion }

// CPURatioNoStart is ours over theirs with the JVM start-up subtracted.
func (s ProducerSummary) CPURatioNoStart() float64 {
	return s.Ours.CPUPerMillionNoStart / s.Java.CPUPerMillionNoStart
}

// PairRatio compares the two runs of one pair.
type PairRatio struct {
	Pair int
	// Throughput and CPU are ours over theirs (msg/s; client CPU per
	// message).
	Throughput, CPU float64
	// Others is how many CPUs other processes kept busy, on average, over
	// both runs of the pair.
	Others float64
}

// PairRatios returns the ratios of every complete pair, in order.
func (p ProducerResult) PairRatios() []PairRatio {
	byPair := map[int][2]*ProducerRun{}
	var order []int
	for i := range p.Runs {
		r := &p.Runs[i]
		v, seen := byPair[r.Pair]
		if !seen {
			order = append(order, r.Pair)
		}
		if r.Client == ClientOurs {
			v[0] = r
		} else {
			v[1] = r
		}
		byPair[r.Pair] = v
	}
	var out []PairRatio
	for _, n := range order {
		v := byPair[n]
		if v[0] == nil || v[1] == nil {
			continue
		}
		wall := v[0].Usage.Wall + v[1].Usage.Wall
		pr := PairRatio{
			Pair:       n,
			Throughput: v[0].MsgPerSec() / v[1].MsgPerSec(),
			CPU:        v[0].CPUPerMillion() / v[1].CPUPerMillion(),
			Others:     math.NaN(),
		}
		if wall > 0 {
			pr.Others = (v[0].Usage.Others + v[1].Usage.Others) / wall
		}
		out = append(out, pr)
	}
	return out
}

// leastLoaded returns the pair during which other processes took the
// least CPU.
func leastLoaded(prs []PairRatio) (PairRatio, bool) {
	if len(prs) == 0 {
		return PairRatio{}, false
	}
	best := prs[0]
	for _, p := range prs[1:] {
		if p.Others < best.Others {
			best = p
		}
	}
	return best, true
}
