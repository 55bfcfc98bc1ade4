package vibectl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"

	"github.com/kafkatune/kafkatune/internal/knobs"
)

// KnobOther labels a revert of a StatefulSet change that is not one of the
// three knobs (image, command, replicas, other variables...).
const KnobOther = "other"

// Guard checks the broker's StatefulSet after every vibectl step. Knob
// values that are out of bounds, malformed or missing go back to the last
// good value; any other change to the pod template or the replica count
// goes back to what it was when the guard started. It is the last line of
// defence behind the shim, and does not trust it.
type Guard struct {
	client      kubernetes.Interface
	namespace   string
	name        string
	container   string
	bounds      knobs.Bounds
	callTimeout time.Duration
	log         *slog.Logger

	baseline *appsv1.StatefulSetSpec
	lastGood knobs.Setting
}

// Revert is one value the guard put back.
type Revert struct {
	// Knob is a knobs.Knob* name or KnobOther.
	Knob string
	// Found is what the StatefulSet held ("" for KnobOther).
	Found string
	// Restored is the value put back.
	Restored string
	// Reason says why.
	Reason string
}

// NewGuard returns a guard of StatefulSet namespace/name, container
// container, within bounds. Each API call gets callTimeout.
func NewGuard(client kubernetes.Interface, namespace, name, container string,
	bounds knobs.Bounds, callTimeout time.Duration, log *slog.Logger,
) *Guard {
	return &Guard{
		client: client, namespace: namespace, name: name, container: container,
		bounds: bounds, callTimeout: callTimeout, log: log,
	}
}

