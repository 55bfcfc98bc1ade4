package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/kafkatune/kafkatune/internal/telemetry"
)

// newRegistry returns the agent's registry with the Go, process and build
// info collectors.
func newRegistry() (*prometheus.Registry, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if err := telemetry.RegisterBuildInfo(reg, telemetry.JobAgent); err != nil {
		return nil, err
	}
	return reg, nil
}

// server is the agent's HTTP endpoint: /metrics, /healthz and, once set,
// the Alertmanager webhook.
type server struct {
	mux *http.ServeMux
	ln  net.Listener
	log *slog.Logger
}

// listen binds addr and registers /metrics for reg.
func listen(addr string, reg *prometheus.Registry, log *slog.Logger) (*server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok\n"))
	})
	return &server{mux: mux, ln: ln, log: log}, nil
}

// serve serves until ctx ends, then shuts down within a few seconds.
func (s *server) serve(ctx context.Context) error {
	srv := &http.Server{Handler: s.mux, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(s.ln) }()
	s.log.Info("serving metrics", "addr", s.ln.Addr().String(), "path", "/metrics")
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// port is the port the server listens on.
func (s *server) port() int { return s.ln.Addr().(*net.TCPAddr).Port }
