// Package webhook serves the agent's Alertmanager webhook: it checks the
// shared bearer token, decodes Alertmanager's notification (payload
// version 4), and hands each firing KafkaP99LatencyRegression alert to the
// rollback keeper. Every other alert, and every resolved one, is
// acknowledged and ignored.
//
// The handler answers after the keeper has decided, so the status code
// tells Alertmanager the truth: 200 when the alert was ignored or the
// broker was rolled back, 500 when a due rollback failed (Alertmanager
// then retries, and the retry finds the rollback running, done, or still
// due). The decision runs on a context with its own deadline (Timeout)
// that the request's cancellation does not end: when Alertmanager stops
// waiting, a broker restart half done is carried to its end.
package webhook

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"
	"unicode"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kafkatune/kafkatune/internal/rollback"
	"github.com/kafkatune/kafkatune/internal/telemetry"
)

// Path is where the agent serves the webhook (prometheus/alertmanager.yml
// sends to it).
const Path = "/alerts"

// WhyResolved is AlertResult.Why of a resolved alert.
const WhyResolved = "resolved"

// Defaults of Config.
const (
	// DefaultMaxBodyBytes bounds a request body. Alertmanager's
	// notifications are a few kilobytes per alert.
	DefaultMaxBodyBytes = 1 << 20
	// DefaultTimeout bounds a decision, rollback included: enough for a
	// broker restart with a new heap.
	DefaultTimeout = 3 * time.Minute
)

// Keeper decides what to do about a firing regression alert;
// *rollback.Keeper is one.
type Keeper interface {
	OnRegression(ctx context.Context, a rollback.Alert) (rollback.Outcome, error)
}

// Config configures a Handler. Token and Keeper are required.
type Config struct {
	// Token is the shared secret Alertmanager sends as
	// "Authorization: Bearer <token>" (see ReadToken).
	Token string
	// Keeper acts on firing regression alerts.
	Keeper Keeper
	// MaxBodyBytes bounds a request body (DefaultMaxBodyBytes).
	MaxBodyBytes int64
	// Timeout bounds each decision (DefaultTimeout).
	Timeout time.Duration
	// Registerer receives the handler's metrics (optional).
	Registerer prometheus.Registerer
	// Logger (optional) gets a line per notification and per rejection.
	Logger *slog.Logger
}

// Validate reports whether c can make a Handler. It never mentions the
// token's value.
func (c Config) Validate() error {
	if err := checkToken(c.Token); err != nil {
		return err
	}
	if c.Keeper == nil {
		return errors.New("webhook: a keeper is required")
	}
	if c.MaxBodyBytes < 0 {
		return fmt.Errorf("webhook max body bytes %d: must not be negative", c.MaxBodyBytes)
	}
	if c.Timeout < 0 {
		return fmt.Errorf("webhook timeout %s: must not be negative", c.Timeout)
	}
	return nil
}

func checkToken(token string) error {
	if token == "" {
		return errors.New("webhook token: empty")
	}
	if strings.IndexFunc(token, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r)
	}) >= 0 {
		return errors.New("webhook token: contains white space or control characters")
	}
	return nil
}

// ReadToken reads the shared token from a file, as Alertmanager reads its
// credentials_file: surrounding white space is dropped. An empty token is
// an error. Errors name the file, never its content.
func ReadToken(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read webhook token: %w", err)
	}
	token := strings.TrimSpace(string(b))
	if err := checkToken(token); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return token, nil
}

// Handler is the webhook's http.Handler.
type Handler struct {
	cfg       Config
	tokenHash [sha256.Size]byte
	m         *metrics
}

// New returns a Handler configured by cfg.
func New(cfg Config) (*Handler, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	h := &Handler{cfg: cfg, tokenHash: sha256.Sum256([]byte(cfg.Token)), m: m}
	h.cfg.Token = "" // only the hash is kept
	return h, nil
}

