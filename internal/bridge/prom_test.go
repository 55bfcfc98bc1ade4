package bridge

import (
	"bytes"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kafkatune/kafkatune/internal/telemetry"
)

// fakeProm speaks the instant-query part of the Prometheus HTTP API. It
// answers each query with the "data" JSON set for its name; a query without
// an answer gets an empty vector. It is used for the answer shapes and
// failures a real Prometheus cannot be made to produce on demand.
type fakeProm struct {
	t      *testing.T
	mu     sync.Mutex
	byExpr map[string]string // expr -> query name
	data   map[string]string // query name -> JSON of "data"
	srv    *httptest.Server
	addr   string
}

func newFakeProm(t *testing.T, window time.Duration) *fakeProm {
	t.Helper()
	p := &fakeProm{t: t, byExpr: map[string]string{}, data: map[string]string{}}
	for _, q := range telemetry.BridgeQueries(window) {
		p.byExpr[q.Expr] = q.Name
	}
	p.start("127.0.0.1:0")
	t.Cleanup(p.stop)
	return p
}

// start serves on addr; a stopped fakeProm restarts on its old address.
func (p *fakeProm) start(addr string) {
	p.t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		p.t.Fatalf("listen: %v", err)
	}
	p.srv = httptest.NewUnstartedServer(http.HandlerFunc(p.serve))
	p.srv.Listener = ln
	p.srv.Start()
	p.addr = ln.Addr().String()
}

// stop makes Prometheus go away: connections are refused.
func (p *fakeProm) stop() {
	if p.srv != nil {
		p.srv.Close()
		p.srv = nil
	}
}

func (p *fakeProm) restart() { p.start(p.addr) }

func (p *fakeProm) url() string { return "http://" + p.addr }

func (p *fakeProm) set(name, dataJSON string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.data[name] = dataJSON
}

func (p *fakeProm) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/api/v1/query" {
		http.NotFound(w, r)
		return
	}
	name, ok := p.byExpr[r.FormValue("query")]
	if !ok {
		writeAPI(w, http.StatusBadRequest, `{"status":"error","errorType":"bad_data","error":"unknown query"}`)
		return
	}
	p.mu.Lock()
	d, ok := p.data[name]
	p.mu.Unlock()
	if !ok {
		d = emptyVector
	}
	switch d {
	case httpUnavailable:
		writeAPI(w, http.StatusServiceUnavailable, "Service Unavailable")
		return
	case executionError:
		writeAPI(w, http.StatusUnprocessableEntity,
			`{"status":"error","errorType":"execution","error":"query processing would load too many samples"}`)
		return
	}
	writeAPI(w, http.StatusOK, `{"status":"success","data":`+d+`}`)
}

func writeAPI(w http.ResponseWriter, code int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	fmt.Fprint(w, body)
}

// Canned "data" objects of the Prometheus API.
const (
	emptyVector     = `{"resultType":"vector","result":[]}`
	httpUnavailable = "<503>"
	executionError  = "<422>"
)

func vector(v string) string {
	return `{"resultType":"vector","result":[{"metric":{},"value":[1700000000.5,"` + v + `"]}]}`
}

// answerAll sets every query to value v (a Prometheus number string).
func (p *fakeProm) answerAll(v string) {
	for _, name := range p.byExpr {
		p.set(name, vector(v))
	}
}

// testClock is a settable clock safe for concurrent readers.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newTestClock() *testClock {
	return &testClock{t: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// syncBuffer is a log sink safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testBridge is a Bridge wired to fake Prometheus, a temp status dir, a
// test clock and a captured log.
type testBridge struct {
	*Bridge
	prom  *fakeProm
	reg   *prometheus.Registry
	clock *testClock
	logs  *syncBuffer
	cfg   Config
}

func newTestBridge(t *testing.T, opts ...Option) *testBridge {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Interval = time.Second
	cfg.Window = 10 * time.Second
	cfg.QueryTimeout = time.Second
	cfg.StatusDir = t.TempDir()
	cfg.MetricsAddr = "127.0.0.1:0"
	tb := &testBridge{
		prom:  newFakeProm(t, cfg.Window),
		reg:   prometheus.NewPedanticRegistry(),
		clock: newTestClock(),
		logs:  &syncBuffer{},
	}
	cfg.PrometheusURL = tb.prom.url()
	tb.cfg = cfg
	log := slog.New(slog.NewTextHandler(tb.logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	opts = append([]Option{WithClock(tb.clock.Now)}, opts...)
	b, err := New(cfg, log, tb.reg, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	tb.Bridge = b
	return tb
}
