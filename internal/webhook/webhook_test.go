package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"

	"github.com/kafkatune/kafkatune/internal/knobs"
	"github.com/kafkatune/kafkatune/internal/rollback"
	"github.com/kafkatune/kafkatune/internal/rollback/rollbacktest"
	"github.com/kafkatune/kafkatune/internal/telemetry"
)

const testToken = "s3cr3t-t0ken-for-tests"

var (
	good     = knobs.Setting{HeapMB: 512, NetworkThreads: 2, IOThreads: 4}
	bad      = knobs.Setting{HeapMB: 256, NetworkThreads: 1, IOThreads: 1}
	changeAt = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	startsAt = changeAt.Add(4 * time.Minute)
)

// syncBuffer is a bytes.Buffer safe for the handler's concurrent logging.
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

// fixture is a Handler in front of a real Keeper with a stand-in
// actuator. The keeper knows a good setting and a change to a bad one at
// changeAt; its clock stands 5 minutes later.
type fixture struct {
	h    *Handler
	k    *rollback.Keeper
	act  *rollbacktest.Actuator
	reg  *prometheus.Registry
	logs *syncBuffer
}

func newFixture(t testing.TB, maxBody int64) *fixture {
	t.Helper()
	f := &fixture{act: rollbacktest.NewActuator(bad), reg: prometheus.NewRegistry(), logs: &syncBuffer{}}
	logger := slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	k, err := rollback.New(rollback.Config{
		Actuator: f.act,
		Logger:   logger,
		Now:      func() time.Time { return changeAt.Add(5 * time.Minute) },
	})
	if err != nil {
		t.Fatalf("rollback.New: %v", err)
	}
	k.Good(good, changeAt.Add(-time.Hour))
	k.Changed(bad, changeAt)
	f.k = k
	f.h, err = New(Config{
		Token: testToken, Keeper: k, MaxBodyBytes: maxBody,
		Registerer: f.reg, Logger: logger,
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return f
}

func (f *fixture) post(t testing.TB, body, auth string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, Path, strings.NewReader(body))
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, req)
	return rec
}

// message returns a notification with one alert.
func message(status, name string, starts time.Time) Message {
	return Message{
		Version: Version, Status: status, Receiver: "agent",
		GroupKey:     `{}:{alertname="` + name + `"}`,
		GroupLabels:  map[string]string{LabelAlertName: name},
		CommonLabels: map[string]string{LabelAlertName: name, "severity": "critical"},
		Alerts: []Alert{{
			Status:      status,
			Labels:      map[string]string{LabelAlertName: name, "severity": "critical"},
			Annotations: map[string]string{"summary": "P99 regressed"},
			StartsAt:    starts,
			Fingerprint: "4fe1d5ef3a0e8b1c",
		}},
	}
}

func encode(t testing.TB, m any) string {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	return string(b)
}

// edit returns the JSON of the firing regression message after change
// has modified its generic form, so that tests can drop or break fields.
func edit(t testing.TB, change func(map[string]any)) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(encode(t, message(StatusFiring,
		telemetry.AlertP99LatencyRegression, startsAt))), &m); err != nil {
		t.Fatalf("decode: %v", err)
	}
	change(m)
	return encode(t, m)
}

func firstAlert(m map[string]any) map[string]any {
	return m["alerts"].([]any)[0].(map[string]any)
}

