// Package kafkaproc runs a real Apache Kafka broker (KRaft, combined broker
// and controller, node id 1) as a local JVM process: the broker of `make
// local` and of the integration tests. It fetches the jars from Maven Central
// when no Kafka distribution is given, formats the storage once and keeps it
// across restarts, waits until the broker answers the Admin API, and can
// restart it with a new heap or new thread counts, as a StatefulSet roll
// would.
package kafkaproc

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"

	"github.com/kafkatune/kafkatune/internal/childproc"
	promfiles "github.com/kafkatune/kafkatune/prometheus"
)

//go:embed log4j2.xml
var log4jConfig []byte

// ErrStopped is returned by Broker methods after Stop.
var ErrStopped = errors.New("kafka broker stopped")

// Broker is a running local broker. Its methods are safe for concurrent
// use.
type Broker struct {
	base   *slog.Logger // for childproc, which adds the component itself
	logger *slog.Logger
	jars   Jars
	java   string

	ops sync.Mutex // serialises Restart and Stop

	mu      sync.Mutex
	cfg     Config // ports resolved
	proc    *childproc.Process
	stopped bool
	done    chan struct{}
	err     error // why done was closed
}

// Start starts a broker as described by cfg and returns once it answers
// the Admin API, or with an error (and nothing left running) if it does not
// within cfg.StartTimeout.
func Start(ctx context.Context, logger *slog.Logger, cfg Config) (*Broker, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("kafka config: %w", err)
	}
	abs, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("kafka data dir: %w", err)
	}
	cfg.DataDir = abs
	java, err := javaPath(cfg.JavaBin)
	if err != nil {
		return nil, err
	}
	jars, err := ResolveJars(ctx, logger, cfg.Jars)
	if err != nil {
		return nil, fmt.Errorf("kafka jars: %w", err)
	}
	b := &Broker{
		base:   logger,
		logger: logger.With("component", "kafka"),
		jars:   jars,
		java:   java,
		done:   make(chan struct{}),
	}
	if err := b.launch(ctx, cfg); err != nil {
		return nil, err
	}
	return b, nil
}

// launch resolves ports, writes the config files, formats the storage if
// needed, starts the JVM and waits until it is ready.
func (b *Broker) launch(ctx context.Context, cfg Config) error {
	var err error
	if cfg, err = resolvePorts(cfg); err != nil {
		return err
	}
	if err := b.prepare(ctx, cfg); err != nil {
		return err
	}
	proc, err := childproc.Start(b.base, childproc.Spec{
		Name: "kafka",
		Path: b.java,
		Args: b.jvmArgs(cfg, "kafka.Kafka", b.propertiesPath(cfg)),
		Dir:  cfg.DataDir,
	})
	if err != nil {
		return err
	}
	b.logger.Info("kafka broker starting", "pid", proc.PID(),
		"bootstrap", bootstrap(cfg), "heap_mb", cfg.HeapMB,
		"network_threads", cfg.NetworkThreads, "io_threads", cfg.IOThreads,
		"log", cfg.ServerLog())

	if err := waitReady(ctx, cfg, proc); err != nil {
		stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.StopTimeout)
		defer cancel()
		_ = proc.Stop(stopCtx)
		return err
	}
	b.mu.Lock()
	b.cfg, b.proc = cfg, proc
	b.mu.Unlock()
	go b.watch(proc)
	b.logger.Info("kafka broker ready", "pid", proc.PID(), "bootstrap", bootstrap(cfg))
	return nil
}

// resolvePorts replaces 0 ports with free ones.
func resolvePorts(cfg Config) (Config, error) {
	for _, p := range []*int{&cfg.BrokerPort, &cfg.ControllerPort, &cfg.JMXPort} {
		if *p != 0 {
			continue
		}
		free, err := childproc.FreePort()
		if err != nil {
			return cfg, err
		}
		*p = free
	}
	return cfg, nil
}

