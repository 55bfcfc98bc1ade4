package rules

import (
	"sort"
	"strings"
)

// Names returns, sorted and without duplicates, the identifiers in the
// PromQL expression expr that start with prefix, skipping string literals
// and comments. With telemetry.Namespace as the prefix these are exactly
// the metric and recording rule names the expression reads: no PromQL
// function, keyword or label name of kafkatune starts with it.
//
// This is a lexer, not a parser: `promtool check rules` judges the syntax.
func Names(expr, prefix string) []string {
	seen := map[string]bool{}
	for i := 0; i < len(expr); {
		c := expr[i]
		switch {
		case c == '"' || c == '\'' || c == '`':
			i = skipString(expr, i)
		case c == '#':
			for i < len(expr) && expr[i] != '\n' {
				i++
			}
		case isIdentStart(c):
			j := i + 1
			for j < len(expr) && isIdentPart(expr[j]) {
				j++
			}
			if id := expr[i:j]; strings.HasPrefix(id, prefix) {
				seen[id] = true
			}
			i = j
		case isDigit(c):
			// Numbers and durations (1.5, 5m, 1e3, 0x1f) are no names.
			for i < len(expr) && (isIdentPart(expr[i]) || expr[i] == '.') {
				i++
			}
		default:
			i++
		}
	}
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// skipString returns the index just past the string literal that starts at
// expr[i]. Backslash escapes apply in quoted strings, not in raw ones.
func skipString(expr string, i int) int {
	quote := expr[i]
	for i++; i < len(expr); i++ {
		switch {
		case expr[i] == '\\' && quote != '`':
			i++
		case expr[i] == quote:
			return i + 1
		}
	}
	return i
}

func isIdentStart(c byte) bool {
	return c == '_' || c == ':' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
}

func isIdentPart(c byte) bool { return isIdentStart(c) || isDigit(c) }

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