func TestHandler(t *testing.T) {
	regression := encode(t, message(StatusFiring, telemetry.AlertP99LatencyRegression, startsAt))
	bearer := "Bearer " + testToken
	tests := []struct {
		name       string
		method     string
		auth       string
		body       string
		wantCode   int
		wantResult rollback.Action
		wantApply  int
	}{
		{name: "firing regression rolls back", auth: bearer, body: regression,
			wantCode: 200, wantResult: rollback.ActionRolledBack, wantApply: 1},
		{name: "scheme in lower case", auth: "bearer " + testToken, body: regression,
			wantCode: 200, wantResult: rollback.ActionRolledBack, wantApply: 1},
		{name: "resolved regression", auth: bearer,
			body:     encode(t, message(StatusResolved, telemetry.AlertP99LatencyRegression, startsAt)),
			wantCode: 200, wantResult: rollback.ActionIgnored},
		{name: "firing notification with the regression resolved", auth: bearer,
			body:     edit(t, func(m map[string]any) { firstAlert(m)["status"] = StatusResolved }),
			wantCode: 200, wantResult: rollback.ActionIgnored},
		{name: "other alert", auth: bearer,
			body:     encode(t, message(StatusFiring, telemetry.AlertP99AboveTarget, startsAt)),
			wantCode: 200, wantResult: rollback.ActionIgnored},
		{name: "regression long after the change", auth: bearer,
			body: encode(t, message(StatusFiring, telemetry.AlertP99LatencyRegression,
				changeAt.Add(time.Hour))),
			wantCode: 200, wantResult: rollback.ActionIgnored},
		{name: "unknown fields are fine", auth: bearer,
			body:     edit(t, func(m map[string]any) { m["somethingNew"] = 1 }),
			wantCode: 200, wantResult: rollback.ActionRolledBack, wantApply: 1},

		{name: "GET", method: http.MethodGet, auth: bearer, wantCode: 405},
		{name: "PUT", method: http.MethodPut, auth: bearer, body: regression, wantCode: 405},
		{name: "no token", body: regression, wantCode: 401},
		{name: "wrong token", auth: "Bearer wrong-secret", body: regression, wantCode: 401},
		{name: "token prefix", auth: bearer[:len(bearer)-1], body: regression, wantCode: 401},
		{name: "basic auth", auth: "Basic " + testToken, body: regression, wantCode: 401},
		{name: "bare token", auth: testToken, body: regression, wantCode: 401},

		{name: "empty body", auth: bearer, body: "", wantCode: 400},
		{name: "broken JSON", auth: bearer, body: `{"version":"4",`, wantCode: 400},
		{name: "not an object", auth: bearer, body: `[1,2]`, wantCode: 400},
		{name: "null", auth: bearer, body: `null`, wantCode: 400},
		{name: "trailing data", auth: bearer, body: regression + `{}`, wantCode: 400},
		{name: "version 3", auth: bearer,
			body: edit(t, func(m map[string]any) { m["version"] = "3" }), wantCode: 400},
		{name: "version as number", auth: bearer,
			body: edit(t, func(m map[string]any) { m["version"] = 4 }), wantCode: 400},
		{name: "no version", auth: bearer,
			body: edit(t, func(m map[string]any) { delete(m, "version") }), wantCode: 400},
		{name: "no status", auth: bearer,
			body: edit(t, func(m map[string]any) { delete(m, "status") }), wantCode: 400},
		{name: "unknown status", auth: bearer,
			body: edit(t, func(m map[string]any) { m["status"] = "pending" }), wantCode: 400},
		{name: "no alerts", auth: bearer,
			body: edit(t, func(m map[string]any) { delete(m, "alerts") }), wantCode: 400},
		{name: "empty alerts", auth: bearer,
			body: edit(t, func(m map[string]any) { m["alerts"] = []any{} }), wantCode: 400},
		{name: "alert without status", auth: bearer,
			body: edit(t, func(m map[string]any) { delete(firstAlert(m), "status") }), wantCode: 400},
		{name: "alert without alertname", auth: bearer,
			body:     edit(t, func(m map[string]any) { firstAlert(m)["labels"] = map[string]any{} }),
			wantCode: 400},
		{name: "alert without startsAt", auth: bearer,
			body: edit(t, func(m map[string]any) { delete(firstAlert(m), "startsAt") }), wantCode: 400},
		{name: "startsAt not a time", auth: bearer,
			body:     edit(t, func(m map[string]any) { firstAlert(m)["startsAt"] = "yesterday" }),
			wantCode: 400},
		{name: "alert without fingerprint", auth: bearer,
			body:     edit(t, func(m map[string]any) { delete(firstAlert(m), "fingerprint") }),
			wantCode: 400},
		{name: "labels not a map", auth: bearer,
			body: edit(t, func(m map[string]any) { firstAlert(m)["labels"] = "x" }), wantCode: 400},
		{name: "too large", auth: bearer,
			body: edit(t, func(m map[string]any) {
				firstAlert(m)["annotations"] = map[string]any{"description": strings.Repeat("x", 8192)}
			}),
			wantCode: 413},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, 4096)
			method := tc.method
			if method == "" {
				method = http.MethodPost
			}
			req := httptest.NewRequest(method, Path, strings.NewReader(tc.body))
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			rec := httptest.NewRecorder()
			f.h.ServeHTTP(rec, req)

			if rec.Code != tc.wantCode {
				t.Fatalf("status %d, want %d; body %q", rec.Code, tc.wantCode, rec.Body)
			}
			if n := len(f.act.Applied()); n != tc.wantApply {
				t.Errorf("applied %d settings, want %d", n, tc.wantApply)
			}
			if strings.Contains(f.logs.String(), testToken) {
				t.Errorf("the token appears in the log:\n%s", f.logs)
			}
			if strings.Contains(f.logs.String(), "wrong-secret") {
				t.Errorf("a presented token appears in the log:\n%s", f.logs)
			}
			if tc.wantCode >= 400 {
				checkRejected(t, rec, f.logs.String())
				return
			}
			var res Response
			if err := json.Unmarshal(rec.Body.Bytes(), &res); err != nil {
				t.Fatalf("response %q: %v", rec.Body, err)
			}
			if res.Result != tc.wantResult || len(res.Alerts) != 1 {
				t.Errorf("response %+v, want result %s for 1 alert", res, tc.wantResult)
			}
		})
	}
}

