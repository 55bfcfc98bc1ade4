package deploycheck

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/kafkatune/kafkatune/internal/status"
)

// manifest is one decoded object and the file it came from.
type manifest struct {
	file string
	obj  runtime.Object
}

// strictDecoder decodes YAML or JSON into client-go's typed objects and
// fails on unknown or duplicate fields, as `kubectl apply --validate=strict`
// would on a real API server.
func strictDecoder() runtime.Decoder {
	return serializer.NewCodecFactory(scheme.Scheme, serializer.EnableStrict).UniversalDeserializer()
}

// decodeAll splits a multi-document YAML stream and decodes every
// non-empty document strictly.
func decodeAll(data []byte) ([]runtime.Object, error) {
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	dec := strictDecoder()
	var objs []runtime.Object
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return objs, nil
		}
		if err != nil {
			return nil, err
		}
		if isBlankYAML(doc) {
			continue
		}
		obj, _, err := dec.Decode(doc, nil, nil)
		if err != nil {
			return nil, err
		}
		objs = append(objs, obj)
	}
}

// isBlankYAML reports a document holding only comments and blank lines.
func isBlankYAML(doc []byte) bool {
	for line := range strings.SplitSeq(string(doc), "\n") {
		line = strings.TrimSpace(line)
		if line != "" && !strings.HasPrefix(line, "#") && line != "---" {
			return false
		}
	}
	return true
}

// loadManifests decodes every file of k8s-sandbox/manifests.
func loadManifests(t *testing.T) []manifest {
	t.Helper()
	dir := filepath.Join(repoRoot(t), manifestsDir)
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no manifests in %s", manifestsDir)
	}
	var out []manifest
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		objs, err := decodeAll(data)
		if err != nil {
			t.Fatalf("%s: %v", filepath.Base(f), err)
		}
		for _, o := range objs {
			out = append(out, manifest{file: filepath.Base(f), obj: o})
		}
	}
	return out
}

// only returns the single object of type T named name, failing otherwise.
func only[T runtime.Object](t *testing.T, ms []manifest, name string) T {
	t.Helper()
	var found []T
	for _, m := range ms {
		if o, ok := m.obj.(T); ok && objectName(m.obj) == name {
			found = append(found, o)
		}
	}
	if len(found) != 1 {
		var zero T
		t.Fatalf("want exactly one %T named %q, found %d", zero, name, len(found))
	}
	return found[0]
}

// kindOf names the kind of a typed object through client-go's scheme.
func kindOf(t *testing.T, o runtime.Object) string {
	t.Helper()
	gvks, _, err := scheme.Scheme.ObjectKinds(o)
	if err != nil || len(gvks) == 0 {
		t.Fatalf("kind of %T: %v", o, err)
	}
	return gvks[0].Kind
}

func objectName(o runtime.Object) string {
	if m, ok := o.(interface{ GetName() string }); ok {
		return m.GetName()
	}
	return ""
}

func objectNamespace(o runtime.Object) string {
	if m, ok := o.(interface{ GetNamespace() string }); ok {
		return m.GetNamespace()
	}
	return ""
}

