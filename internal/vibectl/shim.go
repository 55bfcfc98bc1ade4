package vibectl

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/kafkatune/kafkatune/internal/knobs"
)

// Policy is what the kubectl shim enforces. The agent writes it as JSON
// into the shim directory and names the file in EnvShimPolicy.
type Policy struct {
	// RealKubectl is the absolute path of the kubectl the shim runs.
	RealKubectl string `json:"real_kubectl"`
	// Kubeconfig is the least-privilege kubeconfig; every call uses it.
	Kubeconfig string `json:"kubeconfig"`
	// Namespace is the only namespace reachable.
	Namespace string `json:"namespace"`
	// StatefulSet and Container name the broker, the only writable object.
	StatefulSet string `json:"statefulset"`
	Container   string `json:"container"`
	// ProtectedConfigMap is the measurement ConfigMap, never writable.
	ProtectedConfigMap string `json:"protected_configmap"`
	// Limits are the sandbox limits the knob bounds derive from.
	Limits knobs.Limits `json:"limits"`
	// MinChangeInterval is the least time between two changes.
	MinChangeInterval Duration `json:"min_change_interval"`
	// CallTimeout bounds each run of the real kubectl.
	CallTimeout Duration `json:"call_timeout"`
	// RolloutTimeout is given to `rollout status` when it has no --timeout.
	RolloutTimeout Duration `json:"rollout_timeout"`
	// LogFile receives one JSON line per invocation.
	LogFile string `json:"log_file"`
	// StateFile remembers when the last change was made.
	StateFile string `json:"state_file"`
}

// Duration is a time.Duration that reads and writes JSON as "5m0s".
type Duration time.Duration

// MarshalJSON writes d as a Go duration string.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON reads a Go duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// Decision is the shim's verdict on one kubectl command line.
type Decision struct {
	// Allow is true when the command may run.
	Allow bool `json:"allow"`
	// Reason says why a command was refused.
	Reason string `json:"reason,omitempty"`
	// Verb is the kubectl verb ("" if none could be read).
	Verb string `json:"verb,omitempty"`
	// Mutation is true when the command changes the cluster.
	Mutation bool `json:"mutation"`
	// Changes are the knob variables the command sets, by name.
	Changes map[string]string `json:"changes,omitempty"`
	// Args are the arguments the real kubectl gets, after --kubeconfig.
	Args []string `json:"-"`
}

func refuse(verb string, err error) Decision {
	return Decision{Verb: verb, Reason: err.Error()}
}

// Decide judges the kubectl arguments args (without "kubectl") under p. It
// knows nothing of time: the rate limit on changes is applied by the
// caller.
func Decide(args []string, p *Policy) Decision {
	if err := checkProtected(args, p); err != nil {
		return refuse("", err)
	}
	c, err := parseCmdline(args)
	if err != nil {
		return refuse(c.verb, err)
	}
	if err := checkGlobal(c, p); err != nil {
		return refuse(c.verb, err)
	}
	d, err := decideVerb(c, p)
	if err != nil {
		return refuse(c.verb, err)
	}
	d.Allow, d.Verb = true, c.verb
	d.Args = append([]string{"--namespace=" + p.Namespace, c.verb}, d.Args...)
	return d
}

// checkGlobal accepts --namespace only for the allowed namespace and
// --kubeconfig only for the agent's own (vibectl adds it to every call).
func checkGlobal(c *cmdline, p *Policy) error {
	for _, f := range c.flags {
		switch f.name {
		case kflagNamespace:
			if f.value != p.Namespace {
				return fmt.Errorf("namespace %q: %s", f.value, reasonNamespace)
			}
		case kflagKubeconfig:
			if f.value != p.Kubeconfig {
				return fmt.Errorf("kubeconfig %q: %s", f.value, reasonCredentials)
			}
		}
	}
	return nil
}

// readOnlyVerbs never change anything.
var readOnlyVerbs = map[string]bool{
	"get": true, "describe": true, "logs": true, "events": true, "top": true,
	"explain": true, "api-resources": true, "version": true,
}

