package webhook

import (
	"net/http"
	"testing"
	"time"

	"github.com/kafkatune/kafkatune/internal/telemetry"
)

// FuzzWebhookBody sends arbitrary bodies, with the right token, to a
// handler in front of a real keeper and a stand-in actuator. Whatever the
// body, the handler must not panic and must answer 2xx or 4xx.
func FuzzWebhookBody(f *testing.F) {
	for _, m := range []Message{
		message(StatusFiring, telemetry.AlertP99LatencyRegression, startsAt),
		message(StatusResolved, telemetry.AlertP99LatencyRegression, startsAt),
		message(StatusFiring, telemetry.AlertP99AboveTarget, startsAt),
		message(StatusFiring, telemetry.AlertP99LatencyRegression, startsAt.Add(-time.Hour)),
	} {
		f.Add([]byte(encode(f, m)))
	}
	for _, s := range []string{
		"", "{", "null", "[]", `{"version":"4"}`, `{"version":"4","status":"firing","alerts":[{}]}`,
		`{"version":"4","status":"firing","alerts":[{"status":"firing","labels":{"alertname":"` +
			telemetry.AlertP99LatencyRegression + `"},"startsAt":"0001-01-01T00:00:00Z","fingerprint":"x"}]}`,
		`{"version":"4","status":"firing","alerts":null}{}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		fx := newFixture(t, 64<<10)
		rec := fx.post(t, string(body), "Bearer "+testToken)
		if c := rec.Code / 100; c != 2 && c != 4 {
			t.Fatalf("status %d for body %q: %q", rec.Code, body, rec.Body)
		}
		if rec.Code == http.StatusOK && len(fx.act.Applied()) > 1 {
			t.Fatalf("one notification applied %v", fx.act.Applied())
		}
	})
}
