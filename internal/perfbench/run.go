package perfbench

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/kafkatune/kafkatune/internal/kafkaproc"
)

// loadgenPackage is built when no loadgen binary is given.
const loadgenPackage = "github.com/kafkatune/kafkatune/loadgen"

// Report is everything one benchmark run measured.
type Report struct {
	Config            Config
	Machine           Machine
	Started, Finished time.Time
	// Broker is the configuration the broker ran with, ports resolved.
	Broker       kafkaproc.Config
	LoadgenBuild string
	Producer     ProducerResult
	Latency      LatencyResult
	Tuner        TunerResult
	// GoBench is nil when the hot-path benchmarks were not run.
	GoBench *GoBenchResult
}

// runner holds what the broker runs share.
type runner struct {
	cfg       Config
	log       *slog.Logger
	broker    *kafkaproc.Broker
	admin     *admin
	bootstrap string
	loadgen   string
	java      string
	toolsLib  string
	statusDir string
}

// Run runs the whole benchmark and returns its report. Progress goes to
// log, one line per run.
func Run(ctx context.Context, log *slog.Logger, cfg Config) (*Report, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	rep := &Report{Config: cfg, Started: time.Now()}
	r := &runner{cfg: cfg, log: log}
	var err error
	if r.java, err = javaPath(); err != nil {
		return nil, err
	}
	rep.Machine = describeMachine(ctx, r.java)
	log.Info("bench starting", "quick", cfg.Quick, "cpus", rep.Machine.CPUs,
		"load1", rep.Machine.LoadStart.Load1, "load5", rep.Machine.LoadStart.Load5)

	work, cleanup, err := workDir(cfg.WorkDir)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	r.statusDir = filepath.Join(work, "status")
	if err := os.MkdirAll(r.statusDir, 0o755); err != nil {
		return nil, fmt.Errorf("create status dir: %w", err)
	}
	if r.toolsLib, err = ResolveTools(ctx, log, cfg.Jars); err != nil {
		return nil, fmt.Errorf("kafka tools: %w", err)
	}
	if r.loadgen, rep.LoadgenBuild, err = buildLoadgen(ctx, cfg.LoadgenPath, work); err != nil {
		return nil, err
	}
	if err := r.brokerRuns(ctx, rep, work); err != nil {
		return nil, err
	}

	if rep.Tuner, err = runCompare(cfg.Compare); err != nil {
		return nil, err
	}
	q, beats := rep.Tuner.TargetsMet()
	log.Info("tuner comparison", "seeds", cfg.Compare.Seeds, "budget", cfg.Compare.Budget,
		"ours_median_trials", rep.Tuner.Compare.Ours.Median,
		"random_median_trials", rep.Tuner.Compare.Random.Median,
		"within_quarter_grid", q, "beats_random", beats, "seconds", round(rep.Tuner.Seconds, 1))
	if cfg.TuneLedger != "" {
		if rep.Tuner.Ledger, err = summarizeLedger(cfg.TuneLedger); err != nil {
			return nil, err
		}
		log.Info("tuner ledger", "path", cfg.TuneLedger, "trials", rep.Tuner.Ledger.Trials)
	}
	if cfg.GoBench {
		gb, err := runGoBench(ctx)
		if err != nil {
			return nil, err
		}
		rep.GoBench = &gb
		log.Info("go benchmarks", "benchmarks", len(gb.Benches))
	}
	rep.Machine.LoadEnd = loadAvg()
	rep.Finished = time.Now()
	return rep, nil
}

