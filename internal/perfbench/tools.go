package perfbench

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
	"strings"
	"syscall"
	"time"

	"github.com/kafkatune/kafkatune/internal/kafkaproc"
)

//go:embed pom-tools.xml
var toolsPOM []byte

// toolsFetchTimeout bounds the Maven run (a cold ~/.m2 downloads ~40 MB).
const toolsFetchTimeout = 15 * time.Minute

// toolsComplete marks a finished fetch; a directory without it is never
// used.
const toolsComplete = "COMPLETE"

// toolsJar is the jar that holds ProducerPerformance.
const toolsJar = "kafka-tools-"

// ResolveTools returns a directory whose jars run Kafka's command-line
// tools: the libs of the Kafka distribution in cfg.KafkaHome or
// $KAFKA_HOME if one is given, else the kafka-tools artifact and its
// dependencies fetched from Maven Central into the kafkatune cache (the
// directory kafkaproc uses), under a lock so that parallel runs fetch once.
func ResolveTools(ctx context.Context, log *slog.Logger, cfg kafkaproc.JarsConfig) (string, error) {
	home := cfg.KafkaHome
	if home == "" {
		home = os.Getenv(kafkaproc.EnvKafkaHome)
	}
	if home != "" {
		libs := filepath.Join(home, "libs")
		if !hasJar(libs, toolsJar) {
			return "", fmt.Errorf("%s=%s has no %s*.jar in libs", kafkaproc.EnvKafkaHome, home, toolsJar)
		}
		return libs, nil
	}
	cache, err := cacheDir(cfg.CacheDir)
	if err != nil {
		return "", err
	}
	dir := filepath.Join(cache, "kafka-tools-"+kafkaproc.KafkaVersion)
	if err := fetchToolsOnce(ctx, log, cfg.Maven, dir); err != nil {
		return "", err
	}
	return filepath.Join(dir, "libs"), nil
}

// cacheDir follows kafkaproc's rule: the given directory, else
// $KAFKATUNE_CACHE, else $XDG_CACHE_HOME/kafkatune, else
// ~/.cache/kafkatune.
func cacheDir(dir string) (string, error) {
	if dir != "" {
		return dir, nil
	}
	if d := os.Getenv(kafkaproc.EnvCacheDir); d != "" {
		return d, nil
	}
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "kafkatune"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("cache dir: set %s: %w", kafkaproc.EnvCacheDir, err)
	}
	return filepath.Join(home, ".cache", "kafkatune"), nil
}

func hasJar(dir, prefix string) bool {
	m, _ := filepath.Glob(filepath.Join(dir, prefix+"*.jar"))
	return len(m) > 0
}

func fetchToolsOnce(ctx context.Context, log *slog.Logger, mvn, dir string) error {
	done := func() bool {
		_, err := os.Stat(filepath.Join(dir, toolsComplete))
		return err == nil
	}
	if done() {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return fmt.Errorf("create cache dir: %w", err)
	}
	unlock, err := lock(ctx, dir+".lock")
	if err != nil {
		return err
	}
	defer unlock()
	if done() {
		return nil
	}
	return fetchTools(ctx, log, mvn, dir)
}

// lock takes an exclusive flock on path, polling so that ctx can end the
// wait.
func lock(ctx context.Context, path string) (func(), error) {
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

// fetchTools runs Maven into a temporary directory and renames it into
// place once complete.
func fetchTools(ctx context.Context, log *slog.Logger, mvn, dir string) error {
	if mvn == "" {
		mvn = os.Getenv(kafkaproc.EnvMaven)
	}
	if mvn == "" {
		mvn = "mvn"
	}
	mvnPath, err := exec.LookPath(mvn)
	if err != nil {
		return fmt.Errorf("maven (%s) not found: install it (Debian: apt-get install maven) "+
			"or set %s to a Kafka %s distribution: %w", mvn, kafkaproc.EnvKafkaHome, kafkaproc.KafkaVersion, err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), filepath.Base(dir)+".tmp-")
	if err != nil {
		return fmt.Errorf("create temp dir: %w", err)
	}
	defer os.RemoveAll(tmp)
	pom := filepath.Join(tmp, "pom.xml")
	if err := os.WriteFile(pom, toolsPOM, 0o644); err != nil {
		return fmt.Errorf("write pom: %w", err)
	}
	log.Info("fetching kafka-tools jars from maven central", "dir", dir)
	ctx, cancel := context.WithTimeout(ctx, toolsFetchTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, mvnPath, "-B", "-q", "-f", pom,
		"dependency:copy-dependencies", "-DincludeScope=runtime",
		"-DoutputDirectory="+filepath.Join(tmp, "libs"))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("mvn dependency:copy-dependencies: %w: %s", err, tail(out.String(), 15))
	}
	if !hasJar(filepath.Join(tmp, "libs"), toolsJar) {
		return fmt.Errorf("mvn fetched no %s*.jar into %s", toolsJar, tmp)
	}
	stampLine := []byte("fetched " + time.Now().UTC().Format(time.RFC3339) + "\n")
	if err := os.WriteFile(filepath.Join(tmp, toolsComplete), stampLine, 0o644); err != nil {
		return fmt.Errorf("write marker: %w", err)
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("remove incomplete %s: %w", dir, err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		return fmt.Errorf("move jars into place: %w", err)
	}
	log.Info("fetched kafka-tools jars", "dir", dir)
	return nil
}

// tail returns at most n trailing lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
