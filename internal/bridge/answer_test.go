package bridge

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/prometheus/common/model"

	"github.com/kafkatune/kafkatune/internal/telemetry"
)

// TestQueryAnswers sends each answer shape through a server speaking the
// Prometheus HTTP API and the real client library, into the bridge's query.
func TestQueryAnswers(t *testing.T) {
	tests := []struct {
		name    string
		data    string
		want    *float64
		wantErr error // nil: no error; errAny: some error
	}{
		{"one sample", vector("0.0123"), ptr(0.0123), nil},
		{"zero", vector("0"), ptr(0), nil},
		{"NaN is no data", vector("NaN"), nil, nil},
		{"+Inf is no data", vector("+Inf"), nil, nil},
		{"-Inf is no data", vector("-Inf"), nil, nil},
		{"empty vector is no data", emptyVector, nil, nil},
		{"several series", `{"resultType":"vector","result":[` +
			`{"metric":{"a":"1"},"value":[1700000000,"1"]},` +
			`{"metric":{"a":"2"},"value":[1700000000,"2"]}]}`, nil, ErrSeveralSeries},
		{"scalar", `{"resultType":"scalar","result":[1700000000,"42.5"]}`, ptr(42.5), nil},
		{"scalar NaN", `{"resultType":"scalar","result":[1700000000,"NaN"]}`, nil, nil},
		{"matrix", `{"resultType":"matrix","result":[{"metric":{},"values":[[1700000000,"1"]]}]}`,
			nil, ErrUnexpectedType},
		// client_golang itself refuses string answers; the query fails
		// all the same.
		{"string", `{"resultType":"string","result":[1700000000,"hello"]}`, nil, errAny},
		{"http 503", httpUnavailable, nil, errAny},
		{"execution error", executionError, nil, errAny},
	}
	tb := newTestBridge(t)
	q := telemetry.Query{}
	for _, bq := range tb.queries {
		if bq.Name == telemetry.QueryP99 {
			q = bq
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tb.prom.set(q.Name, tt.data)
			got, err := tb.query(context.Background(), q)
			switch {
			case tt.wantErr == nil && err != nil:
				t.Fatalf("error = %v, want none", err)
			case tt.wantErr != nil && err == nil:
				t.Fatalf("value = %v, want an error", deref(got))
			case tt.wantErr != nil && tt.wantErr != errAny && !errors.Is(err, tt.wantErr):
				t.Fatalf("error = %v, want %v", err, tt.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), q.Name) {
				t.Errorf("error %q does not name the query %s", err, q.Name)
			}
			if !sameValue(got, tt.want) {
				t.Errorf("value = %v, want %v", deref(got), deref(tt.want))
			}
		})
	}
}

func TestSampleValueUnexpectedTypes(t *testing.T) {
	tests := []struct {
		name string
		v    model.Value
	}{
		{"nil", nil},
		{"nil scalar", (*model.Scalar)(nil)},
		{"string", &model.String{Value: "hello"}},
		{"matrix", model.Matrix{}},
		{"native histogram", model.Vector{{Histogram: &model.SampleHistogram{Count: 1}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := sampleValue(tt.v); !errors.Is(err, ErrUnexpectedType) {
				t.Errorf("error = %v, want ErrUnexpectedType", err)
			}
		})
	}
}

var errAny = errors.New("any error")

func ptr(v float64) *float64 { return &v }

func deref(p *float64) any {
	if p == nil {
		return "<nil>"
	}
	return *p
}

func sameValue(a, b *float64) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}