// brokerRuns starts the broker, runs the producer and latency
// comparisons on it and stops it.
func (r *runner) brokerRuns(ctx context.Context, rep *Report, work string) (err error) {
	bcfg := kafkaproc.Config{
		DataDir:        filepath.Join(work, "broker"),
		HeapMB:         r.cfg.HeapMB,
		NetworkThreads: r.cfg.NetworkThreads,
		IOThreads:      r.cfg.IOThreads,
		JMXPort:        kafkaproc.JMXDisabled,
		Jars:           r.cfg.Jars,
		// Deleted topics leave the disk within a second, not a minute.
		ExtraProperties: map[string]string{"log.segment.delete.delay.ms": "1000"},
	}
	// The broker's own output is not progress: only its warnings pass.
	quiet := slog.New(quietHandler{r.log.Handler()})
	if r.broker, err = kafkaproc.Start(ctx, quiet, bcfg); err != nil {
		return fmt.Errorf("start broker: %w", err)
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		err = errors.Join(err, r.broker.Stop(sctx))
	}()
	rep.Broker = r.broker.Config()
	r.bootstrap = r.broker.Bootstrap()
	r.log.Info("broker started", "bootstrap", r.bootstrap, "heap_mb", r.cfg.HeapMB,
		"network_threads", r.cfg.NetworkThreads, "io_threads", r.cfg.IOThreads)
	if r.admin, err = newAdmin(r.bootstrap); err != nil {
		return err
	}
	defer r.admin.close()

	if rep.Producer, err = r.compareProducers(ctx); err != nil {
		return err
	}
	if rep.Latency, err = r.compareLatency(ctx); err != nil {
		return err
	}
	return nil
}

// quietHandler passes only records at Warn and above.
type quietHandler struct{ slog.Handler }

func (h quietHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn && h.Handler.Enabled(ctx, l)
}

func (h quietHandler) WithAttrs(a []slog.Attr) slog.Handler {
	return quietHandler{h.Handler.WithAttrs(a)}
}

func (h quietHandler) WithGroup(name string) slog.Handler {
	return quietHandler{h.Handler.WithGroup(name)}
}

// workDir returns dir, or a new temporary directory that cleanup
// removes.
func workDir(dir string) (string, func(), error) {
	if dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", nil, fmt.Errorf("create work dir: %w", err)
		}
		abs, err := filepath.Abs(dir)
		return abs, func() {}, err
	}
	tmp, err := os.MkdirTemp("", "kafkatune-bench-")
	if err != nil {
		return "", nil, fmt.Errorf("create work dir: %w", err)
	}
	return tmp, func() { _ = os.RemoveAll(tmp) }, nil
}

// buildLoadgen returns path if given, else builds the loadgen binary into
// dir with the go tool, from this module.
func buildLoadgen(ctx context.Context, path, dir string) (bin, how string, err error) {
	if path != "" {
		if _, err := os.Stat(path); err != nil {
			return "", "", fmt.Errorf("-%s: %w", flagLoadgen, err)
		}
		abs, err := filepath.Abs(path)
		return abs, "given with -" + flagLoadgen, err
	}
	goBin, root, err := moduleRoot(ctx)
	if err != nil {
		return "", "", err
	}
	bin = filepath.Join(dir, "loadgen")
	args := []string{"build", "-o", bin, loadgenPackage}
	cmd := exec.CommandContext(ctx, goBin, args...)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", "", fmt.Errorf("build loadgen: %w: %s", err, tail(string(out), 10))
	}
	return bin, "go build -o <tmp>/loadgen ./loadgen", nil
}

// moduleRoot returns the go tool and the root of the module the current
// directory is in.
func moduleRoot(ctx context.Context) (goBin, root string, err error) {
	goBin, err = exec.LookPath("go")
	if err != nil {
		return "", "", fmt.Errorf("go tool not found (give a loadgen binary with -%s): %w", flagLoadgen, err)
	}
	out, err := exec.CommandContext(ctx, goBin, "env", "GOMOD").Output()
	if err != nil {
		return "", "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", "", errors.New("not inside the kafkatune module: run the bench from the repository")
	}
	return goBin, filepath.Dir(gomod), nil
}

// javaPath finds java as kafkaproc does: $JAVA_HOME/bin/java, else java
// on PATH.
func javaPath() (string, error) {
	bin := "java"
	if home := os.Getenv("JAVA_HOME"); home != "" {
		bin = filepath.Join(home, "bin", "java")
	}
	p, err := exec.LookPath(bin)
	if err != nil {
		return "", fmt.Errorf("java (%s) not found: install a JDK or JRE 17+: %w", bin, err)
	}
	return p, nil
}