// checkProtected refuses any command that is not read-only and names the
// measurement ConfigMap, whatever the verb and however it is spelled.
func checkProtected(args []string, p *Policy) error {
	verb, rest := splitVerb(args)
	if readOnlyVerbs[verb] {
		return nil
	}
	if verb == "rollout" && len(rest) > 0 && rest[0] != "restart" {
		return nil
	}
	for _, a := range args {
		if strings.Contains(a, p.ProtectedConfigMap) {
			return errProtected(p)
		}
	}
	return nil
}

// splitVerb returns the first argument that is neither a flag nor the
// value of a global flag, and the arguments after it.
func splitVerb(args []string) (string, []string) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") {
			return a, args[i+1:]
		}
		switch a {
		case "-n", "--namespace", "--kubeconfig":
			i++
		}
	}
	return "", nil
}

func errProtected(p *Policy) error {
	return fmt.Errorf("configmap %s is the measurement and must never be written", p.ProtectedConfigMap)
}

func decideVerb(c *cmdline, p *Policy) (Decision, error) {
	switch c.verb {
	case "get", "describe":
		return decideRead(c, p)
	case "logs":
		return decideLogs(c, p)
	case "top":
		return decideTop(c)
	case "events", "api-resources", "version":
		if len(c.pos) > 0 {
			return Decision{}, fmt.Errorf("%s takes no arguments here", c.verb)
		}
		return Decision{Args: c.rebuild()}, nil
	case "explain":
		return Decision{Args: c.rebuild()}, nil
	case "rollout":
		return decideRollout(c, p)
	case "set":
		return decideSetEnv(c, p)
	case "patch":
		return decidePatch(c, p)
	default:
		return Decision{}, verbError(c.verb)
	}
}

// verbError explains why a verb without a flag table is refused.
func verbError(verb string) error {
	switch verb {
	case "exec", "attach", "cp", "port-forward", "proxy", "debug", "run":
		return fmt.Errorf("%s is not allowed: no shell or network access into pods", verb)
	case "delete", "drain", "cordon", "uncordon", "taint", "scale", "autoscale":
		return fmt.Errorf("%s is not allowed: only the three broker variables may change", verb)
	case "config", "auth", "certificate", "plugin", "kustomize":
		return fmt.Errorf("%s is not allowed: credentials are fixed by the agent", verb)
	default:
		return fmt.Errorf("verb %q is not allowed", verb)
	}
}

// rebuild renders the flags other than the global ones in canonical
// "--name=value" form, after the positional arguments. The real kubectl
// thus parses exactly what the shim judged.
func (c *cmdline) rebuild() []string {
	out := append([]string(nil), c.pos...)
	for _, f := range c.flags {
		if f.name == kflagNamespace || f.name == kflagKubeconfig {
			continue
		}
		if f.hasValue {
			out = append(out, "--"+f.name+"="+f.value)
		} else {
			out = append(out, "--"+f.name)
		}
	}
	return out
}

// Resource kinds by every name kubectl accepts for them.
var resourceKinds = map[string]string{
	"pod": "pods", "pods": "pods", "po": "pods",
	"statefulset": "statefulsets", "statefulsets": "statefulsets", "sts": "statefulsets",
	"configmap": "configmaps", "configmaps": "configmaps", "cm": "configmaps",
	"service": "services", "services": "services", "svc": "services",
	"endpoints": "endpoints", "ep": "endpoints",
	"event": "events", "events": "events", "ev": "events",
	"persistentvolumeclaim":  "persistentvolumeclaims",
	"persistentvolumeclaims": "persistentvolumeclaims", "pvc": "persistentvolumeclaims",
	"all": "all",
}

// kindOf normalizes a resource name such as "StatefulSets.apps" or
// "sts.v1.apps" to its plural kind.
func kindOf(name string) (string, error) {
	base, _, _ := strings.Cut(strings.ToLower(name), ".")
	switch base {
	case "secret", "secrets":
		return "", errors.New("secrets are off limits")
	case "":
		return "", fmt.Errorf("empty resource name in %q", name)
	}
	k, ok := resourceKinds[base]
	if !ok {
		return "", fmt.Errorf("resource %q is not allowed", name)
	}
	return k, nil
}

