// Package vibectl holds the prompts of `agent vibectl` as a Go
// text/template, embedded so that the agent binary carries them. The
// rendering code, its data and its golden tests live in internal/vibectl.
package vibectl

import _ "embed"

// InstructionsTemplate is the text of instructions.tmpl: the custom
// instructions, plus the "memory" and "request" templates.
//
//go:embed instructions.tmpl
var InstructionsTemplate string
