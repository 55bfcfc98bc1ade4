package actuator

import (
	"context"
	"fmt"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// awaitRollout polls the StatefulSet until its roll has finished: the
// controller has seen the latest spec (observedGeneration >= generation),
// every replica is updated and ready, the current revision is the update
// revision, and that many pods of that revision are Ready. It fails with
// ErrRolloutTimeout, naming the StatefulSet and where the roll stands,
// after RolloutTimeout.
func (k *Kubernetes) awaitRollout(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, k.cfg.RolloutTimeout)
	defer cancel()
	start := time.Now()
	var last string
	for {
		done, why, err := k.rolledOut(ctx)
		switch {
		case err != nil:
			last = err.Error()
		case done:
			k.logger.Debug("rollout finished", "duration", time.Since(start).Round(time.Millisecond))
			return nil
		default:
			last = why
		}
		select {
		case <-ctx.Done():
			if ctx.Err() == context.DeadlineExceeded {
				return fmt.Errorf("statefulset %s: %w within %s: %s",
					k.name(), ErrRolloutTimeout, k.cfg.RolloutTimeout, last)
			}
			return fmt.Errorf("statefulset %s: wait for rollout: %w (%s)", k.name(), ctx.Err(), last)
		case <-time.After(k.cfg.PollInterval):
		}
	}
}

// rolledOut reports whether the roll has finished, and if not, why.
func (k *Kubernetes) rolledOut(ctx context.Context) (bool, string, error) {
	sts, err := k.get(ctx)
	if err != nil {
		return false, "", err
	}
	st, n := sts.Status, replicas(sts)
	if st.ObservedGeneration < sts.Generation || st.UpdatedReplicas != n ||
		st.ReadyReplicas != n || st.CurrentRevision != st.UpdateRevision {
		return false, formatRollout(sts), nil
	}
	pods, err := k.readyPods(ctx, sts, st.UpdateRevision)
	if err != nil {
		return false, "", err
	}
	if int32(len(pods)) != n {
		return false, fmt.Sprintf("%s; %d of %d pods of revision %s ready",
			formatRollout(sts), len(pods), n, quoteOrNone(st.UpdateRevision)), nil
	}
	return true, "", nil
}

// readyPods lists the StatefulSet's pods of revision rev that are Ready
// and not being deleted.
func (k *Kubernetes) readyPods(ctx context.Context, sts *appsv1.StatefulSet, rev string) ([]corev1.Pod, error) {
	sel, err := metav1.LabelSelectorAsSelector(sts.Spec.Selector)
	if err != nil {
		return nil, fmt.Errorf("statefulset %s: selector: %w", k.name(), err)
	}
	ctx, cancel := context.WithTimeout(ctx, k.cfg.CallTimeout)
	defer cancel()
	list, err := k.client.CoreV1().Pods(k.cfg.Namespace).List(ctx,
		metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return nil, fmt.Errorf("list pods of statefulset %s: %w", k.name(), err)
	}
	var ready []corev1.Pod
	for _, p := range list.Items {
		if p.Labels[appsv1.ControllerRevisionHashLabelKey] == rev &&
			p.DeletionTimestamp == nil && podReady(&p) {
			ready = append(ready, p)
		}
	}
	return ready, nil
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// runningHeap reads the heap the broker runs with: KAFKA_HEAP_OPTS of the
// ready pods of the current revision, which must all agree.
func (k *Kubernetes) runningHeap(ctx context.Context, sts *appsv1.StatefulSet) (int, error) {
	rev := sts.Status.CurrentRevision
	if rev == "" {
		return 0, fmt.Errorf("statefulset %s reports no current revision", k.name())
	}
	pods, err := k.readyPods(ctx, sts, rev)
	if err != nil {
		return 0, err
	}
	if len(pods) == 0 {
		return 0, fmt.Errorf("statefulset %s: no ready pod of the current revision %s",
			k.name(), rev)
	}
	heap, seen := 0, make([]string, 0, len(pods))
	for i := range pods {
		mb, err := heapOf(&pods[i], k.cfg.Container)
		if err != nil {
			return 0, err
		}
		seen = append(seen, fmt.Sprintf("%s=%dMiB", pods[i].Name, mb))
		if i > 0 && mb != heap {
			return 0, fmt.Errorf("statefulset %s: pods disagree on the heap: %s",
				k.name(), strings.Join(seen, " "))
		}
		heap = mb
	}
	return heap, nil
}
