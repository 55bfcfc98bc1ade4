// Package rollbacktest provides a stand-in for actuator.Actuator that tests
// of the rollback path use instead of a broker: it remembers what it was
// asked to apply, can fail on demand and can hold an Apply until the test
// releases it.
package rollbacktest

import (
	"context"
	"errors"
	"sync"

	"github.com/kafkatune/kafkatune/internal/actuator"
	"github.com/kafkatune/kafkatune/internal/knobs"
)

var _ actuator.Actuator = (*Actuator)(nil)

// Actuator is an in-memory actuator.Actuator. It is safe for concurrent
// use.
type Actuator struct {
	mu      sync.Mutex
	current knobs.Setting
	applied []knobs.Setting
	err     error
	hold    chan struct{}
	entered chan knobs.Setting
}

// NewActuator returns an actuator whose broker runs start.
func NewActuator(start knobs.Setting) *Actuator {
	return &Actuator{current: start}
}

// Current returns the setting last applied (or the start).
func (a *Actuator) Current(ctx context.Context) (knobs.Setting, error) {
	if err := ctx.Err(); err != nil {
		return knobs.Setting{}, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.current, nil
}

// Apply records s, waits while the actuator is held, and then fails with
// the error set by FailWith or makes s current. A zero setting is
// refused, as the real actuators refuse values out of bounds.
func (a *Actuator) Apply(ctx context.Context, s knobs.Setting) error {
	a.mu.Lock()
	a.applied = append(a.applied, s)
	hold, entered := a.hold, a.entered
	a.mu.Unlock()

	if hold != nil {
		entered <- s
		select {
		case <-hold:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.err != nil {
		return a.err
	}
	if s == (knobs.Setting{}) {
		return errors.New("rollbacktest: zero setting")
	}
	a.current = s
	return nil
}

// Applied returns every setting Apply was called with, in order.
func (a *Actuator) Applied() []knobs.Setting {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]knobs.Setting(nil), a.applied...)
}

// FailWith makes every later Apply return err (nil: succeed again).
func (a *Actuator) FailWith(err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.err = err
}

// Hold makes every later Apply wait until release is called (or its
// context ends). Each waiting Apply sends its setting on entered first,
// so a test knows the call is in progress; entered is buffered for 16.
func (a *Actuator) Hold() (entered <-chan knobs.Setting, release func()) {
	a.mu.Lock()
	defer a.mu.Unlock()
	hold := make(chan struct{})
	ch := make(chan knobs.Setting, 16)
	a.hold, a.entered = hold, ch
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			a.mu.Lock()
			a.hold, a.entered = nil, nil
			a.mu.Unlock()
			close(hold)
		})
	}
}
