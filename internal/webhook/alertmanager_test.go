package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/kafkatune/kafkatune/internal/childproc"
	"github.com/kafkatune/kafkatune/internal/rollback"
	"github.com/kafkatune/kafkatune/internal/rollback/rollbacktest"
	"github.com/kafkatune/kafkatune/internal/rules"
	"github.com/kafkatune/kafkatune/internal/telemetry"
	"github.com/kafkatune/kafkatune/internal/testlog"
)

// repoRoot is the repository root, seen from this package's directory.
const repoRoot = "../.."

// delivery is one request the webhook answered.
type delivery struct {
	code int
	res  Response
}

// TestAlertmanagerDeliversRegression runs the real Alertmanager with the
// repository's configuration, rendered for a webhook served by httptest
// (only group_wait is lowered to 1s, so the test takes seconds). An alert
// named like the regression alert, posted to Alertmanager's API, must
// reach the handler with the token, and the keeper must roll back; an
// alert with another name, posted with it, must arrive and be ignored.
func TestAlertmanagerDeliversRegression(t *testing.T) {
	bin := alertmanagerBinary(t)
	log := testlog.New(t)

	// The agent: a keeper that saw a change to a bad setting a minute ago.
	act := rollbacktest.NewActuator(bad)
	k, err := rollback.New(rollback.Config{Actuator: act, Logger: log})
	if err != nil {
		t.Fatalf("rollback.New: %v", err)
	}
	now := time.Now()
	k.Good(good, now.Add(-time.Hour))
	k.Changed(bad, now.Add(-time.Minute))
	h, err := New(Config{Token: testToken, Keeper: k, Logger: log, Timeout: 20 * time.Second})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	deliveries := make(chan delivery, 16)
	mux := http.NewServeMux()
	mux.Handle(Path, recordDeliveries(t, h, deliveries))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	amURL := startAlertmanager(t, bin, srv.URL+Path)
	postAlerts(t, amURL, telemetry.AlertP99LatencyRegression, telemetry.AlertP99AboveTarget)

	// group_by alertname: one notification per alert, in either order.
	got := map[string]delivery{}
	timeout := time.After(45 * time.Second)
	for len(got) < 2 {
		select {
		case d := <-deliveries:
			if d.code != http.StatusOK || len(d.res.Alerts) != 1 {
				t.Fatalf("webhook answered %d %+v; want 200 for one alert", d.code, d.res)
			}
			got[d.res.Alerts[0].AlertName] = d
		case <-timeout:
			t.Fatalf("Alertmanager delivered %d of 2 notifications within 45s: %v", len(got), got)
		}
	}

	if d := got[telemetry.AlertP99LatencyRegression]; d.res.Result != rollback.ActionRolledBack {
		t.Errorf("regression notification: %+v, want rolled_back", d.res)
	}
	if d := got[telemetry.AlertP99AboveTarget]; d.res.Result != rollback.ActionIgnored ||
		d.res.Alerts[0].Why != rollback.WhyOtherAlert {
		t.Errorf("other alert: %+v, want ignored", d.res)
	}
	if applied := act.Applied(); len(applied) != 1 || applied[0] != good {
		t.Errorf("actuator applied %v, want [%v]", applied, good)
	}
	if cur, _ := act.Current(t.Context()); cur != good {
		t.Errorf("broker runs %v, want %v", cur, good)
	}
}

// alertmanagerBinary finds Alertmanager or fails saying how to get it.
func alertmanagerBinary(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"prometheus-alertmanager", "alertmanager"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	const debian = "/usr/bin/prometheus-alertmanager"
	if _, err := os.Stat(debian); err == nil {
		return debian
	}
	t.Fatalf("Alertmanager is required for this test but neither " +
		"prometheus-alertmanager nor alertmanager is in PATH; install it, " +
		"for example with `apt-get install prometheus-alertmanager`")
	return ""
}

// recordDeliveries serves h and reports every answer on ch.
func recordDeliveries(t *testing.T, h http.Handler, ch chan<- delivery) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		d := delivery{code: rec.Code}
		if err := json.Unmarshal(rec.Body.Bytes(), &d.res); err != nil {
			t.Errorf("webhook answered %d %q", rec.Code, rec.Body)
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
		ch <- d
	})
}

// startAlertmanager starts Alertmanager on a free port, gossip off, with
// the repository's configuration sending to webhookURL, waits until it is
// ready and returns its base URL.
func startAlertmanager(t *testing.T, bin, webhookURL string) string {
	t.Helper()
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte(testToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile(filepath.Join(repoRoot, rules.AlertmanagerConfig))
	if err != nil {
		t.Fatalf("read Alertmanager config: %v", err)
	}
	cfg, err := rules.RenderAlertmanager(src, rules.Webhook{URL: webhookURL, CredentialsFile: tokenFile})
	if err != nil {
		t.Fatalf("render Alertmanager config: %v", err)
	}
	cfg = setGroupWait(t, cfg, "1s")
	cfgFile := filepath.Join(dir, "alertmanager.yml")
	if err := os.WriteFile(cfgFile, cfg, 0o600); err != nil {
		t.Fatal(err)
	}

	port, err := childproc.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	p, err := childproc.Start(testlog.New(t), childproc.Spec{
		Name: "alertmanager",
		Path: bin,
		Args: []string{
			"--config.file=" + cfgFile,
			"--storage.path=" + filepath.Join(dir, "data"),
			"--web.listen-address=" + addr,
			"--cluster.listen-address=", // no gossip, no second port
		},
	})
	if err != nil {
		t.Fatalf("start Alertmanager: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := p.Stop(ctx); err != nil {
			t.Errorf("stop Alertmanager: %v", err)
		}
	})

	base := "http://" + addr
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-p.Done():
			t.Fatalf("Alertmanager exited before it was ready: %v", p.Err())
		default:
		}
		resp, err := http.Get(base + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return base
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("Alertmanager at %s not ready within 30s (last: %v)", addr, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// setGroupWait sets route.group_wait in an Alertmanager configuration.
func setGroupWait(t *testing.T, cfg []byte, wait string) []byte {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal(cfg, &doc); err != nil {
		t.Fatalf("decode rendered config: %v", err)
	}
	root := doc.Content[0]
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value != "route" {
			continue
		}
		route := root.Content[i+1]
		for j := 0; j+1 < len(route.Content); j += 2 {
			if route.Content[j].Value == "group_wait" {
				route.Content[j+1].Value = wait
				out, err := yaml.Marshal(&doc)
				if err != nil {
					t.Fatalf("encode config: %v", err)
				}
				return out
			}
		}
	}
	t.Fatalf("rendered config has no route.group_wait:\n%s", cfg)
	return nil
}

// postAlerts posts one firing alert per name to Alertmanager's API v2.
func postAlerts(t *testing.T, base string, names ...string) {
	t.Helper()
	type alert struct {
		Labels       map[string]string `json:"labels"`
		Annotations  map[string]string `json:"annotations"`
		StartsAt     time.Time         `json:"startsAt"`
		GeneratorURL string            `json:"generatorURL"`
	}
	alerts := make([]alert, 0, len(names))
	for _, n := range names {
		alerts = append(alerts, alert{
			Labels:       map[string]string{LabelAlertName: n, "severity": "critical"},
			Annotations:  map[string]string{"summary": "posted by " + t.Name()},
			StartsAt:     time.Now(),
			GeneratorURL: "http://127.0.0.1:9090/graph",
		})
	}
	body, err := json.Marshal(alerts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/v2/alerts", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("post alerts: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("post alerts: %s", resp.Status)
	}
}
