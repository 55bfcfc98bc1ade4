package bridge

import (
	"errors"
	"fmt"

	"github.com/prometheus/common/model"

	"github.com/kafkatune/kafkatune/internal/status"
)

// Errors of answers the bridge cannot turn into one number.
var (
	// ErrSeveralSeries is an instant vector with more than one series: the
	// bridge's queries aggregate with sum, so this means a query or a
	// label changed and the answer cannot be trusted.
	ErrSeveralSeries = errors.New("several series where one was expected")
	// ErrUnexpectedType is an answer that is neither a scalar nor an
	// instant vector of floats.
	ErrUnexpectedType = errors.New("unexpected answer type")
)

// sampleValue turns the answer to an instant query into one number, or nil
// when Prometheus has no data: an empty vector, or NaN or an infinity (what
// histogram_quantile returns over a window without traffic).
func sampleValue(v model.Value) (*float64, error) {
	switch v := v.(type) {
	case *model.Scalar:
		if v == nil {
			return nil, fmt.Errorf("%w: empty scalar", ErrUnexpectedType)
		}
		return status.Float(float64(v.Value)), nil
	case model.Vector:
		switch len(v) {
		case 0:
			return nil, nil
		case 1:
			if v[0].Histogram != nil {
				return nil, fmt.Errorf("%w: native histogram sample", ErrUnexpectedType)
			}
			return status.Float(float64(v[0].Value)), nil
		default:
			return nil, fmt.Errorf("%w: got %d", ErrSeveralSeries, len(v))
		}
	case nil:
		return nil, fmt.Errorf("%w: no result", ErrUnexpectedType)
	default:
		return nil, fmt.Errorf("%w: %s", ErrUnexpectedType, v.Type())
	}
}
