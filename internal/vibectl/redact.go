package vibectl

import (
	"log/slog"
	"regexp"
	"strings"
)

// Redacted replaces every secret in logs and files.
const Redacted = "[REDACTED]"

// Secret is a string that never prints: fmt and slog show Redacted.
type Secret string

// String hides the secret.
func (Secret) String() string { return Redacted }

// GoString hides the secret from %#v.
func (Secret) GoString() string { return Redacted }

// LogValue hides the secret from slog.
func (Secret) LogValue() slog.Value { return slog.StringValue(Redacted) }

// Reveal returns the secret itself, for the one place that needs it: the
// environment of the vibectl process.
func (s Secret) Reveal() string { return string(s) }

// apiKeyPattern matches API keys of the usual providers even when the
// agent does not know them (a key read by vibectl from elsewhere).
var apiKeyPattern = regexp.MustCompile(`sk-(?:ant-)?[A-Za-z0-9_\-]{16,}`)

// Redactor removes known secrets and anything shaped like an API key.
type Redactor struct {
	secrets []string
}

// NewRedactor returns a Redactor for the given secrets; empty and very
// short ones are ignored (they would blank out ordinary text).
func NewRedactor(secrets ...string) *Redactor {
	r := &Redactor{}
	for _, s := range secrets {
		if len(strings.TrimSpace(s)) >= 8 {
			r.secrets = append(r.secrets, s)
		}
	}
	return r
}

// String returns s with every secret replaced by Redacted.
func (r *Redactor) String(s string) string {
	for _, sec := range r.secrets {
		s = strings.ReplaceAll(s, sec, Redacted)
	}
	return apiKeyPattern.ReplaceAllString(s, Redacted)
}

// secretEnv are the variables whose values are secrets wherever they
// appear.
var secretEnv = []string{
	"VIBECTL_ANTHROPIC_API_KEY", "VIBECTL_OPENAI_API_KEY",
	"ANTHROPIC_API_KEY", "OPENAI_API_KEY",
}

func secretsFromEnv(getenv func(string) string) []string {
	var out []string
	for _, k := range secretEnv {
		if v := getenv(k); v != "" {
			out = append(out, v)
		}
	}
	return out
}
