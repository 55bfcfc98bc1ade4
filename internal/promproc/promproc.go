// Package promproc runs the real Prometheus server and Alertmanager as
// supervised child processes, for the local stack and the integration
// tests: it writes their configuration into a working directory, starts
// them on loopback addresses and waits until they report ready.
package promproc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/kafkatune/kafkatune/internal/childproc"
)

// Where Debian's packages install the servers, and the environment
// variables that point elsewhere.
const (
	DefaultPrometheus   = "/usr/bin/prometheus"
	DefaultAlertmanager = "/usr/bin/prometheus-alertmanager"
	EnvPrometheus       = "PROMETHEUS_BIN"
	EnvAlertmanager     = "ALERTMANAGER_BIN"
)

// readyTimeout bounds the wait for a server to report ready.
const readyTimeout = 2 * time.Minute

// Server is a running Prometheus or Alertmanager.
type Server struct {
	name string
	url  string
	proc *childproc.Process
}

// URL is the server's base URL, http://127.0.0.1:port.
func (s *Server) URL() string { return s.url }

// Addr is the server's host:port.
func (s *Server) Addr() string { return s.url[len("http://"):] }

// Done is closed when the server process has exited.
func (s *Server) Done() <-chan struct{} { return s.proc.Done() }

// Err is how the process exited, once Done is closed.
func (s *Server) Err() error { return s.proc.Err() }

// Stop stops the server (SIGTERM, then SIGKILL when ctx ends).
func (s *Server) Stop(ctx context.Context) error { return s.proc.Stop(ctx) }

// PrometheusConfig says how to run Prometheus.
type PrometheusConfig struct {
	// Binary is the prometheus executable; empty means $PROMETHEUS_BIN,
	// then DefaultPrometheus, then prometheus on PATH.
	Binary string
	// Dir holds prometheus.yml, rules/ and data/. It is created if missing.
	Dir string
	// Port to listen on, on 127.0.0.1; 0 picks a free one.
	Port int
	// Config is the prometheus.yml to write (rule_files relative to Dir).
	Config []byte
	// Rules, if set, is copied into Dir/rules (its *.yml files, flattened).
	Rules fs.FS
	// Output, if set, receives the server's log lines too.
	Output io.Writer
}

// StartPrometheus writes cfg's files and starts Prometheus, returning once
// it is ready.
func StartPrometheus(ctx context.Context, logger *slog.Logger, cfg PrometheusConfig) (*Server, error) {
	bin, err := findBinary(cfg.Binary, EnvPrometheus, DefaultPrometheus, "prometheus", "prometheus")
	if err != nil {
		return nil, err
	}
	if len(cfg.Config) == 0 {
		return nil, errors.New("prometheus: no configuration given")
	}
	if err := os.MkdirAll(filepath.Join(cfg.Dir, "data"), 0o755); err != nil {
		return nil, fmt.Errorf("prometheus: %w", err)
	}
	cfgFile := filepath.Join(cfg.Dir, "prometheus.yml")
	if err := os.WriteFile(cfgFile, cfg.Config, 0o644); err != nil {
		return nil, fmt.Errorf("prometheus: %w", err)
	}
	if cfg.Rules != nil {
		if err := copyYAML(cfg.Rules, filepath.Join(cfg.Dir, "rules")); err != nil {
			return nil, fmt.Errorf("prometheus rules: %w", err)
		}
	}
	port, err := pickPort(cfg.Port)
	if err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	args := []string{
		"--config.file=" + cfgFile,
		"--storage.tsdb.path=" + filepath.Join(cfg.Dir, "data"),
		"--web.listen-address=" + addr,
		"--web.enable-lifecycle",
		"--log.level=warn",
	}
	return start(ctx, logger, "prometheus", bin, args, cfg.Dir, addr, cfg.Output)
}

// AlertmanagerConfig says how to run Alertmanager.
type AlertmanagerConfig struct {
	// Binary is the alertmanager executable; empty means
	// $ALERTMANAGER_BIN, then DefaultAlertmanager, then alertmanager on
	// PATH.
	Binary string
	// Dir holds alertmanager.yml and data/. It is created if missing.
	Dir string
	// Port to listen on, on 127.0.0.1; 0 picks a free one.
	Port int
	// Config is the alertmanager.yml to write.
	Config []byte
	// Files are written next to alertmanager.yml (name to content, mode
	// 0600), for example the webhook token file the config names.
	Files map[string][]byte
	// Output, if set, receives the server's log lines too.
	Output io.Writer
}

