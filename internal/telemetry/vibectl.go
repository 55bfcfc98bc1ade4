package telemetry

import "github.com/prometheus/client_golang/prometheus"

// SubsystemVibectl is the subsystem of `agent vibectl` (served on the
// agent's :9104 with the tuner's metrics).
const SubsystemVibectl = "vibectl"

// Metrics of the vibectl loop.
const (
	// VibectlSteps counts vibectl steps, by result (VibectlResults).
	VibectlSteps = "kafkatune_vibectl_steps_total"
	// VibectlStepDuration is the wall time of each vibectl step, in
	// seconds.
	VibectlStepDuration = "kafkatune_vibectl_step_duration_seconds"
	// VibectlGuardReverts counts knob values (and other StatefulSet
	// changes) the guard reverted, by knob (VibectlGuardKnobs).
	VibectlGuardReverts = "kafkatune_vibectl_guard_reverts_total"
	// VibectlLastStep is the Unix time at which the last step ended.
	VibectlLastStep = "kafkatune_vibectl_last_step_timestamp_seconds"
	// VibectlKubectlCalls counts the kubectl commands vibectl issued
	// through the shim, by result ("allowed" or "refused").
	VibectlKubectlCalls = "kafkatune_vibectl_kubectl_calls_total"
)

// LabelKnob names the broker knob a series is about.
const LabelKnob = "knob"

// Results of a vibectl step: ok; failed (non-zero exit, or an "Error:"
// line on stderr with exit 0, which vibectl does); timeout (killed after
// the step timeout).
var VibectlResults = []string{"ok", "failed", "timeout"}

// Results of a kubectl call through the shim.
var VibectlKubectlResults = []string{"allowed", "refused"}

// VibectlGuardKnobs are the values of LabelKnob on VibectlGuardReverts:
// the three knobs (as named in internal/knobs) and "other" for any other
// change to the StatefulSet.
var VibectlGuardKnobs = []string{"heap", "num.network.threads", "num.io.threads", "other"}

// VibectlStepBuckets suits steps that take from a second (a plan and one
// read) to several minutes (a roll waited on), up to about 17 minutes.
func VibectlStepBuckets() []float64 {
	return prometheus.ExponentialBuckets(1, 2, 11)
}