// decideRead checks get/describe: "TYPE[,TYPE] [NAME...]" or
// "TYPE/NAME...".
func decideRead(c *cmdline, _ *Policy) (Decision, error) {
	if len(c.pos) == 0 {
		return Decision{}, fmt.Errorf("%s needs a resource type", c.verb)
	}
	if strings.Contains(c.pos[0], "/") {
		for _, a := range c.pos {
			kind, _, ok := strings.Cut(a, "/")
			if !ok {
				return Decision{}, fmt.Errorf("mixed TYPE/NAME and NAME arguments: %q", a)
			}
			if err := checkKinds(kind, c.verb); err != nil {
				return Decision{}, err
			}
		}
	} else if err := checkKinds(c.pos[0], c.verb); err != nil {
		return Decision{}, err
	}
	return Decision{Args: c.rebuild()}, nil
}

func checkKinds(list, verb string) error {
	for _, t := range strings.Split(list, ",") {
		k, err := kindOf(t)
		if err != nil {
			return err
		}
		if k == "all" && verb != "get" {
			return fmt.Errorf("%s all is not allowed", verb)
		}
	}
	return nil
}

func decideLogs(c *cmdline, _ *Policy) (Decision, error) {
	if len(c.pos) > 2 {
		return Decision{}, errors.New("logs takes a pod and at most a container")
	}
	if len(c.pos) > 0 {
		if kind, _, ok := strings.Cut(c.pos[0], "/"); ok {
			k, err := kindOf(kind)
			if err != nil {
				return Decision{}, err
			}
			if k != "pods" && k != "statefulsets" {
				return Decision{}, fmt.Errorf("logs of %s are not available", kind)
			}
		}
	}
	return Decision{Args: c.rebuild()}, nil
}

func decideTop(c *cmdline) (Decision, error) {
	if len(c.pos) == 0 {
		return Decision{}, errors.New("top needs pod")
	}
	if k, err := kindOf(c.pos[0]); err != nil || k != "pods" {
		return Decision{}, fmt.Errorf("top %s is not allowed: only top pod", c.pos[0])
	}
	if len(c.pos) > 2 {
		return Decision{}, errors.New("top pod takes at most one pod name")
	}
	return Decision{Args: c.rebuild()}, nil
}

// target reads the object of a rollout/set/patch from pos: "TYPE/NAME" or
// "TYPE NAME". It returns the kind, the name and the arguments after them.
func target(pos []string) (kind, name string, rest []string, err error) {
	if len(pos) == 0 {
		return "", "", nil, errors.New("no object given")
	}
	if t, n, ok := strings.Cut(pos[0], "/"); ok {
		kind, name, rest = t, n, pos[1:]
	} else {
		if len(pos) < 2 {
			return "", "", nil, fmt.Errorf("%q needs a name", pos[0])
		}
		kind, name, rest = pos[0], pos[1], pos[2:]
	}
	k, err := kindOf(kind)
	if err != nil {
		return "", "", nil, err
	}
	return k, name, rest, nil
}

// checkBroker requires the object to be the broker's StatefulSet.
func checkBroker(pos []string, p *Policy) ([]string, error) {
	kind, name, rest, err := target(pos)
	if err != nil {
		return nil, err
	}
	if kind == "configmaps" && name == p.ProtectedConfigMap {
		return nil, errProtected(p)
	}
	if kind != "statefulsets" || name != p.StatefulSet {
		return nil, fmt.Errorf("only statefulset/%s may be changed or rolled, not %s/%s",
			p.StatefulSet, kind, name)
	}
	return rest, nil
}

func decideRollout(c *cmdline, p *Policy) (Decision, error) {
	if len(c.pos) == 0 {
		return Decision{}, errors.New("rollout needs status, history or restart")
	}
	sub := c.pos[0]
	rest, err := checkBroker(c.pos[1:], p)
	if err != nil {
		return Decision{}, err
	}
	if len(rest) > 0 {
		return Decision{}, fmt.Errorf("unexpected arguments %q", rest)
	}
	c.pos = []string{sub, "statefulset/" + p.StatefulSet}
	switch sub {
	case "status":
		if !c.has("timeout") {
			c.flags = append(c.flags, flagUse{
				name: "timeout", value: time.Duration(p.RolloutTimeout).String(), hasValue: true,
			})
		}
		return Decision{Args: c.rebuild()}, nil
	case "history":
		return Decision{Args: c.rebuild()}, nil
	case "restart":
		return Decision{Args: c.rebuild(), Mutation: true}, nil
	default:
		return Decision{}, fmt.Errorf("rollout %s is not allowed: only status, history and restart", sub)
	}
}

