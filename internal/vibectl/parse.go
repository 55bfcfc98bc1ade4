package vibectl

import (
	"bufio"
	"bytes"
	"encoding/json"
	"strings"
)

// Markers in vibectl 0.11.6's output (VIBECTL_LOG_LEVEL=INFO, NO_COLOR).
const (
	markerError   = "Error:"
	markerKubectl = "[INFO] Running kubectl command:"
	markerPlan    = "[INFO] Raw LLM response text:"
)

// Output is what the agent reads from one vibectl step.
type Output struct {
	// Errors are the "Error:" lines vibectl printed on stderr. vibectl can
	// exit 0 after an error, so any of them fails the step.
	Errors []string
	// Kubectl are the kubectl command lines vibectl ran.
	Kubectl []string
	// Plans are the planner replies, as JSON text.
	Plans []string
	// Actions are the action types of the plans that decoded (COMMAND,
	// DONE, WAIT...).
	Actions []string
}

// ParseOutput reads vibectl's stderr. Rich wraps long lines at COLUMNS, so
// an error message may continue on the next lines; only its first line is
// kept.
func ParseOutput(stderr []byte) Output {
	var out Output
	var plan []string
	inPlan := false
	flushPlan := func() {
		if inPlan {
			out.addPlan(strings.Join(plan, "\n"))
		}
		inPlan, plan = false, nil
	}
	sc := bufio.NewScanner(bytes.NewReader(stderr))
	sc.Buffer(make([]byte, 64<<10), maxCapture)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if inPlan && !isLogStart(line) {
			plan = append(plan, line)
			continue
		}
		flushPlan()
		switch {
		case strings.HasPrefix(line, markerError):
			out.Errors = append(out.Errors, strings.TrimSpace(line))
		case strings.HasPrefix(line, markerKubectl):
			out.Kubectl = append(out.Kubectl, strings.TrimSpace(strings.TrimPrefix(line, markerKubectl)))
		case strings.HasPrefix(line, markerPlan):
			inPlan = true
			if rest := strings.TrimSpace(strings.TrimPrefix(line, markerPlan)); rest != "" {
				plan = append(plan, rest)
			}
		}
	}
	flushPlan()
	return out
}

// isLogStart reports whether line starts a new message of vibectl's.
func isLogStart(line string) bool {
	for _, p := range []string{"[INFO]", "[WARNING]", "[DEBUG]", "Error:", "Warning:", "Note:"} {
		if strings.HasPrefix(line, p) {
			return true
		}
	}
	return false
}

func (o *Output) addPlan(text string) {
	text = strings.TrimSpace(text)
	if text == "" {
		return
	}
	o.Plans = append(o.Plans, text)
	var p struct {
		Action struct {
			Type string `json:"action_type"`
		} `json:"action"`
	}
	if json.Unmarshal([]byte(text), &p) == nil && p.Action.Type != "" {
		o.Actions = append(o.Actions, p.Action.Type)
	}
}
