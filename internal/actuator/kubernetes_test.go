package actuator_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kafkatune/kafkatune/internal/actuator"
	"github.com/kafkatune/kafkatune/internal/brokercfg"
	"github.com/kafkatune/kafkatune/internal/knobs"
	"github.com/kafkatune/kafkatune/internal/testlog"
)

// These tests use client-go's fake clientset only because no Kubernetes
// API server can run on the machines that build this project. Reactors
// play the API server's part (a spec change bumps metadata.generation) and
// the StatefulSet controller's (the roll: a new revision, the pod
// replaced, then ready).

const (
	ns      = actuator.DefaultNamespace
	stsName = actuator.DefaultStatefulSet
	podName = stsName + "-0"
)

var (
	stsGVR = appsv1.SchemeGroupVersion.WithResource("statefulsets")
	podGVR = corev1.SchemeGroupVersion.WithResource("pods")
	labels = map[string]string{"app.kubernetes.io/name": "kafka"}
)

// cluster is a fake clientset with a simulated StatefulSet controller.
type cluster struct {
	t  *testing.T
	cs *fake.Clientset

	mu      sync.Mutex
	stuck   bool     // the new pod never becomes ready
	lagged  bool     // the controller has let one read pass since the patch
	patches [][]byte // every patch of the StatefulSet
	events  *events
	threads *fakeThreads // told when the broker restarts
}

// events records the order of changes across the cluster and the broker.
type events struct {
	mu   sync.Mutex
	list []string
}

func (e *events) add(s string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.list = append(e.list, s)
}

func (e *events) get() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.list)
}

// newCluster returns a cluster whose StatefulSet has finished rolling out
// a template carrying s, with its one pod ready.
func newCluster(t *testing.T, s knobs.Setting, th *fakeThreads) *cluster {
	t.Helper()
	sts := brokerStatefulSet(s)
	rev := revision(&sts.Spec.Template)
	sts.Status = appsv1.StatefulSetStatus{
		ObservedGeneration: 1, Replicas: 1, ReadyReplicas: 1, UpdatedReplicas: 1,
		CurrentReplicas: 1, CurrentRevision: rev, UpdateRevision: rev,
	}
	c := &cluster{
		t: t, cs: fake.NewClientset(sts, pod(&sts.Spec.Template, rev, true)),
		events: th.events, threads: th,
	}
	c.cs.PrependReactor("patch", "statefulsets", c.patch)
	c.cs.PrependReactor("get", "statefulsets", func(k8stesting.Action) (bool, runtime.Object, error) {
		c.step()
		return false, nil, nil // the tracker answers with the stepped object
	})
	return c
}

func brokerStatefulSet(s knobs.Setting) *appsv1.StatefulSet {
	one := int32(1)
	env := []corev1.EnvVar{
		{Name: "KAFKA_NODE_ID", Value: "1"},
		{Name: knobs.EnvHeapOpts, Value: s.HeapOpts()},
		{Name: knobs.EnvNetworkThreads, Value: fmt.Sprint(s.NetworkThreads)},
		{Name: knobs.EnvIOThreads, Value: fmt.Sprint(s.IOThreads)},
		{Name: "KAFKA_OPTS", Value: "-javaagent:/jmx.jar=9404:/etc/jmx.yml"},
	}
	return &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: stsName, Namespace: ns, Generation: 1},
		Spec: appsv1.StatefulSetSpec{
			Replicas: &one,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{
					{Name: "kafka", Image: "apache/kafka:4.1.1", Env: env},
				}},
			},
		},
	}
}

// revision names a pod template as the controller does: by a hash.
func revision(tpl *corev1.PodTemplateSpec) string {
	b, _ := json.Marshal(tpl)
	h := fnv.New32a()
	_, _ = h.Write(b)
	return fmt.Sprintf("%s-%08x", stsName, h.Sum32())
}

// pod returns the StatefulSet's pod made from tpl at revision rev.
func pod(tpl *corev1.PodTemplateSpec, rev string, ready bool) *corev1.Pod {
	l := map[string]string{appsv1.ControllerRevisionHashLabelKey: rev}
	for k, v := range tpl.Labels {
		l[k] = v
	}
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: podName, Namespace: ns, Labels: l},
		Spec:       *tpl.Spec.DeepCopy(),
		Status: corev1.PodStatus{Conditions: []corev1.PodCondition{
			{Type: corev1.PodReady, Status: status},
		}},
	}
}

