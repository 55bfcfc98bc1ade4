package bridge

import (
	"context"
	"errors"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/kafkatune/kafkatune/internal/status"
	"github.com/kafkatune/kafkatune/internal/telemetry"
)

// The ConfigMap tests use client-go's fake clientset only because no
// Kubernetes API server can run on the machines that build this project.
// internal/kube tests the conflict retry itself.

func readConfigMap(t *testing.T, cs kubernetes.Interface) map[string]string {
	t.Helper()
	cm, err := cs.CoreV1().ConfigMaps(status.ConfigMapNamespace).Get(
		context.Background(), status.ConfigMapName, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get configmap: %v", err)
	}
	return cm.Data
}

func TestCycleWritesConfigMap(t *testing.T) {
	cs := fake.NewClientset()
	tb := newTestBridge(t, WithKubeClient(func() (kubernetes.Interface, error) { return cs, nil }))
	ctx := context.Background()

	tb.prom.answerAll("0.015")
	tb.Cycle(ctx)
	d := readConfigMap(t, cs)
	want := map[string]string{
		status.KeyActualLatency:  "15.000",
		status.KeyTargetLatency:  "20",
		status.KeyProducerActual: "0.0",
		status.KeyStale:          "false",
	}
	for k, v := range want {
		if d[k] != v {
			t.Errorf("%s = %q, want %q", k, d[k], v)
		}
	}
	if !strings.Contains(tb.logs.String(), "configmap created") {
		t.Errorf("creation not logged:\n%s", tb.logs.String())
	}

	tb.prom.answerAll("0.025")
	tb.prom.set(telemetry.QueryProducerRate, emptyVector)
	tb.Cycle(ctx)
	d = readConfigMap(t, cs)
	if d[status.KeyActualLatency] != "25.000" || d[status.KeyProducerActual] != status.NotAvailable {
		t.Errorf("after update: p99 %q producer rate %q, want 25.000 and N/A",
			d[status.KeyActualLatency], d[status.KeyProducerActual])
	}
	if got := testutil.ToFloat64(tb.m.writes.WithLabelValues(SinkConfigMap, ResultOK)); got != 2 {
		t.Errorf("configmap writes ok = %v, want 2", got)
	}
	if n := strings.Count(tb.logs.String(), "configmap created"); n != 1 {
		t.Errorf("creation logged %d times, want once", n)
	}
}

// TestConfigMapClientLater: a kubeconfig that is not there yet fails the
// write, which is counted and retried on the next cycle.
func TestConfigMapClientLater(t *testing.T) {
	cs := fake.NewClientset()
	ready := false
	tb := newTestBridge(t, WithKubeClient(func() (kubernetes.Interface, error) {
		if !ready {
			return nil, errors.New("kubeconfig not there yet")
		}
		return cs, nil
	}))
	ctx := context.Background()
	tb.prom.answerAll("0.01")
	tb.Cycle(ctx)
	tb.Cycle(ctx)
	if got := testutil.ToFloat64(tb.m.writes.WithLabelValues(SinkConfigMap, ResultError)); got != 2 {
		t.Errorf("configmap write errors = %v, want 2", got)
	}
	ready = true
	tb.Cycle(ctx)
	if d := readConfigMap(t, cs); d[status.KeyActualLatency] != "10.000" {
		t.Errorf("p99 in configmap = %q, want 10.000", d[status.KeyActualLatency])
	}
	logs := tb.logs.String()
	if strings.Count(logs, "publish failing") != 1 || strings.Count(logs, "publish recovered") != 1 {
		t.Errorf("want one failing and one recovered line:\n%s", logs)
	}
}

func TestConfigMapOff(t *testing.T) {
	tb := newTestBridge(t)
	tb.prom.answerAll("0.01")
	tb.Cycle(context.Background())
	tb.Cycle(context.Background())
	if n := strings.Count(tb.logs.String(), "configmap output off"); n != 1 {
		t.Errorf("'configmap output off' logged %d times, want once:\n%s", n, tb.logs.String())
	}
	for _, res := range []string{ResultOK, ResultError} {
		if got := testutil.ToFloat64(tb.m.writes.WithLabelValues(SinkConfigMap, res)); got != 0 {
			t.Errorf("configmap writes %s = %v, want 0", res, got)
		}
	}
}
