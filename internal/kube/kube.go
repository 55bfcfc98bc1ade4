// Package kube builds Kubernetes clients for kafkatune's components and
// writes the ConfigMaps they publish. It hides client-go's configuration
// loading behind one Source value: a kubeconfig path, in-cluster config, or
// nothing at all.
package kube

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// EnvServiceHost is set by the kubelet in every pod; its presence says the
// process runs inside a cluster.
const EnvServiceHost = "KUBERNETES_SERVICE_HOST"

// ErrNoSource is returned when a client is asked for without any source.
var ErrNoSource = errors.New("no kubeconfig or in-cluster config given")

// Source says where the Kubernetes API credentials come from. At most one of
// its fields is set; the zero value means "no Kubernetes".
type Source struct {
	// Kubeconfig is a kubeconfig file, or several joined by the OS path
	// list separator as in $KUBECONFIG.
	Kubeconfig string
	// InCluster uses the pod's service account.
	InCluster bool
}

// Enabled reports whether s names any source.
func (s Source) Enabled() bool { return s.Kubeconfig != "" || s.InCluster }

// String describes s for logs. It names files, never their content.
func (s Source) String() string {
	switch {
	case s.Kubeconfig != "":
		return "kubeconfig " + s.Kubeconfig
	case s.InCluster:
		return "in-cluster"
	default:
		return "none"
	}
}

// Validate reports a Source that sets both fields.
func (s Source) Validate() error {
	if s.Kubeconfig != "" && s.InCluster {
		return errors.New("give either a kubeconfig or in-cluster config, not both")
	}
	return nil
}

// RESTConfig loads the client configuration s names.
func RESTConfig(s Source) (*rest.Config, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	switch {
	case s.InCluster:
		c, err := rest.InClusterConfig()
		if err != nil {
			return nil, fmt.Errorf("load in-cluster config: %w", err)
		}
		return c, nil
	case s.Kubeconfig != "":
		return loadKubeconfig(s.Kubeconfig)
	default:
		return nil, ErrNoSource
	}
}

func loadKubeconfig(paths string) (*rest.Config, error) {
	rules := &clientcmd.ClientConfigLoadingRules{}
	if strings.ContainsRune(paths, os.PathListSeparator) {
		rules.Precedence = filepath.SplitList(paths)
	} else {
		// An explicit path makes a missing file an error of its own
		// rather than an empty configuration.
		rules.ExplicitPath = paths
	}
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{})
	c, err := cc.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("load kubeconfig %s: %w", paths, err)
	}
	return c, nil
}

// NewClientset returns a clientset for s that identifies itself as
// userAgent.
func NewClientset(s Source, userAgent string) (kubernetes.Interface, error) {
	c, err := RESTConfig(s)
	if err != nil {
		return nil, err
	}
	c.UserAgent = userAgent
	cs, err := kubernetes.NewForConfig(c)
	if err != nil {
		return nil, fmt.Errorf("create kubernetes client: %w", err)
	}
	return cs, nil
}