// patch applies a strategic merge patch as the API server does, bumping
// the generation when the spec changes.
func (c *cluster) patch(a k8stesting.Action) (bool, runtime.Object, error) {
	pa := a.(k8stesting.PatchAction)
	c.mu.Lock()
	c.patches = append(c.patches, pa.GetPatch())
	c.mu.Unlock()
	c.events.add("patch")
	if pa.GetPatchType() != "application/strategic-merge-patch+json" {
		return true, nil, fmt.Errorf("unexpected patch type %s", pa.GetPatchType())
	}
	old := c.sts()
	orig, err := json.Marshal(old)
	if err != nil {
		return true, nil, err
	}
	merged, err := strategicpatch.StrategicMergePatch(orig, pa.GetPatch(), &appsv1.StatefulSet{})
	if err != nil {
		return true, nil, err
	}
	sts := &appsv1.StatefulSet{}
	if err := json.Unmarshal(merged, sts); err != nil {
		return true, nil, err
	}
	if !equality.Semantic.DeepEqual(old.Spec, sts.Spec) {
		sts.Generation++
	}
	return true, sts, c.cs.Tracker().Update(stsGVR, sts, ns)
}

// step moves the simulated controller one step: first it observes a new
// generation, records the new revision and replaces the pod (not ready
// yet); next the pod becomes ready and the roll completes, unless stuck.
func (c *cluster) step() {
	c.mu.Lock()
	defer c.mu.Unlock()
	sts := c.sts()
	st := &sts.Status
	switch {
	case st.ObservedGeneration < sts.Generation && !c.lagged:
		// The first read after a patch still sees the old status, as a
		// controller that has not caught up yet would leave it.
		c.lagged = true
		return
	case st.ObservedGeneration < sts.Generation:
		c.lagged = false
		st.ObservedGeneration = sts.Generation
		if rev := revision(&sts.Spec.Template); rev != st.UpdateRevision {
			st.UpdateRevision, st.UpdatedReplicas, st.ReadyReplicas = rev, 0, 0
			c.replacePod(pod(&sts.Spec.Template, rev, false))
			c.threads.restart()
		}
	case st.CurrentRevision != st.UpdateRevision && !c.stuck:
		c.replacePod(pod(&sts.Spec.Template, st.UpdateRevision, true))
		st.UpdatedReplicas, st.ReadyReplicas = 1, 1
		st.CurrentRevision = st.UpdateRevision
		c.events.add("rolled")
	default:
		return
	}
	if err := c.cs.Tracker().Update(stsGVR, sts, ns); err != nil {
		c.t.Errorf("controller: update statefulset: %v", err)
	}
}

func (c *cluster) replacePod(p *corev1.Pod) {
	if err := c.cs.Tracker().Update(podGVR, p, ns); err != nil {
		c.t.Errorf("controller: replace pod: %v", err)
	}
}

func (c *cluster) sts() *appsv1.StatefulSet {
	obj, err := c.cs.Tracker().Get(stsGVR, ns, stsName)
	if err != nil {
		c.t.Fatalf("tracker: %v", err)
	}
	return obj.(*appsv1.StatefulSet).DeepCopy()
}

func (c *cluster) patchList() [][]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.patches)
}

// env returns the knob variables of the StatefulSet's container, in order,
// and every variable name.
func (c *cluster) env() (map[string]string, []string) {
	vals, names := map[string]string{}, []string{}
	for _, e := range c.sts().Spec.Template.Spec.Containers[0].Env {
		vals[e.Name] = e.Value
		names = append(names, e.Name)
	}
	return vals, names
}

// fakeThreads stands in for the Admin API (our own ThreadConfigurer
// interface). After a restart the broker keeps the value last set, as a
// per-broker dynamic config does.
type fakeThreads struct {
	mu       sync.Mutex
	cur      brokercfg.Threads
	sets     []brokercfg.Threads
	ignore   bool // SetThreads succeeds but changes nothing
	down     int  // Threads fails this many more times
	downNext int  // down after each restart
	events   *events
}

func newFakeThreads(t brokercfg.Threads) *fakeThreads {
	return &fakeThreads{cur: t, events: &events{}}
}

