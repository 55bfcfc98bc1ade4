package kafkaproc

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// KafkaVersion is the Apache Kafka release kafkatune runs and fetches.
const KafkaVersion = "4.1.1"

// jmxAgentVersion is the Prometheus JMX exporter java agent release.
const jmxAgentVersion = "1.0.1"

// Environment variables that say where the jars are.
const (
	EnvKafkaHome = "KAFKA_HOME"
	EnvCacheDir  = "KAFKATUNE_CACHE"
	EnvMaven     = "MVN"
)

// completeMarker is written last into a fetched directory; a directory
// without it is an interrupted download and is never used.
const completeMarker = "COMPLETE"

// fetchTimeout bounds one Maven run (a cold ~/.m2 downloads ~60 MB).
const fetchTimeout = 15 * time.Minute

//go:embed pom.xml
var kafkaPOM []byte

//go:embed pom-jmx-agent.xml
var jmxAgentPOM []byte

// JarsConfig says where the Kafka jars come from.
type JarsConfig struct {
	// KafkaHome is a Kafka distribution whose libs/ is used as is; empty
	// means $KAFKA_HOME, and if that is empty too, the jars are fetched
	// from Maven Central into CacheDir.
	KafkaHome string
	// CacheDir holds fetched jars; empty means $KAFKATUNE_CACHE, else
	// $XDG_CACHE_HOME/kafkatune, else ~/.cache/kafkatune.
	CacheDir string
	// Maven is the mvn executable; empty means $MVN, else mvn on PATH.
	Maven string
}

// Jars is what a broker JVM needs on disk.
type Jars struct {
	// LibDir holds the Kafka jars (the classpath is LibDir/*).
	LibDir string
	// JMXAgent is the JMX exporter java agent jar.
	JMXAgent string
}

// ResolveJars finds the Kafka jars and the JMX exporter agent, fetching
// them from Maven Central into the cache when no Kafka distribution is
// given. It is safe to call from several processes at once: a file lock
// lets one download while the others wait.
func ResolveJars(ctx context.Context, logger *slog.Logger, cfg JarsConfig) (Jars, error) {
	home := cfg.KafkaHome
	if home == "" {
		home = os.Getenv(EnvKafkaHome)
	}
	cache, err := cacheDir(cfg.CacheDir)
	if err != nil {
		return Jars{}, err
	}
	if home != "" {
		return homeJars(ctx, logger, cfg, home, cache)
	}
	dir := filepath.Join(cache, "kafka-"+KafkaVersion)
	if err := fetchOnce(ctx, logger, cfg.Maven, kafkaPOM, dir); err != nil {
		return Jars{}, err
	}
	libs := filepath.Join(dir, "libs")
	agent, err := findJar(libs, "jmx_prometheus_javaagent-")
	if err != nil {
		return Jars{}, err
	}
	return Jars{LibDir: libs, JMXAgent: agent}, nil
}

// homeJars uses a Kafka distribution's libs and finds the JMX agent in it
// or fetches the agent alone.
func homeJars(ctx context.Context, logger *slog.Logger, cfg JarsConfig, home, cache string) (Jars, error) {
	libs := filepath.Join(home, "libs")
	if _, err := findJar(libs, "kafka_2.13-"); err != nil {
		return Jars{}, fmt.Errorf("%s=%s is not a Kafka distribution: %w", EnvKafkaHome, home, err)
	}
	if agent, err := findJar(libs, "jmx_prometheus_javaagent-"); err == nil {
		return Jars{LibDir: libs, JMXAgent: agent}, nil
	}
	dir := filepath.Join(cache, "jmx-agent-"+jmxAgentVersion)
	if err := fetchOnce(ctx, logger, cfg.Maven, jmxAgentPOM, dir); err != nil {
		return Jars{}, err
	}
	agent, err := findJar(filepath.Join(dir, "libs"), "jmx_prometheus_javaagent-")
	if err != nil {
		return Jars{}, err
	}
	return Jars{LibDir: libs, JMXAgent: agent}, nil
}