// prepare writes server.properties, the log4j and JMX exporter configs, and
// formats the storage unless it already is.
func (b *Broker) prepare(ctx context.Context, cfg Config) error {
	for _, d := range []string{cfg.logDir(), cfg.serverLogs(), cfg.configDir()} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("create %s: %w", d, err)
		}
	}
	files := map[string][]byte{
		b.propertiesPath(cfg):                              []byte(cfg.serverProperties()),
		filepath.Join(cfg.configDir(), "log4j2.xml"):       log4jConfig,
		filepath.Join(cfg.configDir(), "jmx-exporter.yml"): promfiles.JMXExporterConfig,
	}
	for path, data := range files {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
	}
	if cfg.formatted() {
		return nil
	}
	return b.format(ctx, cfg)
}

func (b *Broker) propertiesPath(cfg Config) string {
	return filepath.Join(cfg.configDir(), "server.properties")
}

// format runs kafka-storage format with a fresh cluster id.
func (b *Broker) format(ctx context.Context, cfg Config) error {
	id, err := newClusterID()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.StartTimeout)
	defer cancel()
	fmtCfg := cfg
	fmtCfg.HeapMB = DefaultHeapMB
	fmtCfg.JMXPort = JMXDisabled
	args := b.jvmArgs(fmtCfg, "kafka.tools.StorageTool",
		"format", "-t", id, "-c", b.propertiesPath(cfg))
	out, err := exec.CommandContext(ctx, b.java, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("format kafka storage: %w: %s", err, lastLines(string(out), 10))
	}
	b.logger.Info("kafka storage formatted", "dir", cfg.logDir(), "cluster_id", id)
	return nil
}

// jvmArgs returns the java arguments to run mainClass with cfg's heap,
// logging and JMX exporter.
func (b *Broker) jvmArgs(cfg Config, mainClass string, args ...string) []string {
	heap := strconv.Itoa(cfg.HeapMB) + "m"
	jvm := []string{
		"-Xms" + heap, "-Xmx" + heap,
		"-server", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20",
		"-XX:InitiatingHeapOccupancyPercent=35",
		"-XX:+ExplicitGCInvokesConcurrent",
		"-Djava.awt.headless=true",
		"-Dlog4j2.configurationFile=" + filepath.Join(cfg.configDir(), "log4j2.xml"),
		"-Dkafka.logs.dir=" + cfg.serverLogs(),
	}
	if cfg.JMXPort != JMXDisabled {
		rules := cfg.JMXConfigPath
		if rules == "" {
			rules = filepath.Join(cfg.configDir(), "jmx-exporter.yml")
		}
		jvm = append(jvm, fmt.Sprintf("-javaagent:%s=127.0.0.1:%d:%s",
			b.jars.JMXAgent, cfg.JMXPort, rules))
	}
	jvm = append(jvm, "-cp", filepath.Join(b.jars.LibDir, "*"), mainClass)
	return append(jvm, args...)
}

// watch closes done when proc exits while it is the broker's current
// process and no Stop or Restart asked for it.
func (b *Broker) watch(proc *childproc.Process) {
	<-proc.Done()
	if proc.Stopping() {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.proc != proc || b.stopped {
		return
	}
	b.finishLocked(fmt.Errorf("kafka broker (pid %d) exited unexpectedly: %v; see %s",
		proc.PID(), proc.Err(), b.cfg.ServerLog()))
}

func (b *Broker) finishLocked(err error) {
	if b.stopped {
		return
	}
	b.stopped = true
	b.err = err
	close(b.done)
}

// Done is closed when the broker has stopped for good: Stop was called or
// the JVM exited on its own. A Restart does not close it.
func (b *Broker) Done() <-chan struct{} { return b.done }

// Err returns why Done was closed: nil after Stop, the exit otherwise.
func (b *Broker) Err() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}

