package deploycheck

import (
	"encoding/base64"
	"fmt"
	"maps"
	"net"
	"path"
	"slices"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/kafkatune/kafkatune/internal/knobs"
)

// imageOwnEnv lists the KAFKA_* variables the apache/kafka image (4.x)
// reads itself and does not write into server.properties: JVM and logging
// options and the image's own version. Read from the image's start-up code
// (KafkaDockerWrapper); every other KAFKA_* variable becomes a property.
var imageOwnEnv = map[string]bool{
	"KAFKA_VERSION":              true,
	"KAFKA_HEAP_OPTS":            true,
	"KAFKA_LOG4J_OPTS":           true,
	"KAFKA_OPTS":                 true,
	"KAFKA_JMX_OPTS":             true,
	"KAFKA_JVM_PERFORMANCE_OPTS": true,
	"KAFKA_GC_LOG_OPTS":          true,
	"KAFKA_LOG4J_ROOT_LOGLEVEL":  true,
	"KAFKA_LOG4J_LOGGERS":        true,
	"KAFKA_TOOLS_LOG4J_LOGLEVEL": true,
	"KAFKA_JMX_HOSTNAME":         true,
}

// brokerProperty returns the broker property the apache/kafka image makes
// of the environment variable name, or false when it makes none. The rule:
// drop the KAFKA_ prefix, lower-case, turn every "_" into "."; then "..."
// (from "___") becomes "-" and ".." (from "__") becomes "_".
func brokerProperty(name string) (string, bool) {
	rest, ok := strings.CutPrefix(name, "KAFKA_")
	if !ok || imageOwnEnv[name] {
		return "", false
	}
	p := strings.ReplaceAll(strings.ToLower(rest), "_", ".")
	p = strings.ReplaceAll(p, "...", "-")
	return strings.ReplaceAll(p, "..", "_"), true
}

func TestBrokerPropertyMapping(t *testing.T) {
	tests := []struct {
		env  string
		want string
		ok   bool
	}{
		{"KAFKA_NUM_IO_THREADS", "num.io.threads", true},
		{"KAFKA_NUM_NETWORK_THREADS", "num.network.threads", true},
		{"KAFKA_LISTENER_SECURITY_PROTOCOL_MAP", "listener.security.protocol.map", true},
		{"KAFKA_LISTENER_NAME_INTERNAL_SSL_KEY__PASSWORD", "listener.name.internal.ssl.key_password", true},
		{"KAFKA_SOME___DASHED_NAME", "some-dashed.name", true},
		{"KAFKA_HEAP_OPTS", "", false},
		{"KAFKA_OPTS", "", false},
		{"CLUSTER_ID", "", false},
		{"MY_KAFKA_THING", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.env, func(t *testing.T) {
			got, ok := brokerProperty(tt.env)
			if got != tt.want || ok != tt.ok {
				t.Fatalf("brokerProperty(%q) = %q, %v; want %q, %v", tt.env, got, ok, tt.want, tt.ok)
			}
		})
	}
}

// knownBrokerProperties are Kafka 4.1 broker configuration names (from the
// broker configuration reference). A KAFKA_* variable whose property is not
// here is a typo or a setting nobody reviewed.
var knownBrokerProperties = map[string]bool{
	"node.id":                                          true,
	"process.roles":                                    true,
	"controller.quorum.voters":                         true,
	"controller.quorum.bootstrap.servers":              true,
	"controller.listener.names":                        true,
	"listeners":                                        true,
	"advertised.listeners":                             true,
	"listener.security.protocol.map":                   true,
	"inter.broker.listener.name":                       true,
	"log.dirs":                                         true,
	"metadata.log.dir":                                 true,
	"num.partitions":                                   true,
	"default.replication.factor":                       true,
	"auto.create.topics.enable":                        true,
	"offsets.topic.replication.factor":                 true,
	"transaction.state.log.replication.factor":         true,
	"transaction.state.log.min.isr":                    true,
	"share.coordinator.state.topic.replication.factor": true,
	"share.coordinator.state.topic.min.isr":            true,
	"group.initial.rebalance.delay.ms":                 true,
	"log.retention.hours":                              true,
	"log.retention.bytes":                              true,
	"log.retention.check.interval.ms":                  true,
	"log.segment.bytes":                                true,
	"num.network.threads":                              true,
	"num.io.threads":                                   true,
	"num.replica.fetchers":                             true,
	"num.recovery.threads.per.data.dir":                true,
	"background.threads":                               true,
	"queued.max.requests":                              true,
	"socket.send.buffer.bytes":                         true,
	"socket.receive.buffer.bytes":                      true,
	"message.max.bytes":                                true,
}

