package promproc

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	promfiles "github.com/kafkatune/kafkatune/prometheus"

	"github.com/kafkatune/kafkatune/internal/rules"
	"github.com/kafkatune/kafkatune/internal/telemetry"
	"github.com/kafkatune/kafkatune/internal/testlog"
)

// TestPrometheusAndAlertmanager starts the real servers with the rendered
// repository configuration and checks that Prometheus loaded every rule and
// knows its Alertmanager, and that Alertmanager loaded the webhook route.
func TestPrometheusAndAlertmanager(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	log := testlog.New(t)
	dir := t.TempDir()

	amCfg, err := rules.RenderAlertmanager(promfiles.AlertmanagerConfig, rules.Webhook{
		URL: "http://127.0.0.1:1/alerts", CredentialsFile: "token",
	})
	if err != nil {
		t.Fatal(err)
	}
	am, err := StartAlertmanager(ctx, log, AlertmanagerConfig{
		Dir: filepath.Join(dir, "am"), Config: amCfg, Files: map[string][]byte{"token": []byte("secret\n")},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stop(t, am) })

	scrape := rules.Scrape{Alertmanager: am.Addr(), Interval: time.Second, Targets: map[string]string{}}
	for _, job := range rules.Jobs() {
		scrape.Targets[job] = "127.0.0.1:1"
	}
	promCfg, err := rules.RenderPrometheus(promfiles.Config, scrape)
	if err != nil {
		t.Fatal(err)
	}
	prom, err := StartPrometheus(ctx, log, PrometheusConfig{
		Dir: filepath.Join(dir, "prom"), Config: promCfg, Rules: promfiles.Rules,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stop(t, prom) })

	var ruleResp struct {
		Data struct {
			Groups []struct {
				Rules []struct {
					Name string `json:"name"`
				} `json:"rules"`
			} `json:"groups"`
		} `json:"data"`
	}
	getJSON(t, prom.URL()+"/api/v1/rules", &ruleResp)
	loaded := map[string]bool{}
	for _, g := range ruleResp.Data.Groups {
		for _, r := range g.Rules {
			loaded[r.Name] = true
		}
	}
	for _, name := range append(telemetry.Alerts(), telemetry.RuleP99Latency1m) {
		if !loaded[name] {
			t.Errorf("rule %s not loaded by Prometheus (loaded: %d rules)", name, len(loaded))
		}
	}

	// Prometheus discovers its Alertmanager within a few seconds.
	deadline := time.Now().Add(30 * time.Second)
	for {
		var amResp struct {
			Data struct {
				Active []struct {
					URL string `json:"url"`
				} `json:"activeAlertmanagers"`
			} `json:"data"`
		}
		getJSON(t, prom.URL()+"/api/v1/alertmanagers", &amResp)
		if len(amResp.Data.Active) == 1 && strings.Contains(amResp.Data.Active[0].URL, am.Addr()) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("prometheus alertmanagers %+v, want %s", amResp.Data.Active, am.Addr())
		}
		time.Sleep(500 * time.Millisecond)
	}

	var status struct {
		Config struct {
			Original string `json:"original"`
		} `json:"config"`
	}
	getJSON(t, am.URL()+"/api/v2/status", &status)
	if !strings.Contains(status.Config.Original, "http://127.0.0.1:1/alerts") {
		t.Errorf("alertmanager runs a config without the rendered webhook:\n%s", status.Config.Original)
	}
	if strings.Contains(status.Config.Original, "secret") {
		t.Error("alertmanager config shows the token")
	}
}

func TestMissingBinary(t *testing.T) {
	_, err := StartPrometheus(context.Background(), testlog.New(t), PrometheusConfig{
		Binary: filepath.Join(t.TempDir(), "no-prometheus"), Dir: t.TempDir(), Config: []byte("{}"),
	})
	if err == nil {
		t.Fatal("started a missing binary")
	}
	t.Setenv(EnvAlertmanager, "")
	if _, err := findBinary("", "KAFKATUNE_NO_SUCH_ENV", "/nonexistent/am", "kafkatune-no-such-binary"); err == nil ||
		!strings.Contains(err.Error(), "apt-get install") {
		t.Errorf("findBinary error %v, want a hint to install the package", err)
	}
}

func TestBadConfigFailsClearly(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := StartPrometheus(ctx, testlog.New(t), PrometheusConfig{
		Dir: t.TempDir(), Config: []byte("global: [not, a, mapping]\n"),
	})
	if err == nil || !strings.Contains(err.Error(), "exited before it was ready") {
		t.Errorf("err = %v, want the process to exit before ready", err)
	}
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

func stop(t *testing.T, s *Server) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.Stop(ctx); err != nil {
		t.Errorf("stop: %v", err)
	}
}