// checkRejected checks that a rejection says why in one line and is
// logged.
func checkRejected(t *testing.T, rec *httptest.ResponseRecorder, logs string) {
	t.Helper()
	body := strings.TrimSuffix(rec.Body.String(), "\n")
	if body == "" || strings.Contains(body, "\n") {
		t.Errorf("rejection body %q: want one non-empty line", rec.Body)
	}
	if !strings.Contains(logs, "webhook request rejected") {
		t.Errorf("rejection not logged:\n%s", logs)
	}
	switch rec.Code {
	case http.StatusMethodNotAllowed:
		if rec.Header().Get("Allow") != http.MethodPost {
			t.Errorf("Allow header %q", rec.Header().Get("Allow"))
		}
	case http.StatusUnauthorized:
		if !strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("WWW-Authenticate header %q", rec.Header().Get("WWW-Authenticate"))
		}
	}
}

func TestDuplicateFiringRollsBackOnce(t *testing.T) {
	f := newFixture(t, 0)
	body := encode(t, message(StatusFiring, telemetry.AlertP99LatencyRegression, startsAt))
	for i, want := range []rollback.Action{rollback.ActionRolledBack, rollback.ActionIgnored} {
		rec := f.post(t, body, "Bearer "+testToken)
		var res Response
		if err := json.Unmarshal(rec.Body.Bytes(), &res); err != nil || rec.Code != 200 {
			t.Fatalf("notification %d: %d %q (%v)", i+1, rec.Code, rec.Body, err)
		}
		if res.Result != want {
			t.Errorf("notification %d: result %s, want %s", i+1, res.Result, want)
		}
	}
	if applied := f.act.Applied(); len(applied) != 1 || applied[0] != good {
		t.Errorf("applied %v, want [%v]", applied, good)
	}
	notifications := func(result rollback.Action) float64 {
		return testutil.ToFloat64(f.h.m.notifications.WithLabelValues(StatusFiring, string(result)))
	}
	if notifications(rollback.ActionRolledBack) != 1 || notifications(rollback.ActionIgnored) != 1 {
		t.Errorf("notifications: rolled_back %v, ignored %v; want 1 and 1",
			notifications(rollback.ActionRolledBack), notifications(rollback.ActionIgnored))
	}
}

func TestResolvedDoesNothing(t *testing.T) {
	f := newFixture(t, 0)
	body := encode(t, message(StatusResolved, telemetry.AlertP99LatencyRegression, startsAt))
	rec := f.post(t, body, "Bearer "+testToken)
	if rec.Code != 200 {
		t.Fatalf("status %d: %q", rec.Code, rec.Body)
	}
	if n := len(f.act.Applied()); n != 0 {
		t.Errorf("applied %d settings", n)
	}
	if got := testutil.ToFloat64(f.h.m.notifications.WithLabelValues(StatusResolved,
		string(rollback.ActionIgnored))); got != 1 {
		t.Errorf("resolved notifications = %v, want 1", got)
	}
	// The regression firing afterwards is still acted on.
	rec = f.post(t, encode(t, message(StatusFiring, telemetry.AlertP99LatencyRegression, startsAt)),
		"Bearer "+testToken)
	if rec.Code != 200 || len(f.act.Applied()) != 1 {
		t.Errorf("firing after resolved: %d %q, applied %v", rec.Code, rec.Body, f.act.Applied())
	}
}