// Start records the StatefulSet as it is now as the baseline, and its knob
// values as the last good ones where they are valid (elsewhere the start
// setting, snapped into the bounds). It then checks once.
func (g *Guard) Start(ctx context.Context) ([]Revert, error) {
	sts, err := g.get(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := g.containerOf(&sts.Spec.Template.Spec); err != nil {
		return nil, err
	}
	g.baseline = sts.Spec.DeepCopy()
	start := knobs.Start()
	g.lastGood = knobs.Setting{
		HeapMB:         g.bounds.HeapMB.Snap(start.HeapMB),
		NetworkThreads: g.bounds.NetworkThreads.Snap(start.NetworkThreads),
		IOThreads:      g.bounds.IOThreads.Snap(start.IOThreads),
	}
	return g.Check(ctx)
}

// LastGood returns the last setting seen within bounds.
func (g *Guard) LastGood() knobs.Setting { return g.lastGood }

// Check reads the StatefulSet, reverts what must be reverted and returns
// what it reverted.
func (g *Guard) Check(ctx context.Context) ([]Revert, error) {
	if g.baseline == nil {
		return nil, errors.New("guard not started")
	}
	sts, err := g.get(ctx)
	if err != nil {
		return nil, err
	}
	good, reverts, err := g.evaluate(&sts.Spec.Template.Spec)
	if err != nil {
		return nil, err
	}
	desired, err := g.desired(good)
	if err != nil {
		return nil, err
	}
	if g.otherChanges(&sts.Spec) && !slices.ContainsFunc(reverts, isOther) {
		reverts = append(reverts, Revert{
			Knob: KnobOther, Reason: "the pod template or replica count changed beyond the three knobs",
			Restored: "the template as it was when the agent started",
		})
	}
	if len(reverts) == 0 {
		g.lastGood = good
		return nil, nil
	}
	if err := g.update(ctx, desired); err != nil {
		return nil, err
	}
	g.lastGood = good
	for _, r := range reverts {
		g.log.Warn("guard reverted a change", "knob", r.Knob, "found", r.Found,
			"restored", r.Restored, "reason", r.Reason)
	}
	return reverts, nil
}

func (g *Guard) get(ctx context.Context) (*appsv1.StatefulSet, error) {
	ctx, cancel := context.WithTimeout(ctx, g.callTimeout)
	defer cancel()
	sts, err := g.client.AppsV1().StatefulSets(g.namespace).Get(ctx, g.name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("get statefulset %s/%s: %w", g.namespace, g.name, err)
	}
	return sts, nil
}

func (g *Guard) containerOf(spec *corev1.PodSpec) (*corev1.Container, error) {
	for i := range spec.Containers {
		if spec.Containers[i].Name == g.container {
			return &spec.Containers[i], nil
		}
	}
	return nil, fmt.Errorf("statefulset %s/%s has no container %q", g.namespace, g.name, g.container)
}

// evaluate reads the three knobs from spec. It returns the setting to keep
// (each valid value, else the last good one) and a Revert per knob that
// is not valid.
func (g *Guard) evaluate(spec *corev1.PodSpec) (knobs.Setting, []Revert, error) {
	c, err := g.containerOf(spec)
	if err != nil {
		// The container itself is gone: restore everything.
		return g.lastGood, []Revert{{Knob: KnobOther, Reason: err.Error(),
			Restored: "the template as it was when the agent started"}}, nil
	}
	good := g.lastGood
	var reverts []Revert
	check := func(knob, env string, restored string, parse func(string) (int, error), set func(int)) {
		raw, err := literalEnv(c, env)
		if err == nil {
			var v int
			if v, err = parse(raw); err == nil {
				set(v)
				return
			}
		}
		reverts = append(reverts, Revert{Knob: knob, Found: raw, Restored: restored, Reason: err.Error()})
	}
	check(knobs.KnobHeap, knobs.EnvHeapOpts, g.lastGood.HeapOpts(), g.parseHeap,
		func(v int) { good.HeapMB = v })
	check(knobs.KnobNetworkThreads, knobs.EnvNetworkThreads, itoa(g.lastGood.NetworkThreads),
		threadParser(knobs.EnvNetworkThreads, g.bounds.NetworkThreads),
		func(v int) { good.NetworkThreads = v })
	check(knobs.KnobIOThreads, knobs.EnvIOThreads, itoa(g.lastGood.IOThreads),
		threadParser(knobs.EnvIOThreads, g.bounds.IOThreads),
		func(v int) { good.IOThreads = v })
	return good, reverts, nil
}

// literalEnv returns the literal value of the variable name of c.
func literalEnv(c *corev1.Container, name string) (string, error) {
	found, value := false, ""
	for _, e := range c.Env {
		if e.Name != name {
			continue
		}
		if e.ValueFrom != nil {
			return "", fmt.Errorf("%s comes from a reference, not a literal value", name)
		}
		found, value = true, e.Value
	}
	if !found {
		return "", fmt.Errorf("%s is missing", name)
	}
	return value, nil
}

func (g *Guard) parseHeap(v string) (int, error) {
	mb, err := parseHeapStrict(v)
	if err != nil {
		return 0, err
	}
	if !g.bounds.HeapMB.Contains(mb) {
		return 0, fmt.Errorf("heap %d MiB is outside %d..%d MiB", mb, g.bounds.HeapMB.Min, g.bounds.HeapMB.Max)
	}
	return mb, nil
}

func threadParser(env string, r knobs.Range) func(string) (int, error) {
	return func(v string) (int, error) {
		if !digits.MatchString(v) {
			return 0, fmt.Errorf("%s=%q is not a whole number", env, v)
		}
		n, _ := strconv.Atoi(v)
		if !r.Contains(n) {
			return 0, fmt.Errorf("%s=%d is outside %d..%d", env, n, r.Min, r.Max)
		}
		return n, nil
	}
}

// desired returns the baseline spec carrying the knob values s.
func (g *Guard) desired(s knobs.Setting) (*appsv1.StatefulSetSpec, error) {
	spec := g.baseline.DeepCopy()
	c, err := g.containerOf(&spec.Template.Spec)
	if err != nil {
		return nil, err
	}
	env := s.Env()
	for _, name := range knobEnvs {
		setEnv(c, name, env[name])
	}
	return spec, nil
}

var knobEnvs = []string{knobs.EnvHeapOpts, knobs.EnvNetworkThreads, knobs.EnvIOThreads}

// setEnv gives c exactly one variable name with the literal value, where
// the first one was (or at the end).
func setEnv(c *corev1.Container, name, value string) {
	i := slices.IndexFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == name })
	if i < 0 {
		c.Env = append(c.Env, corev1.EnvVar{Name: name, Value: value})
		return
	}
	c.Env[i] = corev1.EnvVar{Name: name, Value: value}
	rest := slices.DeleteFunc(c.Env[i+1:], func(e corev1.EnvVar) bool { return e.Name == name })
	c.Env = c.Env[:i+1+len(rest)]
}

