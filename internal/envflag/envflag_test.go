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

// TestParseSaysWhatIsAllowed: a value that does not parse gets an error
// naming the flag (or variable and flag) and what a value looks like, and
// nothing else is printed; -help still prints the usage.
func TestParseSaysWhatIsAllowed(t *testing.T) {
	var out strings.Builder
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(&out)
	fs.Duration("wait", 0, "how long")
	fs.Bool("on", false, "switch")
	fs.Int("n", 3, "count")
	fs.Float64("x", 0, "ratio")
	s := New(fs)
	s.Bind("wait", "WAIT")
	none := func(string) (string, bool) { return "", false }
	tests := []struct {
		args   []string
		lookup func(string) (string, bool)
		want   string
	}{
		{[]string{"-wait", "NaN"}, none, `invalid value "NaN" for flag -wait: want a duration such as 500ms, 30s or 5m`},
		{[]string{"-on=maybe"}, none, `invalid boolean value "maybe" for -on: want true or false`},
		{[]string{"-n", "1.5"}, none, `invalid value "1.5" for flag -n: want a whole number`},
		{[]string{"-x", "abc"}, none, `invalid value "abc" for flag -x: want a number`},
		{nil, func(k string) (string, bool) { return "1.5", k == "WAIT" },
			`invalid value "1.5" for WAIT (flag -wait): want a duration such as 500ms, 30s or 5m`},
	}
	for _, tt := range tests {
		out.Reset()
		err := s.Parse(tt.args, tt.lookup)
		if err == nil || err.Error() != tt.want {
			t.Errorf("Parse(%q) = %v, want %q", tt.args, err, tt.want)
		}
		if out.Len() != 0 {
			t.Errorf("Parse(%q) printed %q, want nothing", tt.args, out.String())
		}
	}
	out.Reset()
	// The usage gives the defaults: the flag package finds them by the
	// value's type, which the parse must leave as it was.
	err := s.Parse([]string{"-on", "-help"}, none)
	if !errors.Is(err, flag.ErrHelp) || !strings.Contains(out.String(), "-wait") ||
		!strings.Contains(out.String(), "(default 3)") {
		t.Errorf("-help: %v, printed %q; want ErrHelp and the usage with defaults", err, out.String())
	}
	if err := s.Parse([]string{"-on"}, none); err != nil {
		t.Errorf("-on alone: %v (a boolean flag needs no value)", err)
	}
}
