package vibectl

import (
	"bytes"
	"context"
	"log/slog"
	"reflect"
	"sort"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kafkatune/kafkatune/internal/knobs"
)

// The guard is tested with client-go's fake clientset only because no
// Kubernetes API server can run on the project's machines.

func brokerStatefulSet(heap, net, io string) *appsv1.StatefulSet {
	replicas := int32(1)
	return &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: "kafka-controller", Namespace: "kafka"},
		Spec: appsv1.StatefulSetSpec{
			Replicas: &replicas,
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "kafka"}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name:  "kafka",
					Image: "apache/kafka:3.9.1",
					Env: []corev1.EnvVar{
						{Name: "KAFKA_NODE_ID", Value: "1"},
						{Name: knobs.EnvHeapOpts, Value: heap},
						{Name: knobs.EnvNetworkThreads, Value: net},
						{Name: knobs.EnvIOThreads, Value: io},
						{Name: "KAFKA_PROCESS_ROLES", Value: "broker,controller"},
					},
				}}},
			},
		},
	}
}

func newTestGuard(t *testing.T, sts *appsv1.StatefulSet) (*Guard, *fake.Clientset, *bytes.Buffer) {
	t.Helper()
	cs := fake.NewClientset(sts)
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	g := NewGuard(cs, "kafka", "kafka-controller", "kafka", knobs.DefaultLimits().Bounds(), time.Second, log)
	return g, cs, &logs
}

func getSTS(t *testing.T, cs *fake.Clientset) *appsv1.StatefulSet {
	t.Helper()
	sts, err := cs.AppsV1().StatefulSets("kafka").Get(context.Background(), "kafka-controller", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return sts
}

func putSTS(t *testing.T, cs *fake.Clientset, sts *appsv1.StatefulSet) {
	t.Helper()
	if _, err := cs.AppsV1().StatefulSets("kafka").Update(context.Background(), sts, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func knobEnv(t *testing.T, sts *appsv1.StatefulSet) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, e := range sts.Spec.Template.Spec.Containers[0].Env {
		if isKnobEnv(e.Name) {
			if _, dup := out[e.Name]; dup {
				t.Errorf("%s appears twice", e.Name)
			}
			out[e.Name] = e.Value
		}
	}
	return out
}

func revertKnobs(rs []Revert) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Knob)
	}
	sort.Strings(out)
	return out
}

func setKnob(name, value string) func(*appsv1.StatefulSet) {
	return func(s *appsv1.StatefulSet) {
		setEnv(&s.Spec.Template.Spec.Containers[0], name, value)
	}
}