func isOther(r Revert) bool { return r.Knob == KnobOther }

// otherChanges reports whether spec differs from the baseline in anything
// but the three knob variables.
func (g *Guard) otherChanges(spec *appsv1.StatefulSetSpec) bool {
	strip := func(s *appsv1.StatefulSetSpec) *appsv1.StatefulSetSpec {
		s = s.DeepCopy()
		for i := range s.Template.Spec.Containers {
			c := &s.Template.Spec.Containers[i]
			c.Env = slices.DeleteFunc(c.Env, func(e corev1.EnvVar) bool { return isKnobEnv(e.Name) })
		}
		// Pod template annotations change with every `rollout restart`,
		// which is allowed.
		s.Template.Annotations = nil
		return s
	}
	return !equality.Semantic.DeepEqual(strip(spec), strip(g.baseline))
}

func isKnobEnv(name string) bool { return slices.Contains(knobEnvs, name) }

// update writes the desired pod spec, template labels and replica count
// back with a JSON patch (the agent's Role grants get and patch, not
// update). The patch carries the resourceVersion it was computed from, so
// the API server refuses it with a conflict if the object changed
// meanwhile; the guard then re-reads and tries again. Template annotations
// are left alone: a restart request stays.
func (g *Guard) update(ctx context.Context, desired *appsv1.StatefulSetSpec) error {
	err := retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		sts, err := g.get(ctx)
		if err != nil {
			return err
		}
		patch, err := revertPatch(sts, desired)
		if err != nil {
			return err
		}
		pctx, cancel := context.WithTimeout(ctx, g.callTimeout)
		defer cancel()
		_, err = g.client.AppsV1().StatefulSets(g.namespace).Patch(pctx, g.name,
			types.JSONPatchType, patch, metav1.PatchOptions{FieldManager: guardFieldManager})
		return err
	})
	if err != nil {
		return fmt.Errorf("revert statefulset %s/%s: %w", g.namespace, g.name, err)
	}
	return nil
}

// guardFieldManager names the guard in the object's managed fields.
const guardFieldManager = "kafkatune-vibectl-guard"

type jsonPatchOp struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value any    `json:"value,omitempty"`
}

func revertPatch(live *appsv1.StatefulSet, desired *appsv1.StatefulSetSpec) ([]byte, error) {
	ops := []jsonPatchOp{
		{Op: "replace", Path: "/metadata/resourceVersion", Value: live.ResourceVersion},
		{Op: "replace", Path: "/spec/template/spec", Value: desired.Template.Spec},
	}
	if desired.Template.Labels != nil {
		ops = append(ops, jsonPatchOp{Op: "replace", Path: "/spec/template/metadata/labels",
			Value: desired.Template.Labels})
	}
	switch {
	case desired.Replicas != nil:
		ops = append(ops, jsonPatchOp{Op: "replace", Path: "/spec/replicas", Value: *desired.Replicas})
	case live.Spec.Replicas != nil:
		ops = append(ops, jsonPatchOp{Op: "remove", Path: "/spec/replicas"})
	}
	b, err := json.Marshal(ops)
	if err != nil {
		return nil, fmt.Errorf("encode revert patch: %w", err)
	}
	return b, nil
}