func (f *fakeThreads) Threads(context.Context) (brokercfg.Threads, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down > 0 {
		f.down--
		return brokercfg.Threads{}, errors.New("describe cluster: broker transport failure")
	}
	return f.cur, nil
}

func (f *fakeThreads) SetThreads(_ context.Context, t brokercfg.Threads) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sets = append(f.sets, t)
	if !f.ignore {
		f.cur = t
	}
	f.events.add("set threads " + t.String())
	return nil
}

func (f *fakeThreads) restart() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down = f.downNext
}

func (f *fakeThreads) setCalls() []brokercfg.Threads {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.sets)
}

func newKubernetes(t *testing.T, c *cluster, th actuator.ThreadConfigurer, timeout time.Duration) *actuator.Kubernetes {
	t.Helper()
	k, err := actuator.NewKubernetes(testlog.New(t), c.cs, th, knobs.DefaultLimits().Bounds(),
		actuator.KubernetesConfig{RolloutTimeout: timeout, PollInterval: 5 * time.Millisecond})
	if err != nil {
		t.Fatalf("NewKubernetes: %v", err)
	}
	return k
}

// patchedNames returns the env names a strategic merge patch sets.
func patchedNames(t *testing.T, patch []byte) []string {
	t.Helper()
	var p struct {
		Spec struct {
			Template struct {
				Spec struct {
					Containers []struct {
						Name string `json:"name"`
						Env  []struct {
							Name string `json:"name"`
						} `json:"env"`
					} `json:"containers"`
				} `json:"spec"`
			} `json:"template"`
		} `json:"spec"`
	}
	if err := json.Unmarshal(patch, &p); err != nil {
		t.Fatalf("patch %s: %v", patch, err)
	}
	var top map[string]map[string]any
	_ = json.Unmarshal(patch, &top)
	if len(top) != 1 || len(top["spec"]) != 1 {
		t.Errorf("patch %s touches more than spec.template", patch)
	}
	cs := p.Spec.Template.Spec.Containers
	if len(cs) != 1 || cs[0].Name != actuator.DefaultContainer {
		t.Fatalf("patch %s: want exactly the container kafka", patch)
	}
	var names []string
	for _, e := range cs[0].Env {
		names = append(names, e.Name)
	}
	return names
}

func TestKubernetesHeapChangeRolls(t *testing.T) {
	start := knobs.Start()
	th := newFakeThreads(brokercfg.Threads{Network: 1, IO: 2})
	th.downNext = 3 // the restarted broker answers the Admin API late
	c := newCluster(t, start, th)
	k := newKubernetes(t, c, th, 10*time.Second)
	ctx := context.Background()

	want := knobs.Setting{HeapMB: 1024, NetworkThreads: 1, IOThreads: 2}
	if err := k.Apply(ctx, want); err != nil {
		t.Fatalf("Apply(%s): %v", want, err)
	}
	patches := c.patchList()
	if len(patches) != 1 {
		t.Fatalf("%d patches, want 1", len(patches))
	}
	if names := patchedNames(t, patches[0]); !slices.Equal(names, []string{knobs.EnvHeapOpts}) {
		t.Errorf("patch sets %v, want only %s", names, knobs.EnvHeapOpts)
	}
	vals, names := c.env()
	if vals[knobs.EnvHeapOpts] != "-Xms1024m -Xmx1024m" {
		t.Errorf("%s = %q after apply", knobs.EnvHeapOpts, vals[knobs.EnvHeapOpts])
	}
	wantNames := []string{"KAFKA_NODE_ID", knobs.EnvHeapOpts, knobs.EnvNetworkThreads,
		knobs.EnvIOThreads, "KAFKA_OPTS"}
	if !slices.Equal(names, wantNames) || vals["KAFKA_OPTS"] != "-javaagent:/jmx.jar=9404:/etc/jmx.yml" {
		t.Errorf("env after apply = %v, want the other variables untouched", vals)
	}
	if sets := th.setCalls(); len(sets) != 0 {
		t.Errorf("SetThreads called %v for a heap-only change", sets)
	}
	if got, err := k.Current(ctx); err != nil || got != want {
		t.Errorf("Current() = %s, %v; want %s", got, err, want)
	}
	sts := c.sts()
	if sts.Generation != 2 || sts.Status.CurrentRevision != sts.Status.UpdateRevision {
		t.Errorf("generation %d, revisions %s/%s: want one finished roll",
			sts.Generation, sts.Status.CurrentRevision, sts.Status.UpdateRevision)
	}
}