// Wait blocks until the broker has stopped for good or ctx ends.
func (b *Broker) Wait(ctx context.Context) error {
	select {
	case <-b.done:
		return b.Err()
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Config returns the broker's current configuration, ports resolved.
func (b *Broker) Config() Config {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.cfg
}

// Bootstrap returns the broker's bootstrap address (host:port).
func (b *Broker) Bootstrap() string { return bootstrap(b.Config()) }

func bootstrap(cfg Config) string { return "127.0.0.1:" + strconv.Itoa(cfg.BrokerPort) }

// JMXAddr returns host:port of the JMX exporter's /metrics, or "" when it
// is disabled.
func (b *Broker) JMXAddr() string {
	cfg := b.Config()
	if cfg.JMXPort == JMXDisabled {
		return ""
	}
	return "127.0.0.1:" + strconv.Itoa(cfg.JMXPort)
}

// PID returns the process id of the broker's JVM (0 if none runs).
func (b *Broker) PID() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.proc == nil {
		return 0
	}
	return b.proc.PID()
}

// RunningHeapMB returns the maximum heap of the running JVM in MiB, read
// from its command line (the last -Xmx, as the JVM reads it).
func (b *Broker) RunningHeapMB() (int, error) {
	pid := b.PID()
	if pid == 0 {
		return 0, errors.New("kafka broker not running")
	}
	return heapFromCmdline(pid)
}

// Stop stops the broker: SIGTERM, then SIGKILL after cfg.StopTimeout or
// when ctx ends. Done is closed afterwards. Stop is idempotent.
func (b *Broker) Stop(ctx context.Context) error {
	b.ops.Lock()
	defer b.ops.Unlock()
	b.mu.Lock()
	proc, timeout := b.proc, b.cfg.StopTimeout
	b.mu.Unlock()
	var err error
	if proc != nil {
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		err = proc.Stop(ctx)
		b.logger.Info("kafka broker stopped", "pid", proc.PID())
	}
	b.mu.Lock()
	b.finishLocked(nil)
	b.mu.Unlock()
	return err
}

// Restart stops the broker and starts it again with cfg, keeping its data.
// Ports left at 0 in cfg keep their current values, so clients reconnect to
// the same address. When the new broker does not become ready, Restart
// returns the error with no broker running; the caller may Restart again
// (for example with the last good settings) or Stop.
func (b *Broker) Restart(ctx context.Context, cfg Config) error {
	b.ops.Lock()
	defer b.ops.Unlock()
	b.mu.Lock()
	if b.stopped {
		b.mu.Unlock()
		return ErrStopped
	}
	old, proc := b.cfg, b.proc
	b.proc = nil // watch ignores the exit of a replaced process
	b.mu.Unlock()

	cfg = inherit(cfg.withDefaults(), old)
	if err := cfg.Validate(); err != nil {
		b.mu.Lock()
		b.proc = proc
		b.mu.Unlock()
		return fmt.Errorf("kafka config: %w", err)
	}
	if proc != nil {
		stopCtx, cancel := context.WithTimeout(ctx, old.StopTimeout)
		err := proc.Stop(stopCtx)
		cancel()
		if err != nil {
			return fmt.Errorf("restart: %w", err)
		}
	}
	b.logger.Info("kafka broker restarting", "heap_mb", cfg.HeapMB,
		"network_threads", cfg.NetworkThreads, "io_threads", cfg.IOThreads)
	if err := b.launch(ctx, cfg); err != nil {
		return fmt.Errorf("restart: %w", err)
	}
	return nil
}

// inherit fills what a restart must keep from the running configuration.
func inherit(cfg, old Config) Config {
	if cfg.DataDir == "" {
		cfg.DataDir = old.DataDir
	}
	if cfg.BrokerPort == 0 {
		cfg.BrokerPort = old.BrokerPort
	}
	if cfg.ControllerPort == 0 {
		cfg.ControllerPort = old.ControllerPort
	}
	if cfg.JMXPort == 0 {
		cfg.JMXPort = old.JMXPort
	}
	return cfg
}

func javaPath(bin string) (string, error) {
	if bin == "" {
		if home := os.Getenv("JAVA_HOME"); home != "" {
			bin = filepath.Join(home, "bin", "java")
		} else {
			bin = "java"
		}
	}
	p, err := exec.LookPath(bin)
	if err != nil {
		return "", fmt.Errorf("java (%s) not found: install a JDK or JRE 17+ "+
			"(Debian: apt-get install openjdk-17-jre-headless): %w", bin, err)
	}
	return p, nil
}