// dryRun reports whether the command only pretends to change.
func (c *cmdline) dryRun() bool {
	v, ok := c.get("dry-run")
	return ok && v != "none"
}

func decideSetEnv(c *cmdline, p *Policy) (Decision, error) {
	if len(c.pos) == 0 || c.pos[0] != "env" {
		return Decision{}, errors.New("only set env is allowed")
	}
	rest, err := checkBroker(c.pos[1:], p)
	if err != nil {
		return Decision{}, err
	}
	if v, ok := c.get("containers"); ok && v != p.Container {
		return Decision{}, fmt.Errorf("container %q: only container %s may change", v, p.Container)
	}
	pairs := rest
	for _, f := range c.flags {
		if f.name == "env" {
			pairs = append(pairs, f.value)
		}
	}
	d := Decision{Changes: map[string]string{}}
	if c.has("list") {
		if len(pairs) > 0 {
			return Decision{}, errors.New("set env --list takes no NAME=VALUE")
		}
	} else {
		if len(pairs) == 0 {
			return Decision{}, errors.New("set env needs one NAME=VALUE")
		}
		if err := collectPairs(pairs, p, d.Changes); err != nil {
			return Decision{}, err
		}
		d.Mutation = !c.dryRun()
	}
	c.pos = append([]string{"env", "statefulset/" + p.StatefulSet}, rest...)
	if !c.has("containers") {
		c.flags = append(c.flags, flagUse{name: "containers", value: p.Container, hasValue: true})
	}
	d.Args = c.rebuild()
	return d, nil
}

func collectPairs(pairs []string, p *Policy, changes map[string]string) error {
	for _, kv := range pairs {
		name, value, ok := strings.Cut(kv, "=")
		if !ok {
			if strings.HasSuffix(kv, "-") {
				return fmt.Errorf("removing %s is not allowed", strings.TrimSuffix(kv, "-"))
			}
			return fmt.Errorf("%q is not NAME=VALUE", kv)
		}
		if err := checkKnobValue(name, value, p.Limits); err != nil {
			return err
		}
		if _, dup := changes[name]; dup {
			return fmt.Errorf("%s is given twice", name)
		}
		changes[name] = value
	}
	if len(changes) > 1 {
		return errors.New("one change at a time: set one variable per command")
	}
	return nil
}

var digits = regexp.MustCompile(`^[0-9]{1,6}$`)

// checkKnobValue accepts a value for one of the three knob variables that
// is well formed and inside the bounds the limits give.
func checkKnobValue(name, value string, l knobs.Limits) error {
	b := l.Bounds()
	s := knobs.Setting{
		HeapMB: b.HeapMB.Min, NetworkThreads: b.NetworkThreads.Min, IOThreads: b.IOThreads.Min,
	}
	switch name {
	case knobs.EnvHeapOpts:
		mb, err := parseHeapStrict(value)
		if err != nil {
			return err
		}
		s.HeapMB = mb
	case knobs.EnvNetworkThreads, knobs.EnvIOThreads:
		if !digits.MatchString(value) {
			return fmt.Errorf("%s=%q: want a whole number", name, value)
		}
		n, _ := strconv.Atoi(value)
		if name == knobs.EnvNetworkThreads {
			s.NetworkThreads = n
		} else {
			s.IOThreads = n
		}
	default:
		return fmt.Errorf("variable %q may not be set: only %s, %s and %s",
			name, knobs.EnvHeapOpts, knobs.EnvNetworkThreads, knobs.EnvIOThreads)
	}
	if err := b.Check(s); err != nil {
		return fmt.Errorf("%s=%q refused: %w", name, value, err)
	}
	return nil
}

