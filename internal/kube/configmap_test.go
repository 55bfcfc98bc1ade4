package kube

import (
	"context"
	"errors"
	"maps"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// These tests use client-go's fake clientset only because no Kubernetes
// API server can run on the machines that build this project. The fake
// never returns 409 Conflict by itself, so conflicts are injected with
// reactors.

const (
	testNS   = "kafka"
	testName = "kafka-latency-metrics"
)

var cmResource = schema.GroupResource{Resource: "configmaps"}

func newWriter(objs ...runtime.Object) (*ConfigMapWriter, *fake.Clientset) {
	cs := fake.NewClientset(objs...)
	w := &ConfigMapWriter{
		Client:    cs,
		Namespace: testNS,
		Name:      testName,
		Labels:    map[string]string{"app.kubernetes.io/managed-by": "test"},
		Backoff:   wait.Backoff{Steps: 4, Duration: time.Millisecond, Factor: 2},
	}
	return w, cs
}

func existing(data map[string]string) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: testName, Namespace: testNS},
		Data:       data,
	}
}

func readBack(t *testing.T, cs *fake.Clientset) map[string]string {
	t.Helper()
	cm, err := cs.CoreV1().ConfigMaps(testNS).Get(context.Background(), testName, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get configmap: %v", err)
	}
	return cm.Data
}

func countVerbs(cs *fake.Clientset) map[string]int {
	n := map[string]int{}
	for _, a := range cs.Actions() {
		n[a.GetVerb()]++
	}
	return n
}

func TestConfigMapWriterApply(t *testing.T) {
	data := map[string]string{"actual_latency_ms": "12.345", "stale": "false"}
	tests := []struct {
		name  string
		objs  []runtime.Object
		want  Outcome
		verbs map[string]int
	}{
		{"create when missing", nil, Created, map[string]int{"get": 1, "create": 1}},
		{"update when different", []runtime.Object{existing(map[string]string{"actual_latency_ms": "N/A"})},
			Updated, map[string]int{"get": 1, "update": 1}},
		{"nothing when equal", []runtime.Object{existing(maps.Clone(data))},
			Unchanged, map[string]int{"get": 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, cs := newWriter(tt.objs...)
			got, err := w.Apply(context.Background(), data)
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			if got != tt.want {
				t.Errorf("outcome = %v, want %v", got, tt.want)
			}
			if v := countVerbs(cs); !maps.Equal(v, tt.verbs) {
				t.Errorf("API calls = %v, want %v", v, tt.verbs)
			}
			cs.ClearActions()
			if d := readBack(t, cs); !maps.Equal(d, data) {
				t.Errorf("data = %v, want %v", d, data)
			}
		})
	}
}

func TestConfigMapWriterCreateSetsLabels(t *testing.T) {
	w, cs := newWriter()
	if _, err := w.Apply(context.Background(), map[string]string{"k": "v"}); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	cm, err := cs.CoreV1().ConfigMaps(testNS).Get(context.Background(), testName, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	if cm.Labels["app.kubernetes.io/managed-by"] != "test" {
		t.Errorf("labels = %v, want managed-by=test", cm.Labels)
	}
}

// TestConfigMapWriterConflict injects a 409 on the first update, as if
// another writer changed the ConfigMap between our read and our write. The
// writer must read again before it writes again.
func TestConfigMapWriterConflict(t *testing.T) {
	w, cs := newWriter(existing(map[string]string{"actual_latency_ms": "1.000"}))
	conflicts := 1
	cs.PrependReactor("update", "configmaps", func(k8stesting.Action) (bool, runtime.Object, error) {
		if conflicts == 0 {
			return false, nil, nil
		}
		conflicts--
		return true, nil, apierrors.NewConflict(cmResource, testName, errors.New("object was modified"))
	})

	data := map[string]string{"actual_latency_ms": "2.000"}
	got, err := w.Apply(context.Background(), data)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if got != Updated {
		t.Errorf("outcome = %v, want updated", got)
	}
	var verbs []string
	for _, a := range cs.Actions() {
		verbs = append(verbs, a.GetVerb())
	}
	want := []string{"get", "update", "get", "update"}
	if !equalStrings(verbs, want) {
		t.Errorf("API calls = %v, want %v (re-read after the conflict)", verbs, want)
	}
	if d := readBack(t, cs); !maps.Equal(d, data) {
		t.Errorf("data = %v, want %v", d, data)
	}
}

// TestConfigMapWriterCreateRace covers a ConfigMap created by someone else
// between our read (not found) and our create: the writer reads it again
// and updates it.
func TestConfigMapWriterCreateRace(t *testing.T) {
	w, cs := newWriter()
	raced := false
	cs.PrependReactor("create", "configmaps", func(k8stesting.Action) (bool, runtime.Object, error) {
		if raced {
			return false, nil, nil
		}
		raced = true
		other := existing(map[string]string{"someone": "else"})
		if err := cs.Tracker().Add(other); err != nil {
			t.Errorf("add racing configmap: %v", err)
		}
		return true, nil, apierrors.NewAlreadyExists(cmResource, testName)
	})
	data := map[string]string{"k": "v"}
	got, err := w.Apply(context.Background(), data)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if got != Updated {
		t.Errorf("outcome = %v, want updated", got)
	}
	if d := readBack(t, cs); !maps.Equal(d, data) {
		t.Errorf("data = %v, want %v", d, data)
	}
}

func TestConfigMapWriterErrors(t *testing.T) {
	tests := []struct {
		name    string
		verb    string
		err     error
		wantTry int // calls of verb expected before giving up
		check   func(error) bool
	}{
		{"conflict every time gives up", "update",
			apierrors.NewConflict(cmResource, testName, errors.New("modified")), 4, apierrors.IsConflict},
		{"forbidden is not retried", "update",
			apierrors.NewForbidden(cmResource, testName, errors.New("rbac")), 1, apierrors.IsForbidden},
		{"server error on get is not retried", "get",
			apierrors.NewInternalError(errors.New("etcd down")), 1, apierrors.IsInternalError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, cs := newWriter(existing(map[string]string{"k": "old"}))
			cs.PrependReactor(tt.verb, "configmaps", func(k8stesting.Action) (bool, runtime.Object, error) {
				return true, nil, tt.err
			})
			_, err := w.Apply(context.Background(), map[string]string{"k": "new"})
			if err == nil || !tt.check(err) {
				t.Fatalf("Apply error = %v, want one matching %s", err, tt.name)
			}
			if n := countVerbs(cs)[tt.verb]; n != tt.wantTry {
				t.Errorf("%s calls = %d, want %d", tt.verb, n, tt.wantTry)
			}
		})
	}
}

func TestConfigMapWriterCanceled(t *testing.T) {
	w, cs := newWriter()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := w.Apply(ctx, map[string]string{"k": "v"}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Apply error = %v, want context.Canceled", err)
	}
	if n := len(cs.Actions()); n != 0 {
		t.Errorf("API calls after cancel = %d, want 0", n)
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
