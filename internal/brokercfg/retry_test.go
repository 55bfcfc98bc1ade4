package brokercfg

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

func TestWithRetry(t *testing.T) {
	orig := retryDelays
	retryDelays = []time.Duration{0, 0, 0}
	t.Cleanup(func() { retryDelays = orig })

	transport := kafka.NewError(kafka.ErrTransport, "broker transport failure", false)
	lasting := kafka.NewError(kafka.ErrInvalidConfig, "invalid config", false)
	tests := []struct {
		name      string
		errs      []error
		wantCalls int
		wantErr   error
	}{
		{"ok at once", []error{nil}, 1, nil},
		{"transport then ok", []error{transport, nil}, 2, nil},
		{"lasting error not retried", []error{lasting}, 1, lasting},
		{"attempts used up", []error{transport, transport, transport, transport}, 4, transport},
		{"plain error not retried", []error{errors.New("x")}, 1, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			_, err := withRetry(context.Background(), func(context.Context) (int, error) {
				e := tt.errs[min(calls, len(tt.errs)-1)]
				calls++
				return calls, e
			})
			if calls != tt.wantCalls {
				t.Errorf("%d calls, want %d", calls, tt.wantCalls)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) && err.Error() != tt.wantErr.Error() {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
			if tt.errs[len(tt.errs)-1] == nil && err != nil {
				t.Errorf("err = %v, want nil", err)
			}
		})
	}
}