func TestKubernetesThreadChangeLiveThenPatched(t *testing.T) {
	th := newFakeThreads(brokercfg.Threads{Network: 1, IO: 2})
	c := newCluster(t, knobs.Start(), th)
	k := newKubernetes(t, c, th, 10*time.Second)
	ctx := context.Background()

	want := knobs.Setting{HeapMB: 256, NetworkThreads: 4, IOThreads: 8}
	if err := k.Apply(ctx, want); err != nil {
		t.Fatalf("Apply(%s): %v", want, err)
	}
	wantEvents := []string{"set threads network_threads=4 io_threads=8", "patch", "rolled"}
	if got := th.events.get(); !slices.Equal(got, wantEvents) {
		t.Errorf("events = %v, want %v", got, wantEvents)
	}
	patches := c.patchList()
	if len(patches) != 1 {
		t.Fatalf("%d patches, want 1", len(patches))
	}
	names := patchedNames(t, patches[0])
	if !slices.Equal(names, []string{knobs.EnvNetworkThreads, knobs.EnvIOThreads}) {
		t.Errorf("patch sets %v, want the two thread variables", names)
	}
	vals, _ := c.env()
	if vals[knobs.EnvNetworkThreads] != "4" || vals[knobs.EnvIOThreads] != "8" ||
		vals[knobs.EnvHeapOpts] != "-Xms256m -Xmx256m" {
		t.Errorf("env after apply = %v", vals)
	}
	if got, err := k.Current(ctx); err != nil || got != want {
		t.Errorf("Current() = %s, %v; want %s", got, err, want)
	}
}

func TestKubernetesNoChangeNoRoll(t *testing.T) {
	th := newFakeThreads(brokercfg.Threads{Network: 1, IO: 2})
	c := newCluster(t, knobs.Start(), th)
	k := newKubernetes(t, c, th, 10*time.Second)
	if err := k.Apply(context.Background(), knobs.Start()); err != nil {
		t.Fatalf("Apply(start): %v", err)
	}
	if n := len(c.patchList()); n != 0 || len(th.setCalls()) != 0 || c.sts().Generation != 1 {
		t.Errorf("%d patches, %d thread sets, generation %d: want nothing changed",
			n, len(th.setCalls()), c.sts().Generation)
	}
}

func TestKubernetesRefusesOutOfBounds(t *testing.T) {
	th := newFakeThreads(brokercfg.Threads{Network: 1, IO: 2})
	c := newCluster(t, knobs.Start(), th)
	k := newKubernetes(t, c, th, 10*time.Second)
	for _, tt := range []struct {
		s    knobs.Setting
		text string
	}{
		{knobs.Setting{HeapMB: 4096, NetworkThreads: 1, IOThreads: 2}, "heap 4096 MiB is outside the allowed range 256..2048 MiB"},
		{knobs.Setting{HeapMB: 512, NetworkThreads: 9, IOThreads: 2}, "num.network.threads 9 is outside the allowed range 1..8"},
		{knobs.Setting{HeapMB: 512, NetworkThreads: 1, IOThreads: 0}, "num.io.threads 0 is outside the allowed range 1..16"},
	} {
		err := k.Apply(context.Background(), tt.s)
		var be *knobs.BoundError
		if !errors.As(err, &be) || !strings.Contains(err.Error(), tt.text) {
			t.Errorf("Apply(%s) = %v, want a bound error containing %q", tt.s, err, tt.text)
		}
	}
	if len(c.cs.Actions()) != 0 || len(th.setCalls()) != 0 {
		t.Errorf("refused settings made %d API calls and %d thread sets, want none",
			len(c.cs.Actions()), len(th.setCalls()))
	}
}

