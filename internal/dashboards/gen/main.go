// Command gen writes kafkatune's Grafana dashboards, generated from
// internal/dashboards, as JSON files. `make dashboards` runs it from the
// repository root:
//
//	go run ./internal/dashboards/gen -out grafana/dashboards
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/kafkatune/kafkatune/internal/dashboards"
)

func main() {
	fs := flag.NewFlagSet("gen", flag.ContinueOnError)
	out := fs.String("out", "grafana/dashboards",
		"directory the dashboard JSON files are written to")
	if err := fs.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		os.Exit(2)
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "gen: unexpected argument %q; only -out is accepted\n", fs.Arg(0))
		os.Exit(2)
	}
	if err := run(*out); err != nil {
		fmt.Fprintf(os.Stderr, "gen: %v\n", err)
		os.Exit(1)
	}
}

func run(out string) error {
	if out == "" {
		return errors.New("-out must name a directory")
	}
	return dashboards.WriteAll(out)
}
