// Package actuator changes the broker's tuning knobs (heap, network and I/O
// threads) and proves each change took effect by reading it back from the
// running broker. Two implementations share the Actuator interface: Local,
// for the broker process that `agent local` runs, and Kubernetes, for the
// StatefulSet kafka-controller in the k3d cluster.
package actuator

import (
	"context"
	"fmt"

	"github.com/kafkatune/kafkatune/internal/knobs"
)

// Actuator applies settings to one Kafka broker.
type Actuator interface {
	// Current reads the setting in effect on the running broker: the heap
	// its JVM actually runs with and the thread counts the broker reports.
	Current(ctx context.Context) (knobs.Setting, error)
	// Apply checks s against the bounds, changes the broker to s (thread
	// counts live where possible, a restart only for the heap), waits until
	// the broker is ready, and reads the setting back. It returns a
	// *MismatchError when the broker does not run with s afterwards.
	Apply(ctx context.Context, s knobs.Setting) error
}

// MismatchError says that a change was applied but the running broker
// does not show it.
type MismatchError struct {
	Want, Got knobs.Setting
}

func (e *MismatchError) Error() string {
	return fmt.Sprintf("setting not in effect after apply: want %s, broker runs %s", e.Want, e.Got)
}
