package deploycheck

import (
	"context"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kafkatune/kafkatune/internal/actuator"
	"github.com/kafkatune/kafkatune/internal/brokercfg"
	"github.com/kafkatune/kafkatune/internal/knobs"
	"github.com/kafkatune/kafkatune/internal/kube"
	"github.com/kafkatune/kafkatune/internal/status"
	"github.com/kafkatune/kafkatune/internal/testlog"
	"github.com/kafkatune/kafkatune/internal/vibectl"
)

// The ServiceAccounts of k8s-sandbox/manifests/10-rbac.yaml.
const (
	saAgent    = "kafkatune-agent"
	saExporter = "kafkatune-exporter"
	saVibectl  = "kafkatune-vibectl"
)

// apiCall is one kind of request an identity makes to the API server.
type apiCall struct {
	sa       string
	group    string   // API group, "" for the core group
	resource string   // plural resource, "pods/log" for a subresource
	name     string   // the one object asked for; "" for any
	verbs    []string // RBAC verbs
	// withheld, when set, says why the Role does not grant the call
	// although the code can make it.
	withheld string
	// kubectl are vibectl's commands that need the call, as vibectl
	// would run them; the shim must let each of them through.
	kubectl []string
}

// apiCalls is every request the stack's identities make, and with it what
// their Roles must grant: each Role grants exactly the rows of its
// ServiceAccount that are not withheld. TestAPICallsOfTheCode runs the Go
// code against a recording client and fails on a call missing here (or a
// row no code makes); TestVibectlCallsMatchTheShim ties vibectl's rows to
// the commands the kubectl shim lets through.
var apiCalls = []apiCall{
	// agent: internal/actuator/kubernetes.go (Kubernetes.get, Kubernetes.patch:
	// read the StatefulSet, patch its knob variables) and
	// internal/vibectl/guard.go (Guard.get, Guard.update, a JSON patch), which
	// `agent vibectl` runs with the agent's kubeconfig
	// (k8s-sandbox/entrypoint.sh passes --kubeconfig).
	{sa: saAgent, group: "apps", resource: "statefulsets", name: kafkaSTS, verbs: []string{"get", "patch"}},
	// agent: internal/actuator/rollout.go (readyPods: list the StatefulSet's
	// pods by its label selector, to read the heap they run with and to see
	// the roll finish). A list cannot be limited to names.
	{sa: saAgent, resource: "pods", verbs: []string{"list"}},

	// exporter: internal/kube/configmap.go (ConfigMapWriter.get, .update),
	// used by internal/bridge/sink.go.
	{sa: saExporter, resource: "configmaps", name: status.ConfigMapName, verbs: []string{"get", "update"}},
	// exporter: internal/kube/configmap.go (ConfigMapWriter.create), only
	// when the ConfigMap is missing.
	{sa: saExporter, resource: "configmaps", name: status.ConfigMapName, verbs: []string{"create"},
		withheld: "30-latency-metrics.yaml creates the ConfigMap, and RBAC cannot limit a create " +
			"to one name: granting it would let the bridge create any ConfigMap in kafka"},

	// vibectl: the commands internal/vibectl/shim.go (Decide) lets through,
	// run by kubectl 1.32 (k8s-sandbox/Dockerfile) with vibectl's
	// kubeconfig. The shim refuses --watch and --follow, so only the
	// commands that watch by themselves need watch.
	{sa: saVibectl, resource: "pods", verbs: []string{"get", "list", "watch"}, kubectl: []string{
		"get pods", "get pod kafka-controller-0 -o yaml", "describe pod kafka-controller-0",
		"describe statefulset kafka-controller", // lists the pods
		"top pod kafka-controller-0",            // gets the pod when it has no metrics
		"logs statefulset/kafka-controller",     // lists the pods, watches while none runs
	}},
	{sa: saVibectl, resource: "pods/log", verbs: []string{"get"}, kubectl: []string{
		"logs kafka-controller-0 --tail=100", "logs kafka-controller-0 -c kafka --previous",
	}},
	{sa: saVibectl, resource: "services", verbs: []string{"get", "list"}, kubectl: []string{
		"get svc", "describe service kafka-external",
	}},
	// kubectl 1.32 describes a Service with its Endpoints (1.33 moved to
	// EndpointSlices).
	{sa: saVibectl, resource: "endpoints", verbs: []string{"get", "list"}, kubectl: []string{
		"get endpoints", "describe service kafka-external",
	}},
	{sa: saVibectl, resource: "configmaps", verbs: []string{"get", "list"}, kubectl: []string{
		"get configmap kafka-latency-metrics -o jsonpath={.data}", "get cm",
	}},
	{sa: saVibectl, resource: "events", verbs: []string{"get", "list"}, kubectl: []string{
		"events", "get events", "describe pod kafka-controller-0",
	}},
	{sa: saVibectl, resource: "persistentvolumeclaims", verbs: []string{"get", "list"}, kubectl: []string{
		"get pvc", "describe pvc data-kafka-controller-0",
	}},
	{sa: saVibectl, group: "apps", resource: "statefulsets", verbs: []string{"get", "list", "watch"}, kubectl: []string{
		"get statefulset kafka-controller -o yaml", "get sts",
		"rollout status statefulset/kafka-controller", // lists and watches it by name
		"set env statefulset/kafka-controller --list", // set env reads before it patches
	}},
	// vibectl: the changes, and internal/vibectl/guard.go when `agent
	// vibectl` gets no -kubeconfig of its own (Config.guardSource).
	{sa: saVibectl, group: "apps", resource: "statefulsets", name: kafkaSTS, verbs: []string{"patch"}, kubectl: []string{
		"set env statefulset/kafka-controller -c kafka KAFKA_NUM_IO_THREADS=4",
		`patch statefulset kafka-controller -p {"spec":{"template":{"spec":{"containers":[{"name":"kafka","env":[{"name":"KAFKA_NUM_NETWORK_THREADS","value":"2"}]}]}}}}`,
		"rollout restart statefulset/kafka-controller",
	}},
	{sa: saVibectl, group: "apps", resource: "controllerrevisions", verbs: []string{"list"}, kubectl: []string{
		"rollout history statefulset/kafka-controller",
	}},
	{sa: saVibectl, group: "metrics.k8s.io", resource: "pods", verbs: []string{"get", "list"}, kubectl: []string{
		"top pod", "top pod kafka-controller-0",
	}},
}