// ServeHTTP handles one notification.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	log := h.cfg.Logger.With("remote_addr", r.RemoteAddr)
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		h.reject(w, log, http.StatusMethodNotAllowed, rejectMethod,
			fmt.Sprintf("method %s not allowed, use POST", r.Method))
		return
	}
	if !h.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="kafkatune"`)
		h.reject(w, log, http.StatusUnauthorized, rejectUnauthorized,
			"missing or wrong bearer token")
		return
	}

	msg, status, err := h.decode(w, r)
	if err != nil {
		reason := rejectInvalid
		if status == http.StatusRequestEntityTooLarge {
			reason = rejectTooLarge
		}
		h.reject(w, log, status, reason, err.Error())
		return
	}

	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), h.cfg.Timeout)
	defer cancel()
	res := h.handle(ctx, log, msg)
	h.m.notifications.WithLabelValues(msg.Status, string(res.Result)).Inc()
	code := http.StatusOK
	if res.Result == rollback.ActionError {
		code = http.StatusInternalServerError
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(res)
}

// authorized reports whether r carries the token. Both sides are hashed
// first, so the comparison takes the same time whatever the length.
func (h *Handler) authorized(r *http.Request) bool {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	got := sha256.Sum256([]byte(strings.TrimSpace(token)))
	return subtle.ConstantTimeCompare(got[:], h.tokenHash[:]) == 1
}

// decode reads and checks the body. On failure it returns the status code
// to answer with and a one-line reason.
func (h *Handler) decode(w http.ResponseWriter, r *http.Request) (Message, int, error) {
	var msg Message
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, h.cfg.MaxBodyBytes))
	err := dec.Decode(&msg)
	if err == nil {
		// Anything after the object is as wrong as a broken object.
		if _, terr := dec.Token(); terr != io.EOF {
			err = errors.New("data after the JSON object")
		}
	}
	if maxErr := (*http.MaxBytesError)(nil); errors.As(err, &maxErr) {
		return msg, http.StatusRequestEntityTooLarge,
			fmt.Errorf("body larger than %d bytes", maxErr.Limit)
	}
	if err != nil {
		return msg, http.StatusBadRequest, fmt.Errorf("malformed JSON: %s", oneLine(err.Error()))
	}
	if err := msg.Validate(); err != nil {
		return msg, http.StatusBadRequest, fmt.Errorf("invalid notification: %s", oneLine(err.Error()))
	}
	return msg, 0, nil
}

// Response is the JSON body of a 200 or 500 answer.
type Response struct {
	// Result sums up the notification: rolled_back when some alert led
	// to a rollback, error when a due rollback failed, else ignored.
	Result rollback.Action `json:"result"`
	Alerts []AlertResult   `json:"alerts"`
}

// AlertResult is what became of one alert of the notification.
type AlertResult struct {
	AlertName   string          `json:"alertname"`
	Fingerprint string          `json:"fingerprint"`
	Action      rollback.Action `json:"action"`
	Why         string          `json:"why,omitempty"`
}

// handle gives each firing regression alert of msg to the keeper.
func (h *Handler) handle(ctx context.Context, log *slog.Logger, msg Message) Response {
	res := Response{Result: rollback.ActionIgnored, Alerts: make([]AlertResult, 0, len(msg.Alerts))}
	for _, a := range msg.Alerts {
		ar := AlertResult{AlertName: a.Name(), Fingerprint: a.Fingerprint, Action: rollback.ActionIgnored}
		alog := log.With("alertname", ar.AlertName, "fingerprint", ar.Fingerprint,
			"status", a.Status, "starts_at", a.StartsAt)
		switch {
		case a.Status != StatusFiring:
			ar.Why = WhyResolved
		case ar.AlertName != telemetry.AlertP99LatencyRegression:
			ar.Why = rollback.WhyOtherAlert
		default:
			out, err := h.cfg.Keeper.OnRegression(ctx, rollback.Alert{
				Name: ar.AlertName, Fingerprint: a.Fingerprint, StartsAt: a.StartsAt,
			})
			ar.Action, ar.Why = out.Action, out.Why
			if err != nil {
				ar.Action = rollback.ActionError
				alog.Error("regression alert not handled", "err", err)
			}
		}
		alog.Info("alert received", "action", string(ar.Action), "why", ar.Why)
		res.Alerts = append(res.Alerts, ar)
		switch {
		case ar.Action == rollback.ActionError:
			res.Result = rollback.ActionError
		case ar.Action == rollback.ActionRolledBack && res.Result != rollback.ActionError:
			res.Result = rollback.ActionRolledBack
		}
	}
	return res
}

// reject answers with code and a one-line reason, logs it and counts it.
func (h *Handler) reject(w http.ResponseWriter, log *slog.Logger, code int, reason, detail string) {
	h.m.rejected.WithLabelValues(reason).Inc()
	log.Warn("webhook request rejected", "code", code, "reason", reason, "detail", detail)
	http.Error(w, detail, code)
}

// oneLine keeps s on one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
