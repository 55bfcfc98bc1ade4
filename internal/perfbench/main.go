package perfbench

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
)

// Main runs the bench command line args (without the program name): it
// parses the flags (falling back to the environment through lookup), runs
// the benchmark with progress on stderr, writes the report to -out and
// prints it on stdout. A *UsageError means bad input (exit status 2).
func Main(ctx context.Context, args []string, lookup func(string) (string, bool),
	stdout, stderr io.Writer,
) error {
	cfg, err := ParseFlags(args, lookup, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	cfg.CommandLine = strings.Join(append([]string{"go run ./bench"}, args...), " ")
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	rep, err := Run(ctx, log, cfg)
	if err != nil {
		return err
	}
	md := rep.Markdown()
	if err := writeFile(cfg.Out, md); err != nil {
		return err
	}
	log.Info("bench done", "out", cfg.Out, "minutes", round(rep.Finished.Sub(rep.Started).Minutes(), 1))
	_, err = io.WriteString(stdout, md)
	return err
}

// writeFile writes data to path through a temporary file and a rename.
func writeFile(path, data string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("create report dir: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(data), 0o644); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

// ExitCode maps Main's error to the exit status: 0, 2 for bad input, 1.
func ExitCode(err error) int {
	var ue *UsageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ue):
		return 2
	default:
		return 1
	}
}
