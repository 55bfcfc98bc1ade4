package vibectl

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kafkatune/kafkatune/internal/knobs"
)

func testPolicy() *Policy {
	return &Policy{
		RealKubectl:        "/usr/bin/kubectl",
		Kubeconfig:         "/run/agent/sa.kubeconfig",
		Namespace:          "kafka",
		StatefulSet:        "kafka-controller",
		Container:          "kafka",
		ProtectedConfigMap: "kafka-latency-metrics",
		Limits:             knobs.DefaultLimits(), // heap 256..2048, net 1..8, io 1..16
		MinChangeInterval:  Duration(5 * time.Minute),
		RolloutTimeout:     Duration(2 * time.Minute),
	}
}

func TestDecideAllows(t *testing.T) {
	tests := []struct {
		name     string
		args     string // split on "|"
		want     string // real kubectl args after --kubeconfig, joined by "|"
		mutation bool
	}{
		{"read metrics as vibectl sends it",
			"--kubeconfig|/run/agent/sa.kubeconfig|get|configmap|kafka-latency-metrics|-n|kafka|-o|jsonpath={.data}",
			"--namespace=kafka|get|configmap|kafka-latency-metrics|--output=jsonpath={.data}", false},
		{"namespace added when missing", "get|pods",
			"--namespace=kafka|get|pods", false},
		{"glued namespace", "get|pods|-nkafka|-oyaml",
			"--namespace=kafka|get|pods|--output=yaml", false},
		{"namespace with equals", "describe|sts/kafka-controller|--namespace=kafka|-n=kafka",
			"--namespace=kafka|describe|sts/kafka-controller", false},
		{"several kinds", "get|sts,pods,svc,cm|--show-labels",
			"--namespace=kafka|get|sts,pods,svc,cm|--show-labels", false},
		{"get all", "get|all", "--namespace=kafka|get|all", false},
		{"kind with group", "get|statefulsets.apps|kafka-controller|-o|json",
			"--namespace=kafka|get|statefulsets.apps|kafka-controller|--output=json", false},
		{"logs with previous and tail", "logs|kafka-controller-0|-p|--tail=100|-c|kafka",
			"--namespace=kafka|logs|kafka-controller-0|--previous|--tail=100|--container=kafka", false},
		{"logs of the statefulset", "logs|statefulset/kafka-controller|--since=5m",
			"--namespace=kafka|logs|statefulset/kafka-controller|--since=5m", false},
		{"events", "events|--types=Warning",
			"--namespace=kafka|events|--types=Warning", false},
		{"top pod", "top|pod|kafka-controller-0",
			"--namespace=kafka|top|pod|kafka-controller-0", false},
		{"rollout status gets a timeout", "rollout|status|statefulset/kafka-controller|-n|kafka",
			"--namespace=kafka|rollout|status|statefulset/kafka-controller|--timeout=2m0s", false},
		{"rollout status keeps its timeout", "rollout|status|sts|kafka-controller|--timeout=30s",
			"--namespace=kafka|rollout|status|statefulset/kafka-controller|--timeout=30s", false},
		{"rollout restart", "rollout|restart|statefulset/kafka-controller",
			"--namespace=kafka|rollout|restart|statefulset/kafka-controller", true},
		{"set env io threads", "set|env|statefulset/kafka-controller|KAFKA_NUM_IO_THREADS=8",
			"--namespace=kafka|set|env|statefulset/kafka-controller|KAFKA_NUM_IO_THREADS=8|--containers=kafka", true},
		{"set env heap", "set|env|sts|kafka-controller|-c|kafka|KAFKA_HEAP_OPTS=-Xms1g -Xmx1g",
			"--namespace=kafka|set|env|statefulset/kafka-controller|KAFKA_HEAP_OPTS=-Xms1g -Xmx1g|--containers=kafka", true},
		{"set env through -e", "set|env|statefulset/kafka-controller|-e|KAFKA_NUM_NETWORK_THREADS=3",
			"--namespace=kafka|set|env|statefulset/kafka-controller|--env=KAFKA_NUM_NETWORK_THREADS=3|--containers=kafka", true},
		{"set env list is read-only", "set|env|statefulset/kafka-controller|--list",
			"--namespace=kafka|set|env|statefulset/kafka-controller|--list|--containers=kafka", false},
		{"dry run is not a change", "set|env|statefulset/kafka-controller|KAFKA_NUM_IO_THREADS=4|--dry-run=server",
			"--namespace=kafka|set|env|statefulset/kafka-controller|KAFKA_NUM_IO_THREADS=4|--dry-run=server|--containers=kafka", false},
		{"strategic patch is re-encoded",
			`patch|statefulset|kafka-controller|-p|{"spec":{"template":{"spec":{"containers":[{"name":"kafka","env":[{"name":"KAFKA_HEAP_OPTS","value":"-Xms512m -Xmx512m"}]}]}}}}`,
			`--namespace=kafka|patch|statefulset/kafka-controller|--type=strategic|` +
				`--patch={"spec":{"template":{"spec":{"containers":[{"name":"kafka","env":[{"name":"KAFKA_HEAP_OPTS","value":"-Xms512m -Xmx512m"}]}]}}}}`,
			true},
		{"explain", "explain|statefulset.spec.template", "--namespace=kafka|explain|statefulset.spec.template", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Decide(strings.Split(tt.args, "|"), testPolicy())
			if !d.Allow {
				t.Fatalf("refused: %s", d.Reason)
			}
			if got := strings.Join(d.Args, "|"); got != tt.want {
				t.Errorf("args\n got %s\nwant %s", got, tt.want)
			}
			if d.Mutation != tt.mutation {
				t.Errorf("mutation = %v, want %v", d.Mutation, tt.mutation)
			}
		})
	}
}

