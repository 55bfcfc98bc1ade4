package deploycheck

import (
	"os"
	"path/filepath"
	"testing"
)

// Paths of the deployment files, relative to the repository root.
const (
	composeFile   = "compose.yml"
	envExample    = ".env.example"
	manifestsDir  = "k8s-sandbox/manifests"
	entryScript   = "k8s-sandbox/entrypoint.sh"
	dockerignore  = ".dockerignore"
	k3dNode       = "k3d-kafkatune-server-0"
	statusMount   = "/tmp/status"
	readyFile     = "/tmp/status/sandbox_ready"
	exporterKube  = "/tmp/status/kube/exporter.kubeconfig"
	vibectlKube   = "/tmp/status/kube/vibectl.kubeconfig"
	appUID        = "10001"
	jmxConfigMap  = "kafka-jmx-exporter"
	kafkaSTS      = "kafka-controller"
	kafkaNS       = "kafka"
	kafkaImage    = "apache/kafka:4.1.1"
	kafkaDataPath = "/var/lib/kafka/data"
)

// repoRoot returns the repository root: the nearest parent holding go.mod.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test directory")
		}
		dir = parent
	}
}

// readRepoFile returns the content of a file given relative to the root.
func readRepoFile(t *testing.T, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