// access is one verb on one resource (and object, "" for any).
type access struct {
	group, resource, name, verb string
}

func (a access) String() string {
	s := a.verb + " " + a.resource
	if a.group != "" {
		s += "." + a.group
	}
	if a.name != "" {
		s += "/" + a.name
	}
	return s
}

// covers reports whether a grant of g allows the request r.
func (g access) covers(r access) bool {
	return g.group == r.group && g.resource == r.resource && g.verb == r.verb &&
		(g.name == "" || g.name == r.name)
}

// tableAccess returns the accesses of sa's rows, granted or withheld.
func tableAccess(sa string, withheld bool) []access {
	var out []access
	for _, c := range apiCalls {
		if c.sa != sa || (c.withheld != "") != withheld {
			continue
		}
		for _, v := range c.verbs {
			out = append(out, access{c.group, c.resource, c.name, v})
		}
	}
	return sortedAccess(out)
}

func sortedAccess(as []access) []access {
	slices.SortFunc(as, func(a, b access) int { return strings.Compare(a.String(), b.String()) })
	return slices.Compact(as)
}

// roleAccess expands the Role of sa into single accesses. A wildcard stays
// a "*" and so matches no row.
func roleAccess(t *testing.T, role *rbacv1.Role) []access {
	t.Helper()
	var out []access
	for _, r := range role.Rules {
		if len(r.NonResourceURLs) != 0 {
			t.Errorf("Role %s: a Role cannot grant non-resource URLs %v", role.Name, r.NonResourceURLs)
		}
		names := r.ResourceNames
		if len(names) == 0 {
			names = []string{""}
		}
		for _, g := range r.APIGroups {
			for _, res := range r.Resources {
				for _, n := range names {
					for _, v := range r.Verbs {
						out = append(out, access{g, res, n, v})
					}
				}
			}
		}
	}
	return sortedAccess(out)
}