func TestDecideRefuses(t *testing.T) {
	// Each case is a command an LLM could plan; want is a fragment of the
	// reason, so that the refusal is for the right cause.
	tests := []struct {
		name, args, want string
	}{
		{"other kubeconfig", "--kubeconfig|/root/.kube/config|get|pods", "credentials"},
		{"kubeconfig after the verb", "get|pods|--kubeconfig=/etc/rancher/k3s/k3s.yaml", "credentials"},
		{"context", "get|pods|--context|admin", "credentials"},
		{"cluster", "get|pods|--cluster=k3d", "credentials"},
		{"user", "get|pods|--user=admin", "credentials"},
		{"token", "get|pods|--token|abc", "credentials"},
		{"server", "get|pods|--server=https://10.0.0.1:6443", "credentials"},
		{"server short", "get|pods|-s|https://10.0.0.1:6443", "credentials"},
		{"impersonation", "get|pods|--as=system:admin", "credentials"},
		{"impersonation group", "get|pods|--as-group=system:masters", "credentials"},
		{"impersonation uid", "get|pods|--as-uid=0", "credentials"},
		{"insecure", "get|pods|--insecure-skip-tls-verify", "credentials"},
		{"all namespaces short", "get|pods|-A", "namespace"},
		{"all namespaces", "get|pods|--all-namespaces", "namespace"},
		{"other namespace", "get|pods|-n|kube-system", "namespace"},
		{"other namespace glued", "get|pods|-nkube-system", "namespace"},
		{"namespace twice", "get|pods|-n|kafka|--namespace=default", "namespace"},
		{"all", "get|pods|--all", "--all"},
		{"force", "rollout|restart|sts/kafka-controller|--force", "forced"},
		{"grace period alone", "rollout|restart|sts/kafka-controller|--grace-period=0", "forced"},
		{"delete", "delete|pod|kafka-controller-0", "delete is not allowed"},
		{"exec", "exec|kafka-controller-0|--|sh", "is not allowed"},
		{"exec plain", "exec|kafka-controller-0|ls", "exec is not allowed"},
		{"port-forward", "port-forward|svc/kafka|9092", "not allowed"},
		{"cp", "cp|kafka-controller-0:/etc/passwd|/tmp/x", "not allowed"},
		{"run", "run|x|--image=busybox", "not allowed"},
		{"scale", "scale|sts/kafka-controller|--replicas=3", "scale is not allowed"},
		{"apply file", "apply|-f|/tmp/x.yaml", "not allowed"},
		{"apply stdin", "apply|-f|-", "not allowed"},
		{"manifest flag on an allowed verb", "get|-f|/tmp/x.yaml", "files"},
		{"create", "create|configmap|x|--from-literal=a=b", "not allowed"},
		{"edit", "edit|sts/kafka-controller", "not allowed"},
		{"secrets", "get|secrets", "secrets"},
		{"secret by name", "get|secret/kafka-sa-token|-o|yaml", "secrets"},
		{"secret in a list", "get|cm,secret", "secrets"},
		{"secret with group", "describe|secrets.v1.|x", "secrets"},
		{"cluster scoped", "get|nodes", "not allowed"},
		{"rbac", "get|clusterrolebindings", "not allowed"},
		{"raw api", "get|--raw|/api/v1/namespaces/kafka/secrets", "--raw"},
		{"watch", "get|pods|-w", "never end"},
		{"follow logs", "logs|kafka-controller-0|-f", "files"},
		{"follow logs long", "logs|kafka-controller-0|--follow", "never end"},
		{"verbose tracing", "get|pods|-v=9", "verbose"},
		{"config view", "config|view|--raw", "credentials"},
		{"auth", "auth|can-i|--list", "credentials"},
		{"plugin verb", "kafkatune-evil", "not allowed"},
		{"no verb", "-n|kafka", "no kubectl verb"},
		{"double dash", "get|--|pods", "not allowed"},
		{"combined short flags", "logs|x|-pq", "combined"},
		{"unknown flag", "get|pods|--chunky", "not allowed"},
		{"flag without value", "get|pods|-o", "needs a value"},
		{"patch metrics configmap",
			`patch|configmap|kafka-latency-metrics|-p|{"data":{"actual_latency_ms":"0.1"}}`, "measurement"},
		{"patch metrics configmap by type/name",
			`patch|cm/kafka-latency-metrics|--type=merge|-p|{"data":{}}`, "measurement"},
		{"set env on metrics configmap", "set|env|configmap/kafka-latency-metrics|A=1", "measurement"},
		{"delete metrics configmap", "delete|cm|kafka-latency-metrics", "measurement"},
		{"label metrics configmap", "label|cm|kafka-latency-metrics|x=y", "measurement"},
		{"annotate metrics configmap", "annotate|configmap/kafka-latency-metrics|a=b", "measurement"},
		{"patch other configmap", `patch|cm|kafka-controller-config|-p|{"data":{}}`, "only statefulset"},
		{"patch other statefulset", `patch|sts|other|-p|{}`, "only statefulset"},
		{"rollout undo", "rollout|undo|sts/kafka-controller", "only status, history and restart"},
		{"rollout restart of other", "rollout|restart|deployment/x", "not allowed"},
		{"heap above bound", "set|env|sts/kafka-controller|KAFKA_HEAP_OPTS=-Xms4g -Xmx4g", "outside the allowed range"},
		{"heap below bound", "set|env|sts/kafka-controller|KAFKA_HEAP_OPTS=-Xms64m -Xmx64m", "outside the allowed range"},
		{"heap sizes differ", "set|env|sts/kafka-controller|KAFKA_HEAP_OPTS=-Xms256m -Xmx1g", "differs"},
		{"heap with jvm hook",
			"set|env|sts/kafka-controller|KAFKA_HEAP_OPTS=-Xms1g -Xmx1g -XX:OnOutOfMemoryError=sh", "only -Xms"},
		{"heap with agent", "set|env|sts/kafka-controller|KAFKA_HEAP_OPTS=-javaagent:/x.jar -Xms1g -Xmx1g", "only -Xms"},
		{"heap twice", "set|env|sts/kafka-controller|KAFKA_HEAP_OPTS=-Xms1g -Xmx1g -Xmx2g", "exactly one"},
		{"heap split in two args", "set|env|sts/kafka-controller|KAFKA_HEAP_OPTS=-Xms1g|-Xmx1g", "not allowed"},
		{"threads too many", "set|env|sts/kafka-controller|KAFKA_NUM_IO_THREADS=64", "outside the allowed range"},
		{"network threads too many", "set|env|sts/kafka-controller|KAFKA_NUM_NETWORK_THREADS=9", "outside the allowed range"},
		{"threads zero", "set|env|sts/kafka-controller|KAFKA_NUM_IO_THREADS=0", "outside the allowed range"},
		{"threads negative", "set|env|sts/kafka-controller|KAFKA_NUM_IO_THREADS=-1", "whole number"},
		{"threads not a number", "set|env|sts/kafka-controller|KAFKA_NUM_IO_THREADS=$(id)", "whole number"},
		{"threads huge", "set|env|sts/kafka-controller|KAFKA_NUM_IO_THREADS=99999999999", "whole number"},
		{"two knobs at once",
			"set|env|sts/kafka-controller|KAFKA_NUM_IO_THREADS=4|KAFKA_NUM_NETWORK_THREADS=2", "one change at a time"},
		{"other variable", "set|env|sts/kafka-controller|KAFKA_PROCESS_ROLES=broker", "may not be set"},
		{"unset a knob", "set|env|sts/kafka-controller|KAFKA_HEAP_OPTS-", "removing"},
		{"env from a secret", "set|env|sts/kafka-controller|--from=secret/x", "--from"},
		{"other container", "set|env|sts/kafka-controller|-c|sidecar|KAFKA_NUM_IO_THREADS=4", "container"},
		{"set image", "set|image|sts/kafka-controller|kafka=evil:latest", "only set env"},
		{"set env nothing", "set|env|sts/kafka-controller", "needs one"},
		{"json patch", `patch|sts/kafka-controller|--type=json|-p|[{"op":"replace","path":"/spec/replicas","value":3}]`,
			"--type=json"},
		{"merge patch", `patch|sts/kafka-controller|--type|merge|-p|{}`, "--type=merge"},
		{"patch from file", "patch|sts/kafka-controller|--patch-file=/tmp/p.json", "files"},
		{"patch without body", "patch|sts/kafka-controller", "needs -p"},
		{"patch replicas", `patch|sts/kafka-controller|-p|{"spec":{"replicas":3}}`, "env-only"},
		{"patch image",
			`patch|sts/kafka-controller|-p|{"spec":{"template":{"spec":{"containers":[{"name":"kafka","image":"evil"}]}}}}`,
			"env-only"},
		{"patch valueFrom",
			`patch|sts/kafka-controller|-p|{"spec":{"template":{"spec":{"containers":[{"name":"kafka","env":[{"name":"KAFKA_NUM_IO_THREADS","valueFrom":{"secretKeyRef":{"name":"x","key":"y"}}}]}]}}}}`,
			"env-only"},
		{"patch directive",
			`patch|sts/kafka-controller|-p|{"spec":{"template":{"spec":{"containers":[{"name":"kafka","$patch":"replace","env":[]}]}}}}`,
			"env-only"},
		{"patch out of bounds",
			`patch|sts/kafka-controller|-p|{"spec":{"template":{"spec":{"containers":[{"name":"kafka","env":[{"name":"KAFKA_NUM_NETWORK_THREADS","value":"100"}]}]}}}}`,
			"outside the allowed range"},
		{"patch other container",
			`patch|sts/kafka-controller|-p|{"spec":{"template":{"spec":{"containers":[{"name":"x","env":[{"name":"KAFKA_NUM_IO_THREADS","value":"4"}]}]}}}}`,
			"exactly container"},
		{"patch trailing data",
			`patch|sts/kafka-controller|-p|{"spec":{}} {"spec":{}}`, "trailing"},
		{"patch yaml", "patch|sts/kafka-controller|-p|spec: {replicas: 3}", "env-only"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Decide(strings.Split(tt.args, "|"), testPolicy())
			if d.Allow {
				t.Fatalf("allowed %q as %q", tt.args, d.Args)
			}
			if !strings.Contains(d.Reason, tt.want) {
				t.Errorf("reason %q does not mention %q", d.Reason, tt.want)
			}
		})
	}
}

