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