func TestRolesGrantExactlyTheAPICalls(t *testing.T) {
	ms := loadManifests(t)
	for _, sa := range []string{saAgent, saExporter, saVibectl} {
		t.Run(sa, func(t *testing.T) {
			role := only[*rbacv1.Role](t, ms, sa)
			got, want := roleAccess(t, role), tableAccess(sa, false)
			for _, g := range got {
				if !slices.Contains(want, g) {
					t.Errorf("Role %s grants %s, which no code of the table needs", sa, g)
				}
			}
			for _, w := range want {
				if !slices.Contains(got, w) {
					t.Errorf("Role %s does not grant %s, which the code needs", sa, w)
				}
			}
			for _, w := range tableAccess(sa, true) {
				if slices.ContainsFunc(got, func(g access) bool { return g.covers(w) }) {
					t.Errorf("Role %s grants %s, which the table withholds", sa, w)
				}
			}

			only[*corev1.ServiceAccount](t, ms, sa)
			rb := only[*rbacv1.RoleBinding](t, ms, sa)
			if rb.RoleRef.Kind != "Role" || rb.RoleRef.Name != sa || rb.RoleRef.APIGroup != rbacv1.GroupName {
				t.Errorf("RoleBinding %s refers to %+v, want the Role %s", sa, rb.RoleRef, sa)
			}
			want1 := rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Name: sa, Namespace: kafkaNS}
			if len(rb.Subjects) != 1 || rb.Subjects[0] != want1 {
				t.Errorf("RoleBinding %s binds %+v, want only %+v", sa, rb.Subjects, want1)
			}
		})
	}
}

// TestWithheldCreateIsNotNeeded checks the reason the exporter's create is
// withheld: the manifests create the ConfigMap.
func TestWithheldCreateIsNotNeeded(t *testing.T) {
	ms := loadManifests(t)
	for _, c := range apiCalls {
		if c.withheld == "" || !slices.Contains(c.verbs, "create") {
			continue
		}
		if c.resource != "configmaps" || c.name == "" {
			t.Fatalf("withheld create of %s/%s: no check for it here", c.resource, c.name)
		}
		cm := only[*corev1.ConfigMap](t, ms, c.name)
		if cm.Namespace != kafkaNS {
			t.Errorf("ConfigMap %s in %q, want %s", c.name, cm.Namespace, kafkaNS)
		}
	}
}

// recorder is a fake clientset that remembers every request. client-go's
// fake is used only because no API server can run on the project's
// machines; it answers from an in-memory object tracker.
type recorder struct {
	*fake.Clientset
}

func newRecorder(t *testing.T) *recorder {
	t.Helper()
	return &recorder{fake.NewClientset()}
}

// accesses returns the requests made so far.
func (r *recorder) accesses(t *testing.T) []access {
	t.Helper()
	var out []access
	for _, a := range r.Actions() {
		res := a.GetResource().Resource
		if a.GetSubresource() != "" {
			res += "/" + a.GetSubresource()
		}
		var name string
		switch a := a.(type) {
		case k8stesting.GetAction:
			name = a.GetName()
		case k8stesting.PatchAction:
			name = a.GetName()
		case k8stesting.UpdateAction:
			name = objectName(a.GetObject())
		case k8stesting.CreateAction:
			name = objectName(a.GetObject())
		case k8stesting.ListAction, k8stesting.WatchAction:
		default:
			t.Fatalf("unexpected request %T %s %s", a, a.GetVerb(), res)
		}
		if a.GetNamespace() != kafkaNS {
			t.Errorf("%s %s in namespace %q, want %s", a.GetVerb(), res, a.GetNamespace(), kafkaNS)
		}
		out = append(out, access{a.GetResource().Group, res, name, a.GetVerb()})
	}
	return sortedAccess(out)
}

// brokerObjects returns the manifests' StatefulSet, rolled out, and its
// one ready pod.
func brokerObjects(t *testing.T) (*appsv1.StatefulSet, *corev1.Pod) {
	t.Helper()
	sts := only[*appsv1.StatefulSet](t, loadManifests(t), kafkaSTS).DeepCopy()
	const rev = kafkaSTS + "-1"
	sts.Generation = 1
	sts.Status = appsv1.StatefulSetStatus{
		ObservedGeneration: 1, Replicas: 1, ReadyReplicas: 1, UpdatedReplicas: 1,
		CurrentReplicas: 1, CurrentRevision: rev, UpdateRevision: rev,
	}
	labels := maps.Clone(sts.Spec.Template.Labels)
	labels[appsv1.ControllerRevisionHashLabelKey] = rev
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: kafkaSTS + "-0", Namespace: kafkaNS, Labels: labels},
		Spec:       *sts.Spec.Template.Spec.DeepCopy(),
		Status: corev1.PodStatus{Conditions: []corev1.PodCondition{
			{Type: corev1.PodReady, Status: corev1.ConditionTrue},
		}},
	}
	return sts, pod
}

// adminAPI stands in for the broker's Admin API, which the actuator uses
// for the thread counts.
type adminAPI struct {
	mu sync.Mutex
	t  brokercfg.Threads
}

