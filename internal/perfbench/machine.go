package perfbench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/prometheus/procfs"

	"github.com/kafkatune/kafkatune/internal/kafkaproc"
)

// Machine describes where the benchmark ran and with what.
type Machine struct {
	CPUModel    string
	CPUs        int
	MemTotalMiB int
	Kernel      string
	Go          string
	Kafka       string
	Librdkafka  string
	Java        string
	// LoadStart and LoadEnd are /proc/loadavg at the start and the end.
	LoadStart, LoadEnd procfs.LoadAvg
}

// describeMachine reads the machine and the versions from /proc and the
// tools. Values it cannot read are "unknown"; nothing fails.
func describeMachine(ctx context.Context, javaBin string) Machine {
	m := Machine{
		CPUModel: "unknown", CPUs: runtime.NumCPU(), Kernel: "unknown",
		Go: runtime.Version(), Kafka: kafkaproc.KafkaVersion, Java: "unknown",
	}
	_, m.Librdkafka = kafka.LibraryVersion()
	if fs, err := procfs.NewDefaultFS(); err == nil {
		if ci, err := fs.CPUInfo(); err == nil && len(ci) > 0 {
			m.CPUModel, m.CPUs = ci[0].ModelName, len(ci)
		}
		if mi, err := fs.Meminfo(); err == nil && mi.MemTotal != nil {
			m.MemTotalMiB = int(*mi.MemTotal / 1024)
		}
		if la, err := fs.LoadAvg(); err == nil {
			m.LoadStart = *la
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, javaBin, "-version").CombinedOutput(); err == nil {
		if first, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n"); first != "" {
			m.Java = first
		}
	}
	return m
}

// loadAvg returns the current load averages (zeros if unreadable).
func loadAvg() procfs.LoadAvg {
	fs, err := procfs.NewDefaultFS()
	if err != nil {
		return procfs.LoadAvg{}
	}
	la, err := fs.LoadAvg()
	if err != nil {
		return procfs.LoadAvg{}
	}
	return *la
}

// cpuSnap is the machine's busy CPU time and the broker's CPU time at one
// moment, in seconds.
type cpuSnap struct {
	busy, broker float64
	at           time.Time
}

// snapCPU reads /proc/stat and /proc/<brokerPID>/stat.
func snapCPU(brokerPID int) (cpuSnap, error) {
	fs, err := procfs.NewDefaultFS()
	if err != nil {
		return cpuSnap{}, fmt.Errorf("open /proc: %w", err)
	}
	st, err := fs.Stat()
	if err != nil {
		return cpuSnap{}, fmt.Errorf("read /proc/stat: %w", err)
	}
	t := st.CPUTotal
	s := cpuSnap{
		busy: t.User + t.Nice + t.System + t.IRQ + t.SoftIRQ + t.Steal,
		at:   time.Now(),
	}
	p, err := fs.Proc(brokerPID)
	if err != nil {
		return cpuSnap{}, fmt.Errorf("broker process %d: %w", brokerPID, err)
	}
	ps, err := p.Stat()
	if err != nil {
		return cpuSnap{}, fmt.Errorf("read broker stat: %w", err)
	}
	s.broker = ps.CPUTime()
	return s, nil
}

// Usage is the CPU used during one run, in seconds.
type Usage struct {
	// Client is the measured client process (its rusage), Broker the
	// broker JVM, Others everything else on the machine (other engineers'
	// work included): machine busy time less the two.
	Client, Broker, Others float64
	// Wall is the run's wall-clock time.
	Wall float64
}

// usage computes the CPU used between two snapshots given the client's
// own CPU time.
func usage(from, to cpuSnap, client time.Duration) Usage {
	u := Usage{
		Client: client.Seconds(),
		Broker: to.broker - from.broker,
		Wall:   to.at.Sub(from.at).Seconds(),
	}
	u.Others = max(to.busy-from.busy-u.Client-u.Broker, 0)
	return u
}
