package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"

	"github.com/kafkatune/kafkatune/internal/telemetry"
)

// Seeds of the PromQL answer fuzz targets: the result part of the "data"
// object of a query answer.
var answerSeeds = []struct {
	kind   uint8 // index into answerKinds
	result string
}{
	{0, `[1700000000.5,"0.012"]`},
	{0, `[1700000000.5,"NaN"]`},
	{0, `[1700000000.5,"+Inf"]`},
	{1, `[]`},
	{1, `[{"metric":{},"value":[1700000000.5,"0.012"]}]`},
	{1, `[{"metric":{},"value":[1700000000.5,"NaN"]}]`},
	{1, `[{"metric":{},"value":[1700000000.5,"-Inf"]}]`},
	{1, `[{"metric":{"a":"1"},"value":[1,"1"]},{"metric":{"a":"2"},"value":[1,"2"]}]`},
	{1, `[{"metric":{},"histogram":[1700000000,{"count":"1","sum":"2","buckets":[[0,"0","1","1"]]}]}]`},
	{2, `[{"metric":{},"values":[[1700000000,"1"]]}]`},
	{3, `[1700000000,"hello"]`},
}

var answerKinds = []string{"scalar", "vector", "matrix", "string"}

// FuzzSampleValue decodes arbitrary PromQL results the way the client
// library does and turns them into the bridge's one number: it must never
// panic, and it follows sampleValue's contract exactly. NaN and infinities
// are "no data" (nil), an empty vector is no data, several series and
// anything but a scalar or an instant vector of floats are errors.
func FuzzSampleValue(f *testing.F) {
	for _, s := range answerSeeds {
		f.Add(s.kind, s.result)
	}
	f.Fuzz(func(t *testing.T, kind uint8, result string) {
		v, ok := decodeResult(answerKinds[int(kind)%len(answerKinds)], result)
		if !ok {
			return // the client library refuses it before the bridge sees it
		}
		got, err := sampleValue(v)
		want, wantErr := expectedValue(v)
		if !errors.Is(err, wantErr) || (err == nil) != (wantErr == nil) {
			t.Fatalf("sampleValue(%v) error = %v, want %v", v, err, wantErr)
		}
		if !sameValue(got, want) {
			t.Fatalf("sampleValue(%v) = %v, want %v", v, deref(got), deref(want))
		}
	})
}

// decodeResult unmarshals result as the given result type.
func decodeResult(kind, result string) (model.Value, bool) {
	var v model.Value
	switch kind {
	case "scalar":
		v = &model.Scalar{}
	case "vector":
		v = &model.Vector{}
	case "matrix":
		v = &model.Matrix{}
	default:
		v = &model.String{}
	}
	if json.Unmarshal([]byte(result), v) != nil {
		return nil, false
	}
	switch x := v.(type) {
	case *model.Vector:
		return *x, true
	case *model.Matrix:
		return *x, true
	}
	return v, true
}

// expectedValue is sampleValue's contract, written out independently.
func expectedValue(v model.Value) (*float64, error) {
	finite := func(f model.SampleValue) *float64 {
		x := float64(f)
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil
		}
		return &x
	}
	switch x := v.(type) {
	case *model.Scalar:
		return finite(x.Value), nil
	case model.Vector:
		switch {
		case len(x) == 0:
			return nil, nil
		case len(x) > 1:
			return nil, ErrSeveralSeries
		case x[0].Histogram != nil:
			return nil, ErrUnexpectedType
		}
		return finite(x[0].Value), nil
	}
	return nil, ErrUnexpectedType
}

// FuzzQueryAnswer sends arbitrary "data" objects through a server speaking
// the Prometheus HTTP API and the real client library into the bridge's
// query: it must never panic; it gives either a finite number, no data
// (nil), or an error that names the query.
func FuzzQueryAnswer(f *testing.F) {
	for _, s := range answerSeeds {
		f.Add(`{"resultType":"` + answerKinds[s.kind] + `","result":` + s.result + `}`)
	}
	f.Add(`{"resultType":"vector"}`)
	f.Add(`{"resultType":"vector","result":null}`)
	f.Add(`{"resultType":"unknown","result":[]}`)
	f.Add(`null`)
	f.Add(`{"resultType":"scalar","result":[1700000000,"1e999"]}`)

	srv := &answerServer{}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	cfg := DefaultConfig()
	cfg.PrometheusURL = ts.URL
	cfg.QueryTimeout = 2 * time.Second
	b, err := New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), prometheus.NewRegistry())
	if err != nil {
		f.Fatal(err)
	}
	var q telemetry.Query
	for _, bq := range b.queries {
		if bq.Name == telemetry.QueryP99 {
			q = bq
		}
	}

	f.Fuzz(func(t *testing.T, data string) {
		srv.set(`{"status":"success","data":` + data + `}`)
		v, err := b.query(context.Background(), q)
		if err != nil {
			if !strings.Contains(err.Error(), q.Name) {
				t.Fatalf("error %q does not name the query %s", err, q.Name)
			}
			return
		}
		if v != nil && (math.IsNaN(*v) || math.IsInf(*v, 0)) {
			t.Fatalf("value %v for %s: want a finite number or no data", *v, data)
		}
	})
}

// answerServer answers every request with the body last set.
type answerServer struct {
	mu   sync.Mutex
	body string
}

func (s *answerServer) set(body string) {
	s.mu.Lock()
	s.body = body
	s.mu.Unlock()
}

func (s *answerServer) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	body := s.body
	s.mu.Unlock()
	writeAPI(w, http.StatusOK, body)
}

// FuzzParseFlags feeds arbitrary flags and environment values to the
// exporter's command line: it must never panic, and it either accepts a
// configuration that validates or rejects the input with one line.
func FuzzParseFlags(f *testing.F) {
	f.Add("-interval", "5s", "QUERY_WINDOW", "1m")
	f.Add("-window", "1m0.5s", "BRIDGE_INTERVAL", "0")
	f.Add("-prometheus-url", "http://u:p@[::1]:9090/x?y#z", "STALE_AFTER", "-1ns")
	f.Add("-target-latency-ms", "1e309", "IN_CLUSTER", "TRUE")
	f.Add("-in-cluster", "", "KUBERNETES_SERVICE_HOST", "10.0.0.1")
	f.Add("-configmap-name", strings.Repeat("a", 300), "CONFIGMAP_NAMESPACE", "-")
	f.Add("-metrics-addr", ":65535", "LOG_LEVEL", "DEBUG+1")
	f.Add("-h", "", "KUBECONFIG", "/k")
	f.Fuzz(func(t *testing.T, name, value, envName, envValue string) {
		lookup := envOf(map[string]string{envName: envValue})
		c, err := ParseFlags([]string{name, value}, lookup, io.Discard)
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		if err != nil {
			var ue *UsageError
			if !errors.As(err, &ue) {
				t.Fatalf("error %v (%T) is not a *UsageError", err, err)
			}
			if strings.ContainsAny(err.Error(), "\r\n") {
				t.Fatalf("message spans lines: %q", err)
			}
			return
		}
		if verr := c.Validate(); verr != nil {
			t.Fatalf("accepted %q with env %s=%q, but it does not validate: %v",
				[]string{name, value}, envName, envValue, verr)
		}
	})
}