func (a *adminAPI) Threads(context.Context) (brokercfg.Threads, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.t, nil
}

func (a *adminAPI) SetThreads(_ context.Context, t brokercfg.Threads) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.t = t
	return nil
}

// TestAPICallsOfTheCode runs each identity's Go code against a recording
// client and compares what it asks for with the table: every request must
// be in a row of its ServiceAccount, and every row of the agent and the
// exporter must be asked for (vibectl's rows come from kubectl, below).
func TestAPICallsOfTheCode(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	limits := knobs.DefaultLimits()
	made := map[string][]access{}

	// The exporter's ConfigMap writer: create, then change, then no change.
	{
		r := newRecorder(t)
		w := &kube.ConfigMapWriter{Client: r, Namespace: kafkaNS, Name: status.ConfigMapName}
		for _, d := range []map[string]string{{"a": "1"}, {"a": "2"}, {"a": "2"}} {
			if _, err := w.Apply(ctx, d); err != nil {
				t.Fatalf("ConfigMapWriter.Apply: %v", err)
			}
		}
		made[saExporter] = r.accesses(t)
	}

	// The agent's Kubernetes actuator: read the setting, change the threads
	// (which patches the StatefulSet), follow the roll, read back.
	{
		sts, pod := brokerObjects(t)
		r := &recorder{fake.NewClientset(sts, pod)}
		start := knobs.Start()
		api := &adminAPI{t: brokercfg.Threads{Network: start.NetworkThreads, IO: start.IOThreads}}
		act, err := actuator.NewKubernetes(testlog.New(t), r, api, limits.Bounds(), actuator.KubernetesConfig{
			PollInterval: 10 * time.Millisecond, RolloutTimeout: 10 * time.Second,
		})
		if err != nil {
			t.Fatal(err)
		}
		next := start
		next.IOThreads++
		if err := act.Apply(ctx, next); err != nil {
			t.Fatalf("actuator Apply %s: %v", next, err)
		}
		made[saAgent] = r.accesses(t)
	}

	// The vibectl guard: start, find an out-of-bounds value, revert it.
	// In the stack it runs as the agent; without -kubeconfig as vibectl.
	{
		sts, _ := brokerObjects(t)
		r := &recorder{fake.NewClientset(sts)}
		g := vibectl.NewGuard(r, kafkaNS, kafkaSTS, "kafka", limits.Bounds(), 5*time.Second, testlog.New(t))
		if _, err := g.Start(ctx); err != nil {
			t.Fatalf("guard start: %v", err)
		}
		bad := sts.DeepCopy()
		c := &bad.Spec.Template.Spec.Containers[0]
		for i := range c.Env {
			if c.Env[i].Name == knobs.EnvIOThreads {
				c.Env[i].Value = "999"
			}
		}
		// Through the tracker: the change is vibectl's, not the guard's.
		if err := r.Tracker().Update(appsv1.SchemeGroupVersion.WithResource("statefulsets"), bad, kafkaNS); err != nil {
			t.Fatal(err)
		}
		reverts, err := g.Check(ctx)
		if err != nil || len(reverts) != 1 {
			t.Fatalf("guard check: reverts %v, err %v; want one revert", reverts, err)
		}
		guard := r.accesses(t)
		made[saAgent] = sortedAccess(append(made[saAgent], guard...))
		made[saVibectl] = guard
	}

	for sa, reqs := range made {
		granted, withheld := tableAccess(sa, false), tableAccess(sa, true)
		for _, req := range reqs {
			in := func(g access) bool { return g.covers(req) }
			if !slices.ContainsFunc(granted, in) && !slices.ContainsFunc(withheld, in) {
				t.Errorf("%s: the code asks for %s, which no row of the table has", sa, req)
			}
		}
		if sa == saVibectl {
			continue
		}
		for _, row := range append(granted, withheld...) {
			if !slices.ContainsFunc(reqs, row.covers) {
				t.Errorf("%s: the table has %s, which the code never asks for", sa, row)
			}
		}
	}
	if len(made[saAgent]) == 0 || len(made[saExporter]) == 0 {
		t.Fatalf("nothing recorded: %v", made)
	}
	t.Logf("recorded: %v", made)
}

// shimPolicy is the policy `agent vibectl` gives the kubectl shim in the
// stack.
func shimPolicy() *vibectl.Policy {
	return &vibectl.Policy{
		RealKubectl: "/usr/local/bin/kubectl", Kubeconfig: vibectlKube, Namespace: kafkaNS,
		StatefulSet: kafkaSTS, Container: "kafka", ProtectedConfigMap: status.ConfigMapName,
		Limits: knobs.DefaultLimits(),
	}
}

