package envflag

import (
	"errors"
	"flag"
	"io"
	"strings"
	"testing"
)

func TestParseErrorsStayOneLine(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Int("n", 0, "a number")
	s := New(fs)
	s.Bind("n", "N")
	none := func(string) (string, bool) { return "", false }

	for _, args := range [][]string{{"-\nx"}, {"-n", "1\n2"}} {
		err := New(fs).Parse(args, none)
		if err == nil || strings.ContainsAny(err.Error(), "\n\r") {
			t.Errorf("Parse(%q) = %q, want a one-line error", args, err)
		}
	}
	err := s.Parse(nil, func(k string) (string, bool) { return "x\ny", k == "N" })
	if err == nil || strings.ContainsAny(err.Error(), "\n\r") || !strings.Contains(err.Error(), "N (flag -n)") {
		t.Errorf("env error = %q, want one line naming N and -n", err)
	}
	if err := New(fs).Parse([]string{"-help"}, none); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-help: %v, want flag.ErrHelp", err)
	}
}