func TestGuardCheck(t *testing.T) {
	start := map[string]string{
		knobs.EnvHeapOpts: "-Xms256m -Xmx256m", knobs.EnvNetworkThreads: "1", knobs.EnvIOThreads: "2",
	}
	with := func(k, v string) map[string]string {
		m := map[string]string{}
		for a, b := range start {
			m[a] = b
		}
		m[k] = v
		return m
	}
	tests := []struct {
		name    string
		mutate  func(*appsv1.StatefulSet)
		reverts []string
		env     map[string]string
	}{
		{"nothing changed", func(*appsv1.StatefulSet) {}, nil, start},
		{"change within bounds is kept", setKnob(knobs.EnvIOThreads, "8"), nil,
			with(knobs.EnvIOThreads, "8")},
		{"heap within bounds is kept", setKnob(knobs.EnvHeapOpts, "-Xms1g -Xmx1g"), nil,
			with(knobs.EnvHeapOpts, "-Xms1g -Xmx1g")},
		{"heap above bound", setKnob(knobs.EnvHeapOpts, "-Xms3g -Xmx3g"),
			[]string{knobs.KnobHeap}, start},
		{"heap with extra JVM option",
			setKnob(knobs.EnvHeapOpts, "-Xms512m -Xmx512m -XX:OnOutOfMemoryError=reboot"),
			[]string{knobs.KnobHeap}, start},
		{"heap unparsable", setKnob(knobs.EnvHeapOpts, "lots"), []string{knobs.KnobHeap}, start},
		{"network threads above bound", setKnob(knobs.EnvNetworkThreads, "9"),
			[]string{knobs.KnobNetworkThreads}, start},
		{"io threads zero", setKnob(knobs.EnvIOThreads, "0"), []string{knobs.KnobIOThreads}, start},
		{"io threads not a number", setKnob(knobs.EnvIOThreads, "four"), []string{knobs.KnobIOThreads}, start},
		{"two bad, one good", func(s *appsv1.StatefulSet) {
			setKnob(knobs.EnvIOThreads, "99")(s)
			setKnob(knobs.EnvNetworkThreads, "-1")(s)
			setKnob(knobs.EnvHeapOpts, "-Xms768m -Xmx768m")(s)
		}, []string{knobs.KnobIOThreads, knobs.KnobNetworkThreads}, with(knobs.EnvHeapOpts, "-Xms768m -Xmx768m")},
		{"knob removed", func(s *appsv1.StatefulSet) {
			c := &s.Spec.Template.Spec.Containers[0]
			c.Env = c.Env[:len(c.Env)-2]
		}, []string{knobs.KnobIOThreads, KnobOther}, start},
		{"knob from a secret", func(s *appsv1.StatefulSet) {
			c := &s.Spec.Template.Spec.Containers[0]
			c.Env[3] = corev1.EnvVar{Name: knobs.EnvIOThreads, ValueFrom: &corev1.EnvVarSource{
				SecretKeyRef: &corev1.SecretKeySelector{Key: "x"},
			}}
		}, []string{knobs.KnobIOThreads}, start},
		{"image changed, knob kept", func(s *appsv1.StatefulSet) {
			s.Spec.Template.Spec.Containers[0].Image = "evil/kafka:latest"
			setKnob(knobs.EnvIOThreads, "4")(s)
		}, []string{KnobOther}, with(knobs.EnvIOThreads, "4")},
		{"replicas changed", func(s *appsv1.StatefulSet) {
			r := int32(3)
			s.Spec.Replicas = &r
		}, []string{KnobOther}, start},
		{"other variable changed", setKnob("KAFKA_PROCESS_ROLES", "broker"), []string{KnobOther}, start},
		{"restart annotation is allowed", func(s *appsv1.StatefulSet) {
			s.Spec.Template.Annotations = map[string]string{
				"kubectl.kubernetes.io/restartedAt": "2026-01-01T00:00:00Z",
			}
		}, nil, start},
		{"template label changed", func(s *appsv1.StatefulSet) {
			s.Spec.Template.Labels["evil"] = "yes"
		}, []string{KnobOther}, start},
		{"pod spec field added", func(s *appsv1.StatefulSet) {
			s.Spec.Template.Spec.HostNetwork = true
		}, []string{KnobOther}, start},
		{"container renamed", func(s *appsv1.StatefulSet) {
			s.Spec.Template.Spec.Containers[0].Name = "evil"
		}, []string{KnobOther}, start},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, cs, logs := newTestGuard(t, brokerStatefulSet("-Xms256m -Xmx256m", "1", "2"))
			ctx := context.Background()
			if rs, err := g.Start(ctx); err != nil || len(rs) != 0 {
				t.Fatalf("Start = %v, %v", rs, err)
			}
			sts := getSTS(t, cs)
			tt.mutate(sts)
			putSTS(t, cs, sts)
			cs.ClearActions()

			rs, err := g.Check(ctx)
			if err != nil {
				t.Fatal(err)
			}
			// The agent's Role (k8s-sandbox/manifests/10-rbac.yaml) grants
			// get and patch on the StatefulSet, nothing else.
			for _, a := range cs.Actions() {
				if v := a.GetVerb(); v != "get" && v != "patch" {
					t.Errorf("guard made a %s call; its Role allows get and patch", v)
				}
			}
			if got := revertKnobs(rs); !reflect.DeepEqual(got, tt.reverts) {
				t.Errorf("reverts = %v, want %v", got, tt.reverts)
			}
			after := getSTS(t, cs)
			if got := knobEnv(t, after); !reflect.DeepEqual(got, tt.env) {
				t.Errorf("env after check = %v, want %v", got, tt.env)
			}
			if tt.reverts != nil {
				if g.otherChanges(&after.Spec) {
					t.Error("the revert left changes beyond the knobs")
				}
				if !bytes.Contains(logs.Bytes(), []byte("guard reverted a change")) {
					t.Error("revert not logged")
				}
			}
			if rs, err := g.Check(ctx); err != nil || len(rs) != 0 {
				t.Errorf("second check = %v, %v; want nothing to revert", rs, err)
			}
		})
	}
}