func TestDecideChanges(t *testing.T) {
	d := Decide([]string{"set", "env", "sts/kafka-controller", "KAFKA_NUM_IO_THREADS=8"}, testPolicy())
	want := map[string]string{knobs.EnvIOThreads: "8"}
	if !reflect.DeepEqual(d.Changes, want) {
		t.Errorf("changes = %v, want %v", d.Changes, want)
	}
}

func TestCheckRate(t *testing.T) {
	p := testPolicy()
	p.StateFile = t.TempDir() + "/state"
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := checkRate(p, t0); err != nil {
		t.Fatalf("first change refused: %v", err)
	}
	if err := writeState(p.StateFile, t0); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		after time.Duration
		ok    bool
	}{
		{"right after", time.Second, false},
		{"just before the interval", 5*time.Minute - time.Second, false},
		{"at the interval", 5 * time.Minute, true},
		{"later", time.Hour, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkRate(p, t0.Add(tt.after))
			if (err == nil) != tt.ok {
				t.Errorf("checkRate after %s = %v, want ok=%v", tt.after, err, tt.ok)
			}
		})
	}
}

func TestRedactArgs(t *testing.T) {
	red := NewRedactor("supersecretkey123")
	got := redactArgs([]string{
		"get", "--token", "abc", "--token=def", "--password=ghi",
		"x-supersecretkey123", "sk-ant-api03-ABCDEFGHIJKLMNOPQRST",
	}, red)
	want := []string{
		"get", "--token", Redacted, "--token=" + Redacted, "--password=" + Redacted,
		"x-" + Redacted, Redacted,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}
