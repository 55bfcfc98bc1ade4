package actuator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/kafkatune/kafkatune/internal/brokercfg"
	"github.com/kafkatune/kafkatune/internal/knobs"
)

// Where the broker runs in the k3d cluster (k8s-sandbox/manifests).
const (
	DefaultNamespace   = "kafka"
	DefaultStatefulSet = "kafka-controller"
	DefaultContainer   = "kafka"
)

// Defaults of KubernetesConfig's waits.
const (
	DefaultRolloutTimeout = 5 * time.Minute
	DefaultPollInterval   = 2 * time.Second
	DefaultCallTimeout    = 10 * time.Second
)

// ErrRolloutTimeout is wrapped by the error of an Apply whose roll did not
// finish within KubernetesConfig.RolloutTimeout.
var ErrRolloutTimeout = errors.New("rollout not finished")

// KubernetesConfig says which StatefulSet carries the broker and how long
// to wait for it. Zero fields take their defaults.
type KubernetesConfig struct {
	// Namespace, StatefulSet and Container name the broker's container.
	Namespace   string
	StatefulSet string
	Container   string
	// RolloutTimeout bounds the wait for a roll to finish, the pods to be
	// ready and the setting to read back.
	RolloutTimeout time.Duration
	// PollInterval is the time between two looks at the roll.
	PollInterval time.Duration
	// CallTimeout bounds each API call.
	CallTimeout time.Duration
}

func (c KubernetesConfig) withDefaults() KubernetesConfig {
	if c.Namespace == "" {
		c.Namespace = DefaultNamespace
	}
	if c.StatefulSet == "" {
		c.StatefulSet = DefaultStatefulSet
	}
	if c.Container == "" {
		c.Container = DefaultContainer
	}
	if c.RolloutTimeout <= 0 {
		c.RolloutTimeout = DefaultRolloutTimeout
	}
	if c.PollInterval <= 0 {
		c.PollInterval = DefaultPollInterval
	}
	if c.CallTimeout <= 0 {
		c.CallTimeout = DefaultCallTimeout
	}
	return c
}

// Kubernetes applies settings to the broker of StatefulSet
// kafka-controller. A new heap is a patch of the container's
// KAFKA_HEAP_OPTS and a roll. New thread counts are set live through the
// Admin API first (the broker checks them, and a per-broker dynamic value
// wins over the environment after any restart, so only this makes them
// effective) and then written to the StatefulSet as well, so that the
// StatefulSet says what runs and a broker started on a fresh volume gets
// the same values. Writing them rolls the pod, so a thread-only change
// costs one restart here, unlike the local actuator: the price of a
// StatefulSet that vibectl, the guard and kubectl can trust. Every Apply
// waits for the roll to finish and the pods to be ready, then reads the
// setting back: the heap from the ready pods of the current revision, the
// threads through the Admin API.
type Kubernetes struct {
	logger  *slog.Logger
	client  kubernetes.Interface
	threads ThreadConfigurer
	bounds  knobs.Bounds
	cfg     KubernetesConfig

	mu sync.Mutex // serialises Apply
}

var _ Actuator = (*Kubernetes)(nil)

// NewKubernetes returns an actuator that patches the StatefulSet named in
// cfg through client and changes thread counts through threads, within
// bounds.
func NewKubernetes(logger *slog.Logger, client kubernetes.Interface, threads ThreadConfigurer,
	bounds knobs.Bounds, cfg KubernetesConfig,
) (*Kubernetes, error) {
	if client == nil || threads == nil {
		return nil, errors.New("kubernetes actuator: client and thread configurer required")
	}
	if err := bounds.Limits.Validate(); err != nil {
		return nil, fmt.Errorf("kubernetes actuator: bounds: %w", err)
	}
	cfg = cfg.withDefaults()
	return &Kubernetes{
		logger: logger.With("actuator", "kubernetes",
			"statefulset", cfg.Namespace+"/"+cfg.StatefulSet),
		client: client, threads: threads, bounds: bounds, cfg: cfg,
	}, nil
}

// Current reads the heap from KAFKA_HEAP_OPTS of the ready pods of the
// StatefulSet's current revision and the thread counts the broker reports
// through the Admin API.
func (k *Kubernetes) Current(ctx context.Context) (knobs.Setting, error) {
	sts, err := k.get(ctx)
	if err != nil {
		return knobs.Setting{}, err
	}
	heap, err := k.runningHeap(ctx, sts)
	if err != nil {
		return knobs.Setting{}, err
	}
	t, err := k.threadsNow(ctx)
	if err != nil {
		return knobs.Setting{}, err
	}
	return settingOf(heap, t), nil
}

// Apply refuses s when it is out of bounds, before touching anything.
// Otherwise it sets changed thread counts live, patches the three knob
// variables of the container where they differ from s, waits until the
// roll has finished and the pods are ready (at most RolloutTimeout), and
// reads the setting back.
func (k *Kubernetes) Apply(ctx context.Context, s knobs.Setting) error {
	if err := refuse(k.logger, k.bounds, s); err != nil {
		return err
	}
	k.mu.Lock()
	defer k.mu.Unlock()

	start := time.Now()
	from, err := k.Current(ctx)
	if err != nil {
		err = fmt.Errorf("read current setting: %w", err)
		logApply(k.logger, from, s, false, start, err)
		return err
	}
	restart, err := k.apply(ctx, from, s)
	if err == nil {
		err = verify(ctx, s, k.cfg.RolloutTimeout, k.cfg.PollInterval, k.Current)
	}
	logApply(k.logger, from, s, restart, start, err)
	return err
}