func TestStrictDecoderRejectsUnknownFields(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		ok   bool
	}{
		{"valid", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n", true},
		{"unknown field", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndatta: {}\n", false},
		{"misplaced field", "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: a}\n" +
			"spec: {replicas: 1, image: x}\n", false},
		{"duplicate field", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, name: b}\n", false},
		{"unknown kind", "apiVersion: v1\nkind: Gadget\nmetadata: {name: a}\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeAll([]byte(tt.doc))
			if (err == nil) != tt.ok {
				t.Fatalf("decode error = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

// wantObjects is every object the manifests must hold, and nothing else.
var wantObjects = []string{
	"Namespace//kafka",
	"ServiceAccount/kafka/kafkatune-agent",
	"ServiceAccount/kafka/kafkatune-exporter",
	"ServiceAccount/kafka/kafkatune-vibectl",
	"Role/kafka/kafkatune-agent",
	"Role/kafka/kafkatune-exporter",
	"Role/kafka/kafkatune-vibectl",
	"RoleBinding/kafka/kafkatune-agent",
	"RoleBinding/kafka/kafkatune-exporter",
	"RoleBinding/kafka/kafkatune-vibectl",
	"Service/kafka/kafka-headless",
	"Service/kafka/kafka-external",
	"StatefulSet/kafka/kafka-controller",
	"ConfigMap/kafka/kafka-latency-metrics",
}

func TestManifestsHoldExactlyTheExpectedObjects(t *testing.T) {
	var got []string
	for _, m := range loadManifests(t) {
		got = append(got, kindOf(t, m.obj)+"/"+objectNamespace(m.obj)+"/"+objectName(m.obj))
	}
	slices.Sort(got)
	want := slices.Clone(wantObjects)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("manifest objects:\n got %q\nwant %q", got, want)
	}
}

func TestManifestsAreNamespacedInKafka(t *testing.T) {
	for _, m := range loadManifests(t) {
		switch o := m.obj.(type) {
		case *corev1.Namespace:
			if o.Name != kafkaNS {
				t.Errorf("%s: namespace %q, want only %q", m.file, o.Name, kafkaNS)
			}
		case *rbacv1.ClusterRole, *rbacv1.ClusterRoleBinding:
			t.Errorf("%s: cluster-wide RBAC object %s", m.file, objectName(m.obj))
		default:
			if ns := objectNamespace(m.obj); ns != kafkaNS {
				t.Errorf("%s: %s in namespace %q, want %q", m.file, objectName(m.obj), ns, kafkaNS)
			}
		}
	}
}

func TestLatencyConfigMapHasTheStatusKeys(t *testing.T) {
	cm := only[*corev1.ConfigMap](t, loadManifests(t), status.ConfigMapName)
	if cm.Namespace != status.ConfigMapNamespace {
		t.Errorf("namespace %q, want %q", cm.Namespace, status.ConfigMapNamespace)
	}
	var want []string
	for k := range (&status.Snapshot{}).ConfigMapData() {
		want = append(want, k)
	}
	var got []string
	for k, v := range cm.Data {
		got = append(got, k)
		if v != status.NotAvailable {
			t.Errorf("initial %s = %q, want %q", k, v, status.NotAvailable)
		}
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("keys:\n got %q\nwant %q (internal/status)", got, want)
	}
}

func TestKafkaServices(t *testing.T) {
	ms := loadManifests(t)
	sts := only[*appsv1.StatefulSet](t, ms, kafkaSTS)
	headless := only[*corev1.Service](t, ms, "kafka-headless")
	external := only[*corev1.Service](t, ms, "kafka-external")

	if sts.Spec.ServiceName != headless.Name {
		t.Errorf("serviceName %q, want the headless Service %q", sts.Spec.ServiceName, headless.Name)
	}
	if headless.Spec.ClusterIP != corev1.ClusterIPNone {
		t.Errorf("kafka-headless clusterIP %q, want None", headless.Spec.ClusterIP)
	}
	if external.Spec.Type != corev1.ServiceTypeNodePort {
		t.Errorf("kafka-external type %q, want NodePort", external.Spec.Type)
	}
	pod := sts.Spec.Template.Labels
	for _, svc := range []*corev1.Service{headless, external} {
		if len(svc.Spec.Selector) == 0 {
			t.Errorf("%s has no selector", svc.Name)
		}
		for k, v := range svc.Spec.Selector {
			if pod[k] != v {
				t.Errorf("%s selects %s=%s, which the broker pod lacks", svc.Name, k, v)
			}
		}
	}
	ports := containerPorts(kafkaContainer(t, sts))
	for _, svc := range []*corev1.Service{headless, external} {
		for _, p := range svc.Spec.Ports {
			if _, ok := ports[p.TargetPort.String()]; !ok {
				t.Errorf("%s port %s targets %q, not a named port of the kafka container",
					svc.Name, p.Name, p.TargetPort.String())
			}
		}
	}
	for name, want := range map[string]int32{"external": 30094, "metrics": 30404} {
		if got := nodePort(external, name); got != want {
			t.Errorf("kafka-external %s nodePort = %d, want %d", name, got, want)
		}
	}
}

func nodePort(svc *corev1.Service, name string) int32 {
	for _, p := range svc.Spec.Ports {
		if p.Name == name {
			return p.NodePort
		}
	}
	return 0
}

func containerPorts(c *corev1.Container) map[string]int32 {
	out := map[string]int32{}
	for _, p := range c.Ports {
		out[p.Name] = p.ContainerPort
	}
	return out
}