// StartAlertmanager writes cfg's files and starts Alertmanager without
// clustering, returning once it is ready.
func StartAlertmanager(ctx context.Context, logger *slog.Logger, cfg AlertmanagerConfig) (*Server, error) {
	bin, err := findBinary(cfg.Binary, EnvAlertmanager, DefaultAlertmanager, "alertmanager", "prometheus-alertmanager")
	if err != nil {
		return nil, err
	}
	if len(cfg.Config) == 0 {
		return nil, errors.New("alertmanager: no configuration given")
	}
	if err := os.MkdirAll(filepath.Join(cfg.Dir, "data"), 0o755); err != nil {
		return nil, fmt.Errorf("alertmanager: %w", err)
	}
	cfgFile := filepath.Join(cfg.Dir, "alertmanager.yml")
	if err := os.WriteFile(cfgFile, cfg.Config, 0o644); err != nil {
		return nil, fmt.Errorf("alertmanager: %w", err)
	}
	for name, data := range cfg.Files {
		if err := os.WriteFile(filepath.Join(cfg.Dir, name), data, 0o600); err != nil {
			return nil, fmt.Errorf("alertmanager: %w", err)
		}
	}
	port, err := pickPort(cfg.Port)
	if err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	args := []string{
		"--config.file=" + cfgFile,
		"--storage.path=" + filepath.Join(cfg.Dir, "data"),
		"--web.listen-address=" + addr,
		// One instance: no gossip port to collide with.
		"--cluster.listen-address=",
		"--log.level=warn",
	}
	return start(ctx, logger, "alertmanager", bin, args, cfg.Dir, addr, cfg.Output)
}

func start(ctx context.Context, logger *slog.Logger, name, bin string, args []string,
	dir, addr string, out io.Writer,
) (*Server, error) {
	proc, err := childproc.Start(logger, childproc.Spec{Name: name, Path: bin, Args: args, Dir: dir, Output: out})
	if err != nil {
		return nil, err
	}
	s := &Server{name: name, url: "http://" + addr, proc: proc}
	if err := waitReady(ctx, s); err != nil {
		stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		_ = proc.Stop(stopCtx)
		return nil, err
	}
	logger.Info(name+" ready", "url", s.url, "pid", proc.PID(), "dir", dir)
	return s, nil
}

// waitReady polls /-/ready until it answers 200, the process exits, or
// readyTimeout passes.
func waitReady(ctx context.Context, s *Server) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second}
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url+"/-/ready", nil)
		if err != nil {
			return err
		}
		if resp, err := client.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-s.proc.Done():
			return fmt.Errorf("%s exited before it was ready: %v (see its log lines above)", s.name, s.proc.Err())
		case <-ctx.Done():
			return fmt.Errorf("%s at %s not ready: %w", s.name, s.url, ctx.Err())
		case <-tick.C:
		}
	}
}

// findBinary returns explicit, else $env, else def if it exists, else the
// first of names on PATH.
func findBinary(explicit, env, def string, names ...string) (string, error) {
	if explicit != "" {
		return explicit, nil
	}
	if v := os.Getenv(env); v != "" {
		return v, nil
	}
	if _, err := os.Stat(def); err == nil {
		return def, nil
	}
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found at %s, in $%s or on PATH: install the Debian package "+
		"(apt-get install %s) or set %s", names[0], def, env, names[len(names)-1], env)
}

func pickPort(p int) (int, error) {
	if p < 0 || p > 65535 {
		return 0, fmt.Errorf("port %d: want 0 (any free port) to 65535", p)
	}
	if p != 0 {
		return p, nil
	}
	return childproc.FreePort()
}

// copyYAML copies every *.yml file of src, at any depth, into dir.
func copyYAML(src fs.FS, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	n := 0
	err := fs.WalkDir(src, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(path) != ".yml" {
			return err
		}
		data, err := fs.ReadFile(src, path)
		if err != nil {
			return err
		}
		n++
		return os.WriteFile(filepath.Join(dir, filepath.Base(path)), data, 0o644)
	})
	if err == nil && n == 0 {
		err = errors.New("no *.yml files")
	}
	return err
}