// kafkaContainer returns the StatefulSet's container named kafka.
func kafkaContainer(t *testing.T, sts *appsv1.StatefulSet) *corev1.Container {
	t.Helper()
	for i := range sts.Spec.Template.Spec.Containers {
		if c := &sts.Spec.Template.Spec.Containers[i]; c.Name == "kafka" {
			return c
		}
	}
	t.Fatalf("StatefulSet %s has no container named kafka", sts.Name)
	return nil
}

// literalEnv returns the container's environment as a map, failing on a
// variable given twice or taken from elsewhere (valueFrom): the agent
// patches literal values.
func literalEnv(t *testing.T, c *corev1.Container) map[string]string {
	t.Helper()
	env := map[string]string{}
	for _, e := range c.Env {
		if _, dup := env[e.Name]; dup {
			t.Errorf("env %s is set twice", e.Name)
		}
		if e.ValueFrom != nil {
			t.Errorf("env %s uses valueFrom; want a literal value", e.Name)
		}
		env[e.Name] = e.Value
	}
	return env
}

func brokerStatefulSet(t *testing.T) (*appsv1.StatefulSet, *corev1.Container, map[string]string) {
	t.Helper()
	ms := loadManifests(t)
	sts := only[*appsv1.StatefulSet](t, ms, kafkaSTS)
	c := kafkaContainer(t, sts)
	return sts, c, literalEnv(t, c)
}

func TestBrokerStartsDeOptimized(t *testing.T) {
	_, _, env := brokerStatefulSet(t)
	for name, want := range knobs.Start().Env() {
		if got, ok := env[name]; !ok || got != want {
			t.Errorf("%s = %q (set: %v), want %q (internal/knobs.Start)", name, got, ok, want)
		}
	}
	heap, err := knobs.ParseHeapOpts(env[knobs.EnvHeapOpts])
	if err != nil || heap != 256 {
		t.Errorf("heap from %q = %d, %v; want 256 MiB", env[knobs.EnvHeapOpts], heap, err)
	}
	// The variables the agent patches reach the broker as the properties
	// it reads back.
	for envName, prop := range map[string]string{
		knobs.EnvNetworkThreads: knobs.PropNetworkThreads,
		knobs.EnvIOThreads:      knobs.PropIOThreads,
	} {
		if got, ok := brokerProperty(envName); !ok || got != prop {
			t.Errorf("%s maps to %q (%v), want %q", envName, got, ok, prop)
		}
	}
	if _, ok := brokerProperty(knobs.EnvHeapOpts); ok {
		t.Errorf("%s must be a JVM option, not a broker property", knobs.EnvHeapOpts)
	}
}

func TestEveryKafkaEnvIsAKnownBrokerProperty(t *testing.T) {
	_, _, env := brokerStatefulSet(t)
	seen := map[string]string{}
	for name := range env {
		prop, ok := brokerProperty(name)
		if !ok {
			continue
		}
		if !knownBrokerProperties[prop] {
			t.Errorf("%s becomes %q, not a Kafka broker property", name, prop)
		}
		if other, dup := seen[prop]; dup {
			t.Errorf("%s and %s both set %s", name, other, prop)
		}
		seen[prop] = name
	}
}

// brokerProperties returns the properties the image writes from env.
func brokerProperties(env map[string]string) map[string]string {
	props := map[string]string{}
	for name, v := range env {
		if p, ok := brokerProperty(name); ok {
			props[p] = v
		}
	}
	return props
}

func TestBrokerConfigurationIsCompleteKRaft(t *testing.T) {
	sts, _, env := brokerStatefulSet(t)
	props := brokerProperties(env)
	want := map[string]string{
		"process.roles":                                    "broker,controller",
		"node.id":                                          "1",
		"controller.listener.names":                        "CONTROLLER",
		"inter.broker.listener.name":                       "INTERNAL",
		"listener.security.protocol.map":                   "INTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT,EXTERNAL:PLAINTEXT",
		"offsets.topic.replication.factor":                 "1",
		"transaction.state.log.replication.factor":         "1",
		"transaction.state.log.min.isr":                    "1",
		"share.coordinator.state.topic.replication.factor": "1",
		"share.coordinator.state.topic.min.isr":            "1",
	}
	for k, v := range want {
		if props[k] != v {
			t.Errorf("%s = %q, want %q", k, props[k], v)
		}
	}
	if v := props["controller.quorum.voters"]; v != "1@localhost:9093" {
		t.Errorf("controller.quorum.voters = %q, want this node as the only voter", v)
	}
	checkClusterID(t, env["CLUSTER_ID"])
	checkListeners(t, sts, props)
	if d := props["log.dirs"]; !strings.HasPrefix(d, kafkaDataPath+"/") {
		t.Errorf("log.dirs %q is not on the data volume %s", d, kafkaDataPath)
	}
}

