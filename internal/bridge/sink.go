package bridge

import (
	"context"
	"maps"

	"k8s.io/client-go/kubernetes"

	"github.com/kafkatune/kafkatune/internal/kube"
)

// managedBy labels the ConfigMap the bridge creates.
var managedBy = map[string]string{"app.kubernetes.io/managed-by": UserAgent}

// configMapSink writes the ConfigMap. It builds its client lazily and tries
// again on every refresh until that works: a kubeconfig may appear only
// after the cluster that it describes is up.
type configMapSink struct {
	newClient func() (kubernetes.Interface, error)
	cfg       Config
	w         *kube.ConfigMapWriter
	health    health
}

// newConfigMapSink returns nil when there is no way to reach Kubernetes.
func newConfigMapSink(cfg Config, newClient func() (kubernetes.Interface, error)) *configMapSink {
	if newClient == nil {
		if !cfg.Kube.Enabled() {
			return nil
		}
		newClient = func() (kubernetes.Interface, error) {
			return kube.NewClientset(cfg.Kube, UserAgent)
		}
	}
	return &configMapSink{newClient: newClient, cfg: cfg}
}

func (s *configMapSink) write(ctx context.Context, data map[string]string) (kube.Outcome, error) {
	if s.w == nil {
		c, err := s.newClient()
		if err != nil {
			return kube.Unchanged, err
		}
		if c == nil {
			return kube.Unchanged, errNoKube
		}
		s.w = &kube.ConfigMapWriter{
			Client:    c,
			Namespace: s.cfg.ConfigMapNamespace,
			Name:      s.cfg.ConfigMapName,
			Labels:    maps.Clone(managedBy),
		}
	}
	return s.w.Apply(ctx, data)
}