// TestVibectlCallsMatchTheShim ties vibectl's rows to the shim: each
// row's commands pass the shim, `get KIND` passes exactly for the kinds
// the Role lets vibectl get, and commands the shim refuses would find no
// grant either (two independent fences).
func TestVibectlCallsMatchTheShim(t *testing.T) {
	p := shimPolicy()
	for _, c := range apiCalls {
		if c.sa != saVibectl {
			continue
		}
		if len(c.kubectl) == 0 {
			t.Errorf("vibectl row %s %v names no kubectl command", c.resource, c.verbs)
		}
		for _, cmd := range c.kubectl {
			if d := vibectl.Decide(strings.Fields(cmd), p); !d.Allow {
				t.Errorf("the shim refuses %q (%s), which the row %s %v is for", cmd, d.Reason, c.resource, c.verbs)
			}
		}
	}

	// Kinds by group: what `kubectl get KIND` reads.
	kinds := map[string]string{
		"pods": "", "services": "", "endpoints": "", "configmaps": "", "events": "",
		"persistentvolumeclaims": "", "secrets": "", "serviceaccounts": "", "nodes": "",
		"namespaces": "", "replicationcontrollers": "", "resourcequotas": "",
		"statefulsets": "apps", "deployments": "apps", "replicasets": "apps", "daemonsets": "apps",
		"controllerrevisions": "apps", "jobs": "batch", "cronjobs": "batch",
		"roles": "rbac.authorization.k8s.io", "rolebindings": "rbac.authorization.k8s.io",
		"leases": "coordination.k8s.io",
	}
	role := roleAccess(t, only[*rbacv1.Role](t, loadManifests(t), saVibectl))
	for kind, group := range kinds {
		shim := vibectl.Decide([]string{"get", kind}, p).Allow
		granted := slices.Contains(role, access{group, kind, "", "get"}) &&
			slices.Contains(role, access{group, kind, "", "list"})
		if shim != granted {
			t.Errorf("get %s: the shim allows it: %v, the Role grants get and list: %v", kind, shim, granted)
		}
	}

	for _, tt := range []struct {
		cmd  string
		need access // what the API server would be asked
	}{
		{"get secrets", access{"", "secrets", "", "list"}},
		{"delete pod kafka-controller-0", access{"", "pods", "kafka-controller-0", "delete"}},
		{"exec kafka-controller-0 -- sh", access{"", "pods/exec", "kafka-controller-0", "create"}},
		{"scale statefulset kafka-controller --replicas=3", access{"apps", "statefulsets/scale", kafkaSTS, "patch"}},
		{"delete statefulset kafka-controller", access{"apps", "statefulsets", kafkaSTS, "delete"}},
		{"edit configmap kafka-latency-metrics", access{"", "configmaps", status.ConfigMapName, "patch"}},
		{"patch configmap kafka-latency-metrics -p {}", access{"", "configmaps", status.ConfigMapName, "patch"}},
		{"set env statefulset/other A=1", access{"apps", "statefulsets", "other", "patch"}},
		{"get pods -n kube-system", access{}},    // the Role's fence is its namespace
		{"logs -f kafka-controller-0", access{}}, // a follow is a get of pods/log: only the shim stops it
	} {
		if d := vibectl.Decide(strings.Fields(tt.cmd), p); d.Allow {
			t.Errorf("the shim lets %q through", tt.cmd)
		}
		if tt.need == (access{}) {
			continue
		}
		if slices.ContainsFunc(role, func(g access) bool { return g.covers(tt.need) }) {
			t.Errorf("%q: the Role grants %s", tt.cmd, tt.need)
		}
	}
}

func TestAccessCovers(t *testing.T) {
	named := access{"apps", "statefulsets", kafkaSTS, "patch"}
	unnamed := access{"apps", "statefulsets", "", "patch"}
	other := access{"apps", "statefulsets", "other", "patch"}
	for _, tt := range []struct {
		g, r access
		want bool
	}{
		{named, named, true},
		{named, other, false},
		{unnamed, other, true},
		{named, access{"", "statefulsets", kafkaSTS, "patch"}, false},
		{named, access{"apps", "statefulsets", kafkaSTS, "update"}, false},
	} {
		if got := tt.g.covers(tt.r); got != tt.want {
			t.Errorf("%s covers %s = %v, want %v", tt.g, tt.r, got, tt.want)
		}
	}
}