// checkClusterID requires the id the image formats storage with: a
// base64url-encoded 16-byte UUID, as kafka-storage random-uuid prints.
func checkClusterID(t *testing.T, id string) {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(id)
	if err != nil || len(b) != 16 {
		t.Errorf("CLUSTER_ID %q is not a base64url 16-byte UUID (%v)", id, err)
	}
}

// listenerMap parses "NAME://host:port,..." into name -> host:port.
func listenerMap(t *testing.T, prop, v string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for item := range strings.SplitSeq(v, ",") {
		name, addr, ok := strings.Cut(item, "://")
		if !ok {
			t.Fatalf("%s: %q is not NAME://host:port", prop, item)
		}
		out[name] = addr
	}
	return out
}

func checkListeners(t *testing.T, sts *appsv1.StatefulSet, props map[string]string) {
	t.Helper()
	listeners := listenerMap(t, "listeners", props["listeners"])
	advertised := listenerMap(t, "advertised.listeners", props["advertised.listeners"])
	protocols := map[string]bool{}
	for item := range strings.SplitSeq(props["listener.security.protocol.map"], ",") {
		name, _, _ := strings.Cut(item, ":")
		protocols[name] = true
	}
	for name := range listeners {
		if !protocols[name] {
			t.Errorf("listener %s has no security protocol", name)
		}
	}
	if got := slices.Sorted(maps.Keys(listeners)); !slices.Equal(got, []string{"CONTROLLER", "EXTERNAL", "INTERNAL"}) {
		t.Errorf("listeners %q, want CONTROLLER, EXTERNAL and INTERNAL", got)
	}
	if _, ok := advertised["CONTROLLER"]; ok {
		t.Error("the controller listener must not be advertised")
	}
	ports := containerPorts(kafkaContainer(t, sts))
	for name, port := range map[string]string{"INTERNAL": "internal", "EXTERNAL": "external", "CONTROLLER": "controller"} {
		_, p, err := net.SplitHostPort(listeners[name])
		if err != nil || p != strconv.Itoa(int(ports[port])) {
			t.Errorf("listener %s on %q, want the container port %q (%d)", name, listeners[name], port, ports[port])
		}
	}
	wantInternal := fmt.Sprintf("%s-0.%s.%s.svc.cluster.local:%d", sts.Name, sts.Spec.ServiceName, kafkaNS, ports["internal"])
	if advertised["INTERNAL"] != wantInternal {
		t.Errorf("advertised INTERNAL %q, want the pod's stable name %q", advertised["INTERNAL"], wantInternal)
	}
	if want := k3dNode + ":30094"; advertised["EXTERNAL"] != want {
		t.Errorf("advertised EXTERNAL %q, want %q (the k3d node container and NodePort)", advertised["EXTERNAL"], want)
	}
}

func TestBrokerContainerKeepsTheImageStartScript(t *testing.T) {
	_, c, _ := brokerStatefulSet(t)
	if c.Image != kafkaImage {
		t.Errorf("image %q, want %q", c.Image, kafkaImage)
	}
	if len(c.Command) != 0 || len(c.Args) != 0 {
		t.Errorf("command %q args %q: the image's start script must run, it maps KAFKA_* to properties",
			c.Command, c.Args)
	}
}

func TestBrokerPodSpec(t *testing.T) {
	sts, c, _ := brokerStatefulSet(t)
	spec := sts.Spec.Template.Spec
	if sts.Spec.Replicas == nil || *sts.Spec.Replicas != 1 {
		t.Errorf("replicas %v, want 1 (single KRaft node)", sts.Spec.Replicas)
	}
	if spec.EnableServiceLinks == nil || *spec.EnableServiceLinks {
		t.Error("enableServiceLinks must be false: Service env vars named KAFKA_* would become broker properties")
	}
	if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
		t.Error("the broker pod needs no API token: automountServiceAccountToken must be false")
	}
	for name, p := range map[string]*corev1.Probe{
		"startup": c.StartupProbe, "readiness": c.ReadinessProbe, "liveness": c.LivenessProbe,
	} {
		if p == nil || p.TCPSocket == nil && p.Exec == nil && p.HTTPGet == nil {
			t.Errorf("%s probe missing", name)
		}
	}
	if c.SecurityContext == nil || c.SecurityContext.AllowPrivilegeEscalation == nil ||
		*c.SecurityContext.AllowPrivilegeEscalation {
		t.Error("kafka container must set allowPrivilegeEscalation: false")
	}
	if sc := spec.SecurityContext; sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
		t.Error("pod must run as non-root")
	}
}

