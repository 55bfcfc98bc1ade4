// Package envflag lets every flag of a flag.FlagSet fall back to an
// environment variable, so the same binary is configured by flags on a
// command line and by environment in a container. A flag given on the
// command line wins over its variable; a bad value in either is an error
// that names both the variable and the flag.
package envflag

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
	"unicode"
)

// Set binds flags of a FlagSet to environment variable names.
type Set struct {
	fs  *flag.FlagSet
	env map[string]string // flag name -> variable name
}

// New returns a Set for fs.
func New(fs *flag.FlagSet) *Set {
	return &Set{fs: fs, env: map[string]string{}}
}

// FlagSet returns the underlying flag set.
func (s *Set) FlagSet() *flag.FlagSet { return s.fs }

// Bind makes the flag named name fall back to the environment variable
// envName and says so in its usage text. It panics if the flag is not
// defined, a programming error.
func (s *Set) Bind(name, envName string) {
	f := s.fs.Lookup(name)
	if f == nil {
		panic("envflag: bind of undefined flag " + name)
	}
	s.env[name] = envName
	f.Usage += " (env " + envName + ")"
}

// Parse parses args, then applies the bound variables found by lookup (for
// example os.LookupEnv) to flags not given in args. Its errors are one line
// that says what a value of the flag's type looks like: control characters
// in the input (a flag name holding a newline) become spaces, and neither
// the usage text nor the flag package's own error line is printed (the
// caller prints the error). Only -h or -help prints the usage, and returns
// flag.ErrHelp as is.
func (s *Set) Parse(args []string, lookup func(string) (string, bool)) error {
	if err := s.parse(args, lookup); err != nil && !errors.Is(err, flag.ErrHelp) {
		return &lineError{err: err}
	} else if err != nil {
		return err
	}
	return nil
}

func (s *Set) parse(args []string, lookup func(string) (string, bool)) error {
	// The wrappers are only in place while parsing: PrintDefaults tells a
	// default from its type's zero value by the value's type.
	orig := map[string]flag.Value{}
	s.fs.VisitAll(func(f *flag.Flag) {
		orig[f.Name] = f.Value
		f.Value = &typed{Value: f.Value}
	})
	unwrap := func() {
		s.fs.VisitAll(func(f *flag.Flag) { f.Value = orig[f.Name] })
	}
	defer unwrap()
	usage, out := s.fs.Usage, s.fs.Output()
	defer func() { s.fs.Usage = usage; s.fs.SetOutput(out) }()
	if helpAsked(args) {
		s.fs.Usage = func() {
			unwrap()
			if usage != nil {
				usage()
			} else {
				s.fs.PrintDefaults()
			}
		}
	} else {
		s.fs.Usage = func() {}
		s.fs.SetOutput(io.Discard)
	}
	if err := s.fs.Parse(args); err != nil {
		return err
	}
	given := map[string]bool{}
	s.fs.Visit(func(f *flag.Flag) { given[f.Name] = true })

	names := make([]string, 0, len(s.env))
	for n := range s.env {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		if given[name] {
			continue
		}
		v, ok := lookup(s.env[name])
		if !ok {
			continue
		}
		if err := s.fs.Set(name, v); err != nil {
			return fmt.Errorf("invalid value %q for %s (flag -%s): %w", v, s.env[name], name, err)
		}
	}
	return nil
}

// helpAsked reports whether args ask for the usage text.
func helpAsked(args []string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if strings.HasPrefix(a, "-") && (name == "h" || name == "help") {
			return true
		}
	}
	return false
}

// typed wraps a flag's value so that a value that does not parse is
// answered with what one of the flag's type looks like, instead of the
// flag package's "parse error".
type typed struct{ flag.Value }

func (t *typed) Set(v string) error {
	err := t.Value.Set(v)
	if err == nil {
		return nil
	}
	if want := wantFor(t.Value); want != "" {
		return errors.New("want " + want)
	}
	return err
}

// IsBoolFlag keeps "-flag" without a value working for boolean flags.
func (t *typed) IsBoolFlag() bool {
	b, ok := t.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// Get passes flag.Getter through.
func (t *typed) Get() any {
	if g, ok := t.Value.(flag.Getter); ok {
		return g.Get()
	}
	return nil
}

// wantFor describes the values of the standard flag types; "" for others,
// whose own error is kept.
func wantFor(v flag.Value) string {
	g, ok := v.(flag.Getter)
	if !ok {
		return ""
	}
	switch g.Get().(type) {
	case time.Duration:
		return "a duration such as 500ms, 30s or 5m"
	case bool:
		return "true or false"
	case int, int64:
		return "a whole number"
	case uint, uint64:
		return "a whole number, 0 or above"
	case float64:
		return "a number"
	}
	return ""
}

// lineError is an error whose message is kept on one line.
type lineError struct{ err error }

func (e *lineError) Error() string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, e.err.Error())
}

func (e *lineError) Unwrap() error { return e.err }

// EnvName returns the variable bound to the flag name, or "".
func (s *Set) EnvName(name string) string { return s.env[name] }