// parseHeapStrict reads KAFKA_HEAP_OPTS that holds exactly one -Xms and one
// -Xmx of the same size and nothing else: other JVM options (agents,
// OnOutOfMemoryError hooks) are not the agent's to set.
func parseHeapStrict(v string) (int, error) {
	fields := strings.Fields(v)
	var xms, xmx int
	for _, f := range fields {
		switch {
		case strings.HasPrefix(f, "-Xms"):
			xms++
		case strings.HasPrefix(f, "-Xmx"):
			xmx++
		default:
			return 0, fmt.Errorf("%s=%q: only -Xms<N>m -Xmx<N>m is allowed, not %q",
				knobs.EnvHeapOpts, v, f)
		}
	}
	if xms != 1 || xmx != 1 {
		return 0, fmt.Errorf("%s=%q: want exactly one -Xms and one -Xmx", knobs.EnvHeapOpts, v)
	}
	mb, err := knobs.ParseHeapOpts(v)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", knobs.EnvHeapOpts, err)
	}
	return mb, nil
}

// envPatch is the only shape of strategic merge patch the shim lets
// through: environment variables of one container.
type envPatch struct {
	Spec struct {
		Template struct {
			Spec struct {
				Containers []struct {
					Name string `json:"name"`
					Env  []struct {
						Name  string  `json:"name"`
						Value *string `json:"value"`
					} `json:"env"`
				} `json:"containers"`
			} `json:"spec"`
		} `json:"template"`
	} `json:"spec"`
}

const patchHint = `use kubectl set env, or a strategic patch of the form ` +
	`{"spec":{"template":{"spec":{"containers":[{"name":"kafka","env":[{"name":"KAFKA_NUM_IO_THREADS","value":"4"}]}]}}}}`

func decidePatch(c *cmdline, p *Policy) (Decision, error) {
	rest, err := checkBroker(c.pos, p)
	if err != nil {
		return Decision{}, err
	}
	if len(rest) > 0 {
		return Decision{}, fmt.Errorf("unexpected arguments %q", rest)
	}
	if t, ok := c.get("type"); ok && t != "strategic" {
		return Decision{}, fmt.Errorf("patch --type=%s is not allowed: %s", t, patchHint)
	}
	raw, ok := c.get("patch")
	if !ok {
		return Decision{}, fmt.Errorf("patch needs -p: %s", patchHint)
	}
	canon, changes, err := checkEnvPatch(raw, p)
	if err != nil {
		return Decision{}, err
	}
	var flags []flagUse
	for _, f := range c.flags {
		if f.name != "patch" && f.name != "type" {
			flags = append(flags, f)
		}
	}
	c.flags = append(flags,
		flagUse{name: "type", value: "strategic", hasValue: true},
		flagUse{name: "patch", value: canon, hasValue: true})
	c.pos = []string{"statefulset/" + p.StatefulSet}
	return Decision{Args: c.rebuild(), Mutation: !c.dryRun(), Changes: changes}, nil
}

// checkEnvPatch decodes raw strictly as an envPatch, checks every value
// and returns the patch re-encoded: the real kubectl gets exactly what was
// checked, not the original text.
func checkEnvPatch(raw string, p *Policy) (string, map[string]string, error) {
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.DisallowUnknownFields()
	var ep envPatch
	if err := dec.Decode(&ep); err != nil {
		return "", nil, fmt.Errorf("patch is not an env-only JSON patch (%v): %s", err, patchHint)
	}
	if dec.More() {
		return "", nil, errors.New("patch has trailing data")
	}
	cs := ep.Spec.Template.Spec.Containers
	if len(cs) != 1 || cs[0].Name != p.Container {
		return "", nil, fmt.Errorf("patch must name exactly container %s: %s", p.Container, patchHint)
	}
	var pairs []string
	for _, e := range cs[0].Env {
		if e.Value == nil {
			return "", nil, fmt.Errorf("env %s needs a literal value", e.Name)
		}
		pairs = append(pairs, e.Name+"="+*e.Value)
	}
	if len(pairs) == 0 {
		return "", nil, fmt.Errorf("patch changes nothing: %s", patchHint)
	}
	changes := map[string]string{}
	if err := collectPairs(pairs, p, changes); err != nil {
		return "", nil, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(ep); err != nil {
		return "", nil, fmt.Errorf("encode patch: %w", err)
	}
	return strings.TrimSpace(buf.String()), changes, nil
}