func TestGuardRevertsToLastGood(t *testing.T) {
	g, cs, _ := newTestGuard(t, brokerStatefulSet("-Xms256m -Xmx256m", "1", "2"))
	ctx := context.Background()
	if _, err := g.Start(ctx); err != nil {
		t.Fatal(err)
	}
	sts := getSTS(t, cs)
	setKnob(knobs.EnvIOThreads, "6")(sts)
	putSTS(t, cs, sts)
	if rs, err := g.Check(ctx); err != nil || len(rs) != 0 {
		t.Fatalf("good change: %v, %v", rs, err)
	}
	sts = getSTS(t, cs)
	setKnob(knobs.EnvIOThreads, "600")(sts)
	putSTS(t, cs, sts)
	if _, err := g.Check(ctx); err != nil {
		t.Fatal(err)
	}
	if got := knobEnv(t, getSTS(t, cs))[knobs.EnvIOThreads]; got != "6" {
		t.Errorf("io threads = %s, want the last good 6", got)
	}
	if got := g.LastGood(); got.IOThreads != 6 {
		t.Errorf("last good = %v", got)
	}
}

func TestGuardStartOutOfBounds(t *testing.T) {
	g, cs, _ := newTestGuard(t, brokerStatefulSet("-Xms8g -Xmx8g", "1", "64"))
	rs, err := g.Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := revertKnobs(rs); !reflect.DeepEqual(got, []string{knobs.KnobHeap, knobs.KnobIOThreads}) {
		t.Errorf("reverts = %v", got)
	}
	env := knobEnv(t, getSTS(t, cs))
	if env[knobs.EnvHeapOpts] != "-Xms256m -Xmx256m" || env[knobs.EnvIOThreads] != "2" {
		t.Errorf("env = %v, want the start setting", env)
	}
}

// The fake clientset never returns 409 by itself; inject one so that the
// re-read before the retried write is exercised.
func TestGuardRetriesConflict(t *testing.T) {
	g, cs, _ := newTestGuard(t, brokerStatefulSet("-Xms256m -Xmx256m", "1", "2"))
	ctx := context.Background()
	if _, err := g.Start(ctx); err != nil {
		t.Fatal(err)
	}
	sts := getSTS(t, cs)
	setKnob(knobs.EnvNetworkThreads, "50")(sts)
	putSTS(t, cs, sts)

	conflicts := 0
	cs.PrependReactor("patch", "statefulsets", func(k8stesting.Action) (bool, runtime.Object, error) {
		if conflicts < 2 {
			conflicts++
			return true, nil, apierrors.NewConflict(schema.GroupResource{Group: "apps", Resource: "statefulsets"},
				"kafka-controller", nil)
		}
		return false, nil, nil
	})
	rs, err := g.Check(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if conflicts != 2 || len(rs) != 1 {
		t.Errorf("conflicts = %d, reverts = %v", conflicts, rs)
	}
	if got := knobEnv(t, getSTS(t, cs))[knobs.EnvNetworkThreads]; got != "1" {
		t.Errorf("network threads = %s, want 1", got)
	}
}

func TestGuardMissingStatefulSet(t *testing.T) {
	cs := fake.NewClientset()
	g := NewGuard(cs, "kafka", "kafka-controller", "kafka", knobs.DefaultLimits().Bounds(), time.Second,
		slog.New(slog.DiscardHandler))
	if _, err := g.Start(context.Background()); err == nil {
		t.Fatal("Start without a StatefulSet succeeded")
	}
	if _, err := g.Check(context.Background()); err == nil {
		t.Fatal("Check before Start succeeded")
	}
}
