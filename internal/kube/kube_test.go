package kube

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const testKubeconfig = `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster:
    server: https://127.0.0.1:6443
users:
- name: u
  user:
    token: not-a-real-token
contexts:
- name: x
  context: {cluster: c, user: u, namespace: kafka}
current-context: x
`

func TestRESTConfig(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "config")
	if err := os.WriteFile(good, []byte(testKubeconfig), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing")
	tests := []struct {
		name    string
		src     Source
		wantErr string
	}{
		{"kubeconfig file", Source{Kubeconfig: good}, ""},
		{"kubeconfig list", Source{Kubeconfig: missing + string(os.PathListSeparator) + good}, ""},
		{"missing kubeconfig", Source{Kubeconfig: missing}, "load kubeconfig"},
		{"nothing", Source{}, ErrNoSource.Error()},
		{"both", Source{Kubeconfig: good, InCluster: true}, "not both"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := RESTConfig(tt.src)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("RESTConfig: %v", err)
			}
			if c.Host != "https://127.0.0.1:6443" {
				t.Errorf("host = %q", c.Host)
			}
		})
	}
}

func TestRESTConfigInClusterOutsideCluster(t *testing.T) {
	t.Setenv(EnvServiceHost, "")
	t.Setenv("KUBERNETES_SERVICE_PORT", "")
	_, err := RESTConfig(Source{InCluster: true})
	if err == nil || !strings.Contains(err.Error(), "in-cluster") {
		t.Fatalf("error = %v, want an in-cluster config error", err)
	}
}

func TestSourceString(t *testing.T) {
	tests := []struct {
		src  Source
		want string
		on   bool
	}{
		{Source{}, "none", false},
		{Source{InCluster: true}, "in-cluster", true},
		{Source{Kubeconfig: "/k"}, "kubeconfig /k", true},
	}
	for _, tt := range tests {
		if got := tt.src.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
		if got := tt.src.Enabled(); got != tt.on {
			t.Errorf("%v Enabled() = %v, want %v", tt.src, got, tt.on)
		}
	}
}

func TestNewClientset(t *testing.T) {
	if _, err := NewClientset(Source{}, "test"); !errors.Is(err, ErrNoSource) {
		t.Fatalf("error = %v, want ErrNoSource", err)
	}
	p := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(p, []byte(testKubeconfig), 0o600); err != nil {
		t.Fatal(err)
	}
	if cs, err := NewClientset(Source{Kubeconfig: p}, "test"); err != nil || cs == nil {
		t.Fatalf("NewClientset = %v, %v", cs, err)
	}
}
