package tuner

import (
	"context"

	"github.com/kafkatune/kafkatune/internal/knobs"
)

// Evaluator runs one trial: it applies the setting to the broker, waits
// until the change is in effect and the broker is ready, warms up, measures
// a window and returns what it measured. It sets Measurement.Verified when
// it read the setting back from the running broker. An error return is a
// failed trial (recorded, scored 0); a cancelled ctx ends the run.
type Evaluator interface {
	Evaluate(ctx context.Context, s knobs.Setting) (Measurement, error)
}

// EvaluatorFunc adapts a function to Evaluator.
type EvaluatorFunc func(ctx context.Context, s knobs.Setting) (Measurement, error)

// Evaluate calls f.
func (f EvaluatorFunc) Evaluate(ctx context.Context, s knobs.Setting) (Measurement, error) {
	return f(ctx, s)
}
