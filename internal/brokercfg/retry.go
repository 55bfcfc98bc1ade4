package brokercfg

import (
	"context"
	"errors"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

// retryDelays are the waits between attempts of an Admin API call that
// failed for a transient reason: right after a broker restart the client's
// old connection is dead and the first request on it fails with a
// transport error while librdkafka reconnects.
var retryDelays = []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second}

// transient reports whether err is worth another attempt.
func transient(err error) bool {
	var ke kafka.Error
	if !errors.As(err, &ke) {
		return false
	}
	switch ke.Code() {
	case kafka.ErrTransport, kafka.ErrTimedOut, kafka.ErrAllBrokersDown,
		kafka.ErrRequestTimedOut, kafka.ErrNetworkException, kafka.ErrNotController:
		return true
	}
	return ke.IsRetriable()
}

// withRetry calls f until it succeeds, fails for a lasting reason, the
// attempts are used up or ctx ends. The calls it wraps are idempotent
// (describe, and set to an absolute value).
func withRetry[T any](ctx context.Context, f func(context.Context) (T, error)) (T, error) {
	v, err := f(ctx)
	for _, d := range retryDelays {
		if err == nil || !transient(err) {
			return v, err
		}
		select {
		case <-ctx.Done():
			return v, errors.Join(err, ctx.Err())
		case <-time.After(d):
		}
		v, err = f(ctx)
	}
	return v, err
}