func TestKubernetesRolloutNeverFinishes(t *testing.T) {
	th := newFakeThreads(brokercfg.Threads{Network: 1, IO: 2})
	c := newCluster(t, knobs.Start(), th)
	c.stuck = true // the new pod never becomes ready (a crash loop, say)
	k := newKubernetes(t, c, th, 300*time.Millisecond)

	err := k.Apply(context.Background(), knobs.Setting{HeapMB: 512, NetworkThreads: 1, IOThreads: 2})
	if !errors.Is(err, actuator.ErrRolloutTimeout) {
		t.Fatalf("Apply on a stuck roll = %v, want ErrRolloutTimeout", err)
	}
	for _, want := range []string{"statefulset kafka/kafka-controller", "within 300ms",
		"updated 0, ready 0", "revision current"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	// The old pod is gone and the new one is not ready: nothing to read.
	if _, err := k.Current(context.Background()); err == nil ||
		!strings.Contains(err.Error(), "no ready pod of the current revision") {
		t.Errorf("Current() during a stuck roll = %v, want no ready pod", err)
	}
}

func TestKubernetesThreadsNotInEffect(t *testing.T) {
	th := newFakeThreads(brokercfg.Threads{Network: 1, IO: 2})
	th.ignore = true
	c := newCluster(t, knobs.Start(), th)
	k := newKubernetes(t, c, th, 10*time.Second)

	want := knobs.Setting{HeapMB: 256, NetworkThreads: 2, IOThreads: 2}
	err := k.Apply(context.Background(), want)
	var mismatch *actuator.MismatchError
	if !errors.As(err, &mismatch) || mismatch.Want != want || mismatch.Got != knobs.Start() {
		t.Fatalf("Apply with threads that do not take = %v, want a MismatchError got %s", err, knobs.Start())
	}
}

// TestKubernetesCurrentReadsRunningPod checks that the heap comes from the
// pod of the current revision, not from the StatefulSet's spec.
func TestKubernetesCurrentReadsRunningPod(t *testing.T) {
	th := newFakeThreads(brokercfg.Threads{Network: 1, IO: 2})
	c := newCluster(t, knobs.Start(), th)
	sts := c.sts()
	sts.Spec.Template.Spec.Containers[0].Env[1].Value = "-Xms1024m -Xmx1024m"
	// The controller has seen the new spec but not yet replaced the pod.
	sts.Generation, sts.Status.ObservedGeneration = 2, 2
	sts.Status.UpdateRevision = revision(&sts.Spec.Template)
	if err := c.cs.Tracker().Update(stsGVR, sts, ns); err != nil {
		t.Fatal(err)
	}
	c.stuck = true
	k := newKubernetes(t, c, th, time.Second)
	got, err := k.Current(context.Background())
	if err != nil || got != knobs.Start() {
		t.Fatalf("Current() = %s, %v; want %s (what the pod runs)", got, err, knobs.Start())
	}
}

// TestKubernetesReplacesValueFrom checks that a knob variable taken from
// elsewhere becomes a literal value.
func TestKubernetesReplacesValueFrom(t *testing.T) {
	th := newFakeThreads(brokercfg.Threads{Network: 1, IO: 2})
	c := newCluster(t, knobs.Start(), th)
	sts := c.sts()
	sts.Spec.Template.Spec.Containers[0].Env[3] = corev1.EnvVar{
		Name: knobs.EnvIOThreads,
		ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: "knobs"}, Key: "io",
		}},
	}
	if err := c.cs.Tracker().Update(stsGVR, sts, ns); err != nil {
		t.Fatal(err)
	}
	k := newKubernetes(t, c, th, 10*time.Second)
	if err := k.Apply(context.Background(), knobs.Start()); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	e := c.sts().Spec.Template.Spec.Containers[0].Env[3]
	if e.Name != knobs.EnvIOThreads || e.Value != "2" || e.ValueFrom != nil {
		t.Errorf("env after apply = %+v, want a literal 2", e)
	}
}

func TestNewKubernetesNeedsParts(t *testing.T) {
	th := newFakeThreads(brokercfg.Threads{Network: 1, IO: 2})
	b := knobs.DefaultLimits().Bounds()
	if _, err := actuator.NewKubernetes(testlog.New(t), nil, th, b, actuator.KubernetesConfig{}); err == nil {
		t.Error("NewKubernetes without a client succeeded")
	}
	if _, err := actuator.NewKubernetes(testlog.New(t), fake.NewClientset(), th, knobs.Bounds{},
		actuator.KubernetesConfig{}); err == nil {
		t.Error("NewKubernetes with empty bounds succeeded")
	}
}