func TestFailedRollbackIs500(t *testing.T) {
	f := newFixture(t, 0)
	f.act.FailWith(errors.New("broker did not come back"))
	body := encode(t, message(StatusFiring, telemetry.AlertP99LatencyRegression, startsAt))
	rec := f.post(t, body, "Bearer "+testToken)
	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("status %d, want 500: %q", rec.Code, rec.Body)
	}
	var res Response
	if err := json.Unmarshal(rec.Body.Bytes(), &res); err != nil || res.Result != rollback.ActionError {
		t.Fatalf("response %q (%v), want result error", rec.Body, err)
	}
	if !strings.Contains(f.logs.String(), "broker did not come back") {
		t.Errorf("cause not logged:\n%s", f.logs)
	}

	// Alertmanager retries; now the rollback works.
	f.act.FailWith(nil)
	if rec := f.post(t, body, "Bearer "+testToken); rec.Code != 200 {
		t.Fatalf("retry: status %d: %q", rec.Code, rec.Body)
	}
	if applied := f.act.Applied(); len(applied) != 2 {
		t.Errorf("applied %v, want two attempts", applied)
	}
}

func TestRollbackOutlivesTheRequest(t *testing.T) {
	f := newFixture(t, 0)
	entered, release := f.act.Hold()
	defer release()

	ctx, cancel := context.WithCancel(t.Context())
	body := encode(t, message(StatusFiring, telemetry.AlertP99LatencyRegression, startsAt))
	req := httptest.NewRequestWithContext(ctx, http.MethodPost, Path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+testToken)
	rec := httptest.NewRecorder()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f.h.ServeHTTP(rec, req)
	}()
	<-entered
	cancel() // Alertmanager gives up waiting
	release()
	<-done
	if rec.Code != 200 {
		t.Fatalf("status %d: %q", rec.Code, rec.Body)
	}
	if cur, _ := f.act.Current(t.Context()); cur != good {
		t.Errorf("broker runs %v after the cancelled request, want %v", cur, good)
	}
}

func TestConfig(t *testing.T) {
	k, err := rollback.New(rollback.Config{Actuator: rollbacktest.NewActuator(good)})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"no token", Config{Keeper: k}},
		{"token with a space", Config{Token: "a b", Keeper: k}},
		{"no keeper", Config{Token: testToken}},
		{"negative body limit", Config{Token: testToken, Keeper: k, MaxBodyBytes: -1}},
		{"negative timeout", Config{Token: testToken, Keeper: k, Timeout: -time.Second}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cfg)
			if err == nil {
				t.Fatal("accepted")
			}
			if strings.Contains(err.Error(), testToken) {
				t.Errorf("error %q shows the token", err)
			}
		})
	}
}

func TestReadToken(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	got, err := ReadToken(write("ok", "  "+testToken+"\n"))
	if err != nil || got != testToken {
		t.Errorf("ReadToken = %q, %v; want the trimmed token", got, err)
	}
	for name, content := range map[string]string{"empty": " \n", "inner space": "ab cd\n"} {
		if _, err := ReadToken(write(name, content)); err == nil {
			t.Errorf("%s token file accepted", name)
		}
	}
	if _, err := ReadToken(filepath.Join(dir, "missing")); err == nil {
		t.Error("missing token file accepted")
	}
}

func TestMetrics(t *testing.T) {
	f := newFixture(t, 0)
	mfs, err := f.reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	problems, err := promlint.NewWithMetricFamilies(mfs).Lint()
	if err != nil {
		t.Fatalf("lint: %v", err)
	}
	for _, p := range problems {
		t.Errorf("metric %s: %s", p.Metric, p.Text)
	}
	if n := testutil.CollectAndCount(f.reg, MetricNotifications); n != 6 {
		t.Errorf("%s: %d series at start, want 6", MetricNotifications, n)
	}
	if n := testutil.CollectAndCount(f.reg, MetricRejected); n != 4 {
		t.Errorf("%s: %d series at start, want 4", MetricRejected, n)
	}

	f.post(t, "{", "Bearer "+testToken)
	f.post(t, "{", "")
	for reason, want := range map[string]float64{rejectInvalid: 1, rejectUnauthorized: 1, rejectMethod: 0} {
		if got := testutil.ToFloat64(f.h.m.rejected.WithLabelValues(reason)); got != want {
			t.Errorf("rejected{reason=%s} = %v, want %v", reason, got, want)
		}
	}
}
