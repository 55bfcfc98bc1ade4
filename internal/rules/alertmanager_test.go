package rules

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// amConfig is the part of an Alertmanager configuration the tests read.
type amConfig struct {
	Route struct {
		Receiver      string   `yaml:"receiver"`
		GroupBy       []string `yaml:"group_by"`
		GroupWait     string   `yaml:"group_wait"`
		GroupInterval string   `yaml:"group_interval"`
		Repeat        string   `yaml:"repeat_interval"`
	} `yaml:"route"`
	Receivers []struct {
		Name     string `yaml:"name"`
		Webhooks []struct {
			URL          string `yaml:"url"`
			SendResolved bool   `yaml:"send_resolved"`
			HTTPConfig   struct {
				Authorization struct {
					Type            string `yaml:"type"`
					Credentials     string `yaml:"credentials"`
					CredentialsFile string `yaml:"credentials_file"`
				} `yaml:"authorization"`
			} `yaml:"http_config"`
		} `yaml:"webhook_configs"`
	} `yaml:"receivers"`
}

func readAlertmanager(t *testing.T) []byte {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(repoRoot, AlertmanagerConfig))
	if err != nil {
		t.Fatalf("read config: %v", err)
	}
	return src
}

func decodeAM(t *testing.T, data []byte) amConfig {
	t.Helper()
	var c amConfig
	if err := yaml.Unmarshal(data, &c); err != nil {
		t.Fatalf("decode: %v", err)
	}
	return c
}

func TestAlertmanagerConfig(t *testing.T) {
	c := decodeAM(t, readAlertmanager(t))
	if c.Route.Receiver != AgentReceiver {
		t.Errorf("route receiver %q, want %q", c.Route.Receiver, AgentReceiver)
	}
	if len(c.Route.GroupBy) != 1 || c.Route.GroupBy[0] != "alertname" {
		t.Errorf("group_by %v, want [alertname]", c.Route.GroupBy)
	}
	if c.Route.GroupWait == "" || c.Route.GroupInterval == "" || c.Route.Repeat == "" {
		t.Errorf("route timing not set: %+v", c.Route)
	}
	if len(c.Receivers) != 1 || len(c.Receivers[0].Webhooks) != 1 {
		t.Fatalf("want one receiver with one webhook, got %+v", c.Receivers)
	}
	h := c.Receivers[0].Webhooks[0]
	if h.URL != "http://agent:9104/alerts" {
		t.Errorf("webhook url %q", h.URL)
	}
	if !h.SendResolved {
		t.Error("send_resolved false: the agent must see alerts resolve")
	}
	auth := h.HTTPConfig.Authorization
	if auth.Type != "Bearer" || auth.CredentialsFile == "" {
		t.Errorf("authorization %+v, want Bearer from a credentials_file", auth)
	}
	if auth.Credentials != "" {
		t.Error("a token is written in the repository: use credentials_file")
	}
}

func TestRenderAlertmanager(t *testing.T) {
	src := readAlertmanager(t)
	w := Webhook{URL: "http://127.0.0.1:40123/alerts", CredentialsFile: "/run/kt/token"}
	out, err := RenderAlertmanager(src, w)
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	got, orig := decodeAM(t, out), decodeAM(t, src)
	h := got.Receivers[0].Webhooks[0]
	if h.URL != w.URL || h.HTTPConfig.Authorization.CredentialsFile != w.CredentialsFile {
		t.Errorf("rendered webhook %+v, want %+v", h, w)
	}
	if h.HTTPConfig.Authorization.Type != "Bearer" || !h.SendResolved {
		t.Errorf("rendering lost settings: %+v", h)
	}
	if got.Route.GroupBy[0] != orig.Route.GroupBy[0] || got.Route.Repeat != orig.Route.Repeat {
		t.Errorf("rendering changed the route: %+v", got.Route)
	}
	if !strings.Contains(string(out), "# ") {
		t.Error("rendering dropped the comments")
	}
}

func TestRenderAlertmanagerErrors(t *testing.T) {
	good := Webhook{URL: "http://127.0.0.1:1/alerts", CredentialsFile: "token"}
	noAgent := "route:\n  receiver: x\nreceivers:\n  - name: x\n"
	noHooks := "route:\n  receiver: agent\nreceivers:\n  - name: agent\n"
	tests := []struct {
		name string
		src  string
		w    Webhook
		want string
	}{
		{"ftp url", "receivers: []", Webhook{"ftp://h/alerts", "t"}, "want http(s)"},
		{"no host", "receivers: []", Webhook{"http:///alerts", "t"}, "want http(s)"},
		{"no token file", "receivers: []", Webhook{URL: good.URL}, "credentials file"},
		{"not yaml", "receivers: [", good, "decode"},
		{"not a mapping", "- a\n", good, "not a mapping"},
		{"no receivers", "route: {}\n", good, "no receivers"},
		{"no agent receiver", noAgent, good, `no receiver "agent"`},
		{"agent without webhooks", noHooks, good, "no webhook_configs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := RenderAlertmanager([]byte(tt.src), tt.w)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}