func cacheDir(dir string) (string, error) {
	if dir != "" {
		return dir, nil
	}
	if d := os.Getenv(EnvCacheDir); d != "" {
		return d, nil
	}
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "kafkatune"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("cache dir: set %s: %w", EnvCacheDir, err)
	}
	return filepath.Join(home, ".cache", "kafkatune"), nil
}

func findJar(dir, prefix string) (string, error) {
	matches, err := filepath.Glob(filepath.Join(dir, prefix+"*.jar"))
	if err != nil {
		return "", fmt.Errorf("find %s jar: %w", prefix, err)
	}
	if len(matches) == 0 {
		return "", fmt.Errorf("no %s*.jar in %s", prefix, dir)
	}
	return matches[0], nil
}

func complete(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, completeMarker))
	return err == nil
}

// fetchOnce makes sure dir/libs holds the dependencies of pom, fetching them
// under an exclusive lock when dir is not complete yet.
func fetchOnce(ctx context.Context, logger *slog.Logger, mvn string, pom []byte, dir string) error {
	if complete(dir) {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return fmt.Errorf("create cache dir: %w", err)
	}
	unlock, err := lockFile(ctx, dir+".lock")
	if err != nil {
		return err
	}
	defer unlock()
	if complete(dir) { // another process fetched while we waited
		return nil
	}
	return fetch(ctx, logger, mvn, pom, dir)
}

// lockFile takes an exclusive flock on path, polling so that ctx can end
// the wait.
func lockFile(ctx context.Context, path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open lock %s: %w", path, err)
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { _ = f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			_ = f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			_ = f.Close()
			return nil, fmt.Errorf("wait for lock %s: %w", path, ctx.Err())
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// fetch runs Maven into a temporary directory next to dir, marks it
// complete and renames it into place, so dir is either absent or whole.
func fetch(ctx context.Context, logger *slog.Logger, mvn string, pom []byte, dir string) error {
	mvnPath, err := mavenPath(mvn)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), filepath.Base(dir)+".tmp-")
	if err != nil {
		return fmt.Errorf("create temp dir: %w", err)
	}
	defer os.RemoveAll(tmp)
	pomPath := filepath.Join(tmp, "pom.xml")
	if err := os.WriteFile(pomPath, pom, 0o644); err != nil {
		return fmt.Errorf("write pom: %w", err)
	}

	start := time.Now()
	logger.Info("fetching jars from maven central", "dir", dir)
	ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, mvnPath, "-B", "-q", "-f", pomPath,
		"dependency:copy-dependencies", "-DincludeScope=runtime",
		"-DoutputDirectory="+filepath.Join(tmp, "libs"))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("mvn dependency:copy-dependencies: %w: %s", err, lastLines(out.String(), 15))
	}

	jars, _ := filepath.Glob(filepath.Join(tmp, "libs", "*.jar"))
	if len(jars) == 0 {
		return fmt.Errorf("mvn fetched no jars into %s", tmp)
	}
	marker := []byte(strconv.Itoa(len(jars)) + " jars fetched " + time.Now().UTC().Format(time.RFC3339) + "\n")
	if err := os.WriteFile(filepath.Join(tmp, completeMarker), marker, 0o644); err != nil {
		return fmt.Errorf("write marker: %w", err)
	}
	// A directory without a marker is an interrupted fetch: replace it.
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("remove incomplete %s: %w", dir, err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		return fmt.Errorf("move jars into place: %w", err)
	}
	logger.Info("fetched jars", "dir", dir, "jars", len(jars),
		"duration_seconds", time.Since(start).Seconds())
	return nil
}

func mavenPath(mvn string) (string, error) {
	if mvn == "" {
		mvn = os.Getenv(EnvMaven)
	}
	if mvn == "" {
		mvn = "mvn"
	}
	p, err := exec.LookPath(mvn)
	if err != nil {
		return "", fmt.Errorf("maven (%s) not found: install it (Debian: apt-get install maven) "+
			"or set %s to a Kafka %s distribution: %w", mvn, EnvKafkaHome, KafkaVersion, err)
	}
	return p, nil
}

// lastLines returns at most n trailing lines of s, trimmed.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
