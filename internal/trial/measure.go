package trial

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/prometheus/common/model"

	"github.com/kafkatune/kafkatune/internal/telemetry"
	"github.com/kafkatune/kafkatune/internal/tuner"
)

// measure asks Prometheus for the window ending at end. It fills
// Measurement.Err when throughput or P99 cannot be had as finite numbers.
func (e *Evaluator) measure(ctx context.Context, end time.Time) tuner.Measurement {
	var m tuner.Measurement
	thr, errT := e.value(ctx, e.queries.Throughput, end)
	p99, errP := e.value(ctx, e.queries.P99, end)
	m.ThroughputMsgs, m.P99Ms = thr, p99*1000
	if err := errors.Join(errT, errP); err != nil {
		m.Err = fmt.Errorf("measure the %s window ending %s: %w",
			e.cfg.Window, end.UTC().Format(time.RFC3339), err)
		return m
	}
	m.Samples = e.samples(ctx, end)
	return m
}

// samples returns how many scraped points backed the answer: the fewer of
// the counter's and the histogram's, since both were needed. It is
// informational, so a failure is logged and gives 0.
func (e *Evaluator) samples(ctx context.Context, end time.Time) int {
	n := -1
	for _, q := range []telemetry.Query{e.queries.AckedSamples, e.queries.LatencySamples} {
		v, err := e.value(ctx, q, end)
		if err != nil {
			e.logger.Warn("sample count query failed", "query", q.Name, "err", err)
			return 0
		}
		if n < 0 || int(v) < n {
			n = int(v)
		}
	}
	return n
}

// value runs q at time at and returns its one finite value.
func (e *Evaluator) value(ctx context.Context, q telemetry.Query, at time.Time) (float64, error) {
	ctx, cancel := context.WithTimeout(ctx, e.cfg.QueryTimeout)
	defer cancel()
	v, warnings, _, err := e.prom.Query(ctx, q.Expr, at)
	if err != nil {
		return 0, fmt.Errorf("%s: query %s: %w", q.Name, q.Expr, err)
	}
	for _, w := range warnings {
		e.logger.Warn("prometheus warning", "query", q.Name, "warning", w)
	}
	f, err := single(v)
	if err != nil {
		return 0, fmt.Errorf("%s: query %s: %w", q.Name, q.Expr, err)
	}
	return f, nil
}

// single turns the answer to an instant query into one finite number. An
// empty vector and NaN wrap ErrNoData; several series, an infinity or
// another type are errors of their own.
func single(v model.Value) (float64, error) {
	var f float64
	switch v := v.(type) {
	case *model.Scalar:
		if v == nil {
			return 0, errors.New("empty scalar answer")
		}
		f = float64(v.Value)
	case model.Vector:
		switch {
		case len(v) == 0:
			return 0, fmt.Errorf("%w: no series in the window (are the load generators scraped?)", ErrNoData)
		case len(v) > 1:
			return 0, fmt.Errorf("%d series where one was expected", len(v))
		case v[0].Histogram != nil:
			return 0, errors.New("native histogram sample where a float was expected")
		}
		f = float64(v[0].Value)
	case nil:
		return 0, errors.New("no answer")
	default:
		return 0, fmt.Errorf("%s answer where a vector was expected", v.Type())
	}
	if math.IsNaN(f) {
		return 0, fmt.Errorf("%w: NaN (no observations in the window)", ErrNoData)
	}
	if math.IsInf(f, 0) {
		return 0, fmt.Errorf("value %v is not finite", f)
	}
	return f, nil
}
