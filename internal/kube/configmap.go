package kube

import (
	"context"
	"fmt"
	"maps"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
)

// DefaultCallTimeout bounds each Kubernetes API call of a ConfigMapWriter.
const DefaultCallTimeout = 5 * time.Second

// Outcome says what an Apply did.
type Outcome int

// Outcomes of ConfigMapWriter.Apply.
const (
	// Unchanged means the ConfigMap already held the data.
	Unchanged Outcome = iota
	// Created means the ConfigMap did not exist and was created.
	Created
	// Updated means an existing ConfigMap got new data.
	Updated
)

// String names o for logs.
func (o Outcome) String() string {
	switch o {
	case Created:
		return "created"
	case Updated:
		return "updated"
	default:
		return "unchanged"
	}
}

// ConfigMapWriter keeps one ConfigMap's data equal to what it is given.
type ConfigMapWriter struct {
	// Client talks to the API server.
	Client kubernetes.Interface
	// Namespace and Name identify the ConfigMap.
	Namespace string
	Name      string
	// Labels are set on a ConfigMap the writer creates.
	Labels map[string]string
	// CallTimeout bounds each API call (DefaultCallTimeout if zero).
	CallTimeout time.Duration
	// Backoff paces the retries after a conflict (retry.DefaultBackoff if
	// Steps is zero).
	Backoff wait.Backoff
}

// Apply makes the ConfigMap's data equal to data: it creates the ConfigMap
// if it is missing and replaces its data otherwise. A write that loses a
// race with another writer (409 Conflict, or AlreadyExists on create) is
// retried with backoff after reading the ConfigMap again. Other API errors
// are returned as they are, for the caller to retry later.
func (w *ConfigMapWriter) Apply(ctx context.Context, data map[string]string) (Outcome, error) {
	var out Outcome
	err := retry.OnError(w.backoff(), isRace, func() error {
		if err := ctx.Err(); err != nil {
			return err
		}
		var err error
		out, err = w.applyOnce(ctx, data)
		return err
	})
	if err != nil {
		return Unchanged, fmt.Errorf("write configmap %s/%s: %w", w.Namespace, w.Name, err)
	}
	return out, nil
}

func (w *ConfigMapWriter) applyOnce(ctx context.Context, data map[string]string) (Outcome, error) {
	cm, err := w.get(ctx)
	if apierrors.IsNotFound(err) {
		return Created, w.create(ctx, data)
	}
	if err != nil {
		return Unchanged, err
	}
	if maps.Equal(cm.Data, data) {
		return Unchanged, nil
	}
	cm = cm.DeepCopy()
	cm.Data = maps.Clone(data)
	return Updated, w.update(ctx, cm)
}

func (w *ConfigMapWriter) get(ctx context.Context) (*corev1.ConfigMap, error) {
	ctx, cancel := context.WithTimeout(ctx, w.callTimeout())
	defer cancel()
	return w.Client.CoreV1().ConfigMaps(w.Namespace).Get(ctx, w.Name, metav1.GetOptions{})
}

func (w *ConfigMapWriter) create(ctx context.Context, data map[string]string) error {
	ctx, cancel := context.WithTimeout(ctx, w.callTimeout())
	defer cancel()
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{
			Name:      w.Name,
			Namespace: w.Namespace,
			Labels:    maps.Clone(w.Labels),
		},
		Data: maps.Clone(data),
	}
	_, err := w.Client.CoreV1().ConfigMaps(w.Namespace).Create(ctx, cm, metav1.CreateOptions{})
	return err
}

func (w *ConfigMapWriter) update(ctx context.Context, cm *corev1.ConfigMap) error {
	ctx, cancel := context.WithTimeout(ctx, w.callTimeout())
	defer cancel()
	_, err := w.Client.CoreV1().ConfigMaps(w.Namespace).Update(ctx, cm, metav1.UpdateOptions{})
	return err
}

func (w *ConfigMapWriter) callTimeout() time.Duration {
	if w.CallTimeout > 0 {
		return w.CallTimeout
	}
	return DefaultCallTimeout
}

func (w *ConfigMapWriter) backoff() wait.Backoff {
	if w.Backoff.Steps > 0 {
		return w.Backoff
	}
	return retry.DefaultBackoff
}

// isRace reports errors that mean another writer got there first: worth a
// fresh read and another try.
func isRace(err error) bool {
	return apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err)
}