func TestBrokerDataOnPersistentVolume(t *testing.T) {
	sts, c, _ := brokerStatefulSet(t)
	if len(sts.Spec.VolumeClaimTemplates) != 1 {
		t.Fatalf("volumeClaimTemplates: %d, want 1", len(sts.Spec.VolumeClaimTemplates))
	}
	pvc := sts.Spec.VolumeClaimTemplates[0]
	if pvc.Spec.StorageClassName == nil || *pvc.Spec.StorageClassName != "local-path" {
		t.Errorf("storageClassName %v, want local-path (k3s)", pvc.Spec.StorageClassName)
	}
	if !slices.Equal(pvc.Spec.AccessModes, []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}) {
		t.Errorf("access modes %v, want ReadWriteOnce", pvc.Spec.AccessModes)
	}
	if _, ok := pvc.Spec.Resources.Requests[corev1.ResourceStorage]; !ok {
		t.Error("PVC template requests no storage")
	}
	if mountPath(c, pvc.Name) != kafkaDataPath {
		t.Errorf("volume %s mounted at %q, want %s", pvc.Name, mountPath(c, pvc.Name), kafkaDataPath)
	}
}

func mountPath(c *corev1.Container, volume string) string {
	for _, m := range c.VolumeMounts {
		if m.Name == volume {
			return m.MountPath
		}
	}
	return ""
}

// TestJMXExporterAgent checks the chain from the init container that
// fetches the agent jar to the -javaagent option and the rules ConfigMap.
func TestJMXExporterAgent(t *testing.T) {
	sts, c, env := brokerStatefulSet(t)
	if len(sts.Spec.Template.Spec.InitContainers) != 1 {
		t.Fatalf("want one init container (the JMX agent), got %d", len(sts.Spec.Template.Spec.InitContainers))
	}
	initC := &sts.Spec.Template.Spec.InitContainers[0]
	initEnv := literalEnv(t, initC)
	version := initEnv["JMX_AGENT_VERSION"]
	jar := path.Join(kafkaDataPath, "jmx-agent", "jmx_prometheus_javaagent-"+version+".jar")
	if !strings.Contains(initEnv["JMX_AGENT_URL"], "/"+version+"/") || len(initEnv["JMX_AGENT_SHA256"]) != 64 {
		t.Errorf("init env %v: want a versioned URL and a SHA-256", initEnv)
	}
	if mountPath(initC, "data") != kafkaDataPath {
		t.Errorf("init container must write the jar to the data volume at %s", kafkaDataPath)
	}
	opts := env["KAFKA_OPTS"]
	agent, ok := strings.CutPrefix(opts, "-javaagent:")
	if !ok {
		t.Fatalf("KAFKA_OPTS %q does not load a java agent", opts)
	}
	parts := strings.Split(agent, "=")
	if len(parts) != 2 || parts[0] != jar {
		t.Fatalf("java agent %q, want the jar %s", agent, jar)
	}
	port, rules, _ := strings.Cut(parts[1], ":")
	if port != strconv.Itoa(int(containerPorts(c)["metrics"])) {
		t.Errorf("agent port %s, want the container port metrics", port)
	}
	configDir := mountPath(c, "jmx-config")
	if path.Dir(rules) != configDir {
		t.Errorf("agent rules %s outside the jmx-config mount %q", rules, configDir)
	}
	var cmName, cmKey string
	for _, v := range sts.Spec.Template.Spec.Volumes {
		if v.Name == "jmx-config" && v.ConfigMap != nil {
			cmName, cmKey = v.ConfigMap.Name, path.Base(rules)
		}
	}
	if cmName != jmxConfigMap {
		t.Errorf("jmx-config volume uses ConfigMap %q, want %q", cmName, jmxConfigMap)
	}
	script := readRepoFile(t, entryScript)
	if !strings.Contains(script, "create configmap "+jmxConfigMap) ||
		!strings.Contains(script, "--from-file="+cmKey+"=") {
		t.Errorf("%s must create ConfigMap %s with key %s", entryScript, jmxConfigMap, cmKey)
	}
}
