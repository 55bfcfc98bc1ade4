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
	"sort"
	"strings"
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
// example os.LookupEnv) to flags not given in args. Its errors are one line:
// control characters in the input (a flag name holding a newline) become
// spaces. flag.ErrHelp is returned as is.
func (s *Set) Parse(args []string, lookup func(string) (string, bool)) error {
	if err := s.parse(args, lookup); err != nil && !errors.Is(err, flag.ErrHelp) {
		return &lineError{err: err}
	} else if err != nil {
		return err
	}
	return nil
}

func (s *Set) parse(args []string, lookup func(string) (string, bool)) error {
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