// apply makes the changes from from to s and waits for the roll. It
// reports whether it patched the StatefulSet (and so restarted the
// broker).
func (k *Kubernetes) apply(ctx context.Context, from, s knobs.Setting) (bool, error) {
	if want := threadsOf(s); want != threadsOf(from) {
		ctx, cancel := context.WithTimeout(ctx, k.cfg.RolloutTimeout)
		err := k.threads.SetThreads(ctx, want)
		cancel()
		if err != nil {
			return false, fmt.Errorf("set threads live: %w", err)
		}
	}
	sts, err := k.get(ctx)
	if err != nil {
		return false, err
	}
	c, err := k.container(&sts.Spec.Template.Spec)
	if err != nil {
		return false, err
	}
	patch := envPatch(c, s)
	if patch != nil {
		if err := k.patch(ctx, patch); err != nil {
			return false, err
		}
	}
	return patch != nil, k.awaitRollout(ctx)
}

// envPatch returns a strategic merge patch that sets the knob variables of
// container c that differ from s, or nil when none does. The patch names
// only those variables; the rest of the environment is left alone.
func envPatch(c *corev1.Container, s knobs.Setting) []byte {
	type envVar struct {
		Name      string    `json:"name"`
		Value     string    `json:"value"`
		ValueFrom *struct{} `json:"valueFrom"` // null: drop a valueFrom
	}
	want := s.Env()
	var env []envVar
	for _, name := range []string{knobs.EnvHeapOpts, knobs.EnvNetworkThreads, knobs.EnvIOThreads} {
		if cur, ok := envValue(c, name); ok && cur == want[name] {
			continue
		}
		env = append(env, envVar{Name: name, Value: want[name]})
	}
	if len(env) == 0 {
		return nil
	}
	patch := map[string]any{"spec": map[string]any{"template": map[string]any{
		"spec": map[string]any{"containers": []any{map[string]any{
			"name": c.Name, "env": env,
		}}},
	}}}
	b, err := json.Marshal(patch)
	if err != nil {
		panic(fmt.Sprintf("marshal env patch: %v", err)) // plain maps and strings
	}
	return b
}

// envValue returns the literal value of variable name in c, and false when
// c does not set it or takes it from elsewhere (valueFrom).
func envValue(c *corev1.Container, name string) (string, bool) {
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value, e.ValueFrom == nil
		}
	}
	return "", false
}

func (k *Kubernetes) patch(ctx context.Context, patch []byte) error {
	ctx, cancel := context.WithTimeout(ctx, k.cfg.CallTimeout)
	defer cancel()
	_, err := k.client.AppsV1().StatefulSets(k.cfg.Namespace).Patch(ctx, k.cfg.StatefulSet,
		types.StrategicMergePatchType, patch, metav1.PatchOptions{FieldManager: "kafkatune-agent"})
	if err != nil {
		return fmt.Errorf("patch statefulset %s: %w", k.name(), err)
	}
	return nil
}

func (k *Kubernetes) name() string { return k.cfg.Namespace + "/" + k.cfg.StatefulSet }

func (k *Kubernetes) get(ctx context.Context) (*appsv1.StatefulSet, error) {
	ctx, cancel := context.WithTimeout(ctx, k.cfg.CallTimeout)
	defer cancel()
	sts, err := k.client.AppsV1().StatefulSets(k.cfg.Namespace).Get(ctx, k.cfg.StatefulSet,
		metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("get statefulset %s: %w", k.name(), err)
	}
	return sts, nil
}

func (k *Kubernetes) container(spec *corev1.PodSpec) (*corev1.Container, error) {
	for i := range spec.Containers {
		if spec.Containers[i].Name == k.cfg.Container {
			return &spec.Containers[i], nil
		}
	}
	return nil, fmt.Errorf("statefulset %s has no container %q", k.name(), k.cfg.Container)
}

func (k *Kubernetes) threadsNow(ctx context.Context) (brokercfg.Threads, error) {
	ctx, cancel := context.WithTimeout(ctx, k.cfg.CallTimeout)
	defer cancel()
	t, err := k.threads.Threads(ctx)
	if err != nil {
		return t, fmt.Errorf("broker threads: %w", err)
	}
	return t, nil
}

// replicas returns the desired replica count (1 when unset, as the API
// server defaults it).
func replicas(sts *appsv1.StatefulSet) int32 {
	if sts.Spec.Replicas == nil {
		return 1
	}
	return *sts.Spec.Replicas
}

// heapOf parses KAFKA_HEAP_OPTS of container c in pod p.
func heapOf(p *corev1.Pod, container string) (int, error) {
	for i := range p.Spec.Containers {
		c := &p.Spec.Containers[i]
		if c.Name != container {
			continue
		}
		v, ok := envValue(c, knobs.EnvHeapOpts)
		if !ok {
			return 0, fmt.Errorf("pod %s: container %s has no literal %s",
				p.Name, container, knobs.EnvHeapOpts)
		}
		mb, err := knobs.ParseHeapOpts(v)
		if err != nil {
			return 0, fmt.Errorf("pod %s: %w", p.Name, err)
		}
		return mb, nil
	}
	return 0, fmt.Errorf("pod %s has no container %q", p.Name, container)
}

// formatRollout describes where a roll stands, for errors and logs.
func formatRollout(sts *appsv1.StatefulSet) string {
	st := sts.Status
	return "generation " + strconv.FormatInt(sts.Generation, 10) +
		" observed " + strconv.FormatInt(st.ObservedGeneration, 10) +
		fmt.Sprintf(", replicas %d: updated %d, ready %d, current %d",
			replicas(sts), st.UpdatedReplicas, st.ReadyReplicas, st.Replicas) +
		", revision current " + quoteOrNone(st.CurrentRevision) +
		" update " + quoteOrNone(st.UpdateRevision)
}

func quoteOrNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return strconv.Quote(s)
}
