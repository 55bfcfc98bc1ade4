// Package vibectl drives the LLM command-line tool vibectl (0.11.6) in a
// bounded loop to tune the Kafka broker, behind guardrails that do not
// depend on the LLM behaving: a least-privilege kubeconfig, a kubectl shim
// first on vibectl's PATH that judges every command, a guard that reverts
// out-of-bounds knob values on the StatefulSet after every step, a step
// budget, a per-step timeout, a circuit breaker and a kill switch.
//
// The same package holds the shim (ShimMain): the agent binary runs it when
// it is invoked under the name kubectl.
package vibectl

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/kafkatune/kafkatune/internal/envflag"
	"github.com/kafkatune/kafkatune/internal/knobs"
	"github.com/kafkatune/kafkatune/internal/kube"
	"github.com/kafkatune/kafkatune/internal/status"
)

// Config configures `agent vibectl`.
type Config struct {
	// Vibectl is the vibectl executable (a path, or a name on PATH).
	Vibectl string
	// Model is vibectl's llm.model.
	Model string
	// APIKey is the provider's API key, from the environment only.
	APIKey Secret
	// APIKeyFile is a file holding the key, handed to vibectl by name.
	APIKeyFile string
	// VibectlKubeconfig is the least-privilege kubeconfig vibectl and the
	// shim use (namespace kafka only).
	VibectlKubeconfig string
	// Kubeconfig is the agent's own kubeconfig, used by the guard (""
	// and not InCluster: VibectlKubeconfig).
	Kubeconfig string
	// InCluster makes the guard use the pod's service account.
	InCluster bool
	// Kubectl is the real kubectl the shim runs (a path or a name on PATH).
	Kubectl string
	// Shim is the executable installed as kubectl on vibectl's PATH; ""
	// means the running binary, which must then dispatch on its name.
	Shim string
	// WorkDir is the parent of the per-run vibectl config directory (""
	// means the system's temporary directory).
	WorkDir string
	// StatusDir is the shared status directory: metrics.json is read from
	// it, vibectl_agent.log and the kill switch live in it.
	StatusDir string
	// Namespace, StatefulSet, Container and ConfigMap name the broker and
	// the measurement ConfigMap.
	Namespace   string
	StatefulSet string
	Container   string
	ConfigMap   string
	// TargetLatencyMs is the P99 target.
	TargetLatencyMs float64
	// Limits are the sandbox limits the knob bounds derive from.
	Limits knobs.Limits
	// Interval is the pause between steps.
	Interval time.Duration
	// StepTimeout bounds one vibectl step; KillGrace is the time between
	// SIGTERM and SIGKILL.
	StepTimeout time.Duration
	KillGrace   time.Duration
	// MaxSteps is the step budget (0 = no limit).
	MaxSteps int
	// MaxConsecutiveFailures opens the circuit breaker.
	MaxConsecutiveFailures int
	// MinChangeInterval is the least time between two changes.
	MinChangeInterval time.Duration
	// MemoryMaxChars is vibectl's memory.max_chars.
	MemoryMaxChars int
	// InstructionsTemplate is a template file replacing the embedded one.
	InstructionsTemplate string
	// PassEnv are variables of the agent's environment handed to vibectl
	// (besides the ones the agent sets itself).
	PassEnv []string
	// Fallback is what `agent vibectl` runs when the model's API key is
	// missing: FallbackNone (exit 1) or FallbackTune (the built-in
	// optimizer, with the settings both commands share).
	Fallback string
	// SetupTimeout bounds each vibectl configuration command.
	SetupTimeout time.Duration
	// CallTimeout bounds each Kubernetes API call of the guard.
	CallTimeout time.Duration
}

// Defaults.
const (
	DefaultModel           = "claude-3.7-sonnet"
	DefaultNamespace       = status.ConfigMapNamespace
	DefaultStatefulSet     = "kafka-controller"
	DefaultContainer       = "kafka"
	DefaultTargetLatencyMs = 20
	DefaultMemoryMaxChars  = 1500
)

// DefaultPassEnv lets proxies and CA bundles through to vibectl, so that it
// can reach the LLM API where a proxy is required.
var DefaultPassEnv = []string{
	"HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY", "https_proxy", "http_proxy", "no_proxy",
	"SSL_CERT_FILE", "SSL_CERT_DIR", "TZ",
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		Vibectl:                "vibectl",
		Model:                  DefaultModel,
		Kubectl:                "kubectl",
		StatusDir:              status.DefaultDir,
		Namespace:              DefaultNamespace,
		StatefulSet:            DefaultStatefulSet,
		Container:              DefaultContainer,
		ConfigMap:              status.ConfigMapName,
		TargetLatencyMs:        DefaultTargetLatencyMs,
		Limits:                 knobs.DefaultLimits(),
		Interval:               60 * time.Second,
		StepTimeout:            5 * time.Minute,
		KillGrace:              10 * time.Second,
		MaxSteps:               100,
		MaxConsecutiveFailures: 5,
		MinChangeInterval:      5 * time.Minute,
		MemoryMaxChars:         DefaultMemoryMaxChars,
		PassEnv:                append([]string(nil), DefaultPassEnv...),
		Fallback:               FallbackNone,
		SetupTimeout:           time.Minute,
		CallTimeout:            10 * time.Second,
	}
}

// Values of Config.Fallback.
const (
	FallbackNone = "none"
	FallbackTune = "tune"
)

// ErrNoAPIKey is returned by Validate when the model needs a key and none
// was given. The caller falls back to the built-in tuner when
// Config.Fallback says so.
var ErrNoAPIKey = errors.New("no API key")

// Provider returns the LLM provider vibectl infers from the model name
// ("anthropic", "openai", "ollama", or "" when unknown).
func Provider(model string) string {
	switch {
	case strings.HasPrefix(model, "gpt-"):
		return "openai"
	case strings.HasPrefix(model, "anthropic/") || strings.Contains(model, "claude-"):
		return "anthropic"
	case strings.Contains(model, "ollama") && strings.Contains(model, ":"):
		return "ollama"
	default:
		return ""
	}
}

// KeyEnv returns the variable vibectl reads the key of provider from
// (VIBECTL_ANTHROPIC_API_KEY), or "" for providers without keys.
func KeyEnv(provider string) string {
	switch provider {
	case "anthropic", "openai":
		return "VIBECTL_" + strings.ToUpper(provider) + "_API_KEY"
	default:
		return ""
	}
}

// Validate reports the first bad value, naming the flag.
func (c *Config) Validate() error {
	checks := []struct {
		bad  bool
		flag string
		want string
	}{
		{c.Fallback != FallbackNone && c.Fallback != FallbackTune, flagFallback + " (env AGENT_FALLBACK) " +
			strconv.Quote(c.Fallback), FallbackNone + " or " + FallbackTune},
		{c.Vibectl == "", flagVibectl, "a vibectl executable"},
		{c.Model == "" || strings.ContainsAny(c.Model, " \n"), flagModel, "a model name"},
		{c.VibectlKubeconfig == "", flagVibectlKubeconfig, "the least-privilege kubeconfig of vibectl"},
		{c.InCluster && c.Kubeconfig != "", flagInCluster, "either -kubeconfig or -in-cluster"},
		{c.Kubectl == "", flagKubectl, "the real kubectl"},
		{c.StatusDir == "", flagStatusDir, "a directory"},
		{c.Namespace == "" || c.StatefulSet == "" || c.Container == "", flagNamespace,
			"namespace, statefulset and container names"},
		{c.ConfigMap == "", flagConfigMap, "the measurement ConfigMap"},
		{!(c.TargetLatencyMs > 0) || math.IsInf(c.TargetLatencyMs, 0), flagTarget, "a positive number of ms"},
		{c.Interval < 0, flagInterval, "a duration >= 0"},
		{c.StepTimeout < time.Second, flagStepTimeout, "a duration >= 1s"},
		{c.KillGrace <= 0, flagKillGrace, "a duration > 0"},
		{c.MaxSteps < 0, flagMaxSteps, "a count >= 0 (0 = no limit)"},
		{c.MaxConsecutiveFailures < 1, flagMaxFailures, "a count >= 1"},
		{c.MinChangeInterval < 0, flagMinChange, "a duration >= 0"},
		{c.MemoryMaxChars < 200, flagMemoryChars, "a count >= 200"},
		{c.SetupTimeout <= 0 || c.CallTimeout <= 0, flagStepTimeout, "positive timeouts"},
	}
	for _, ch := range checks {
		if ch.bad {
			return fmt.Errorf("invalid -%s: want %s", ch.flag, ch.want)
		}
	}
	if err := c.Limits.Validate(); err != nil {
		return fmt.Errorf("invalid -%s/-%s: %w", flagCPULimit, flagMemLimit, err)
	}
	env := KeyEnv(Provider(c.Model))
	if env != "" && c.APIKey == "" && c.APIKeyFile == "" {
		return fmt.Errorf("%w: model %s needs %s (or -%s)", ErrNoAPIKey, c.Model, env, flagAPIKeyFile)
	}
	return nil
}

// Flag names.
const (
	flagVibectl           = "vibectl"
	flagModel             = "model"
	flagAPIKeyFile        = "api-key-file"
	flagVibectlKubeconfig = "vibectl-kubeconfig"
	flagKubeconfig        = "kubeconfig"
	flagInCluster         = "in-cluster"
	flagKubectl           = "kubectl"
	flagShim              = "kubectl-shim"
	flagWorkDir           = "work-dir"
	flagStatusDir         = "status-dir"
	flagNamespace         = "namespace"
	flagStatefulSet       = "statefulset"
	flagContainer         = "container"
	flagConfigMap         = "configmap"
	flagTarget            = "target-latency-ms"
	flagCPULimit          = "cpu-limit"
	flagMemLimit          = "memory-limit-mb"
	flagInterval          = "interval"
	flagStepTimeout       = "step-timeout"
	flagKillGrace         = "kill-grace"
	flagMaxSteps          = "max-steps"
	flagMaxFailures       = "max-consecutive-failures"
	flagMinChange         = "min-change-interval"
	flagMemoryChars       = "memory-max-chars"
	flagTemplate          = "instructions-template"
	flagPassEnv           = "pass-env"
	flagFallback          = "fallback"
)

// RegisterFlags defines the flags of `agent vibectl` on the FlagSet of s,
// with c's values as defaults, and binds each to its environment variable.
// After s.Parse, c holds the result; call LoadAPIKey and Validate next.
func (c *Config) RegisterFlags(s *envflag.Set) {
	fs := s.FlagSet()
	str := func(p *string, name, env, usage string) {
		fs.StringVar(p, name, *p, usage)
		s.Bind(name, env)
	}
	dur := func(p *time.Duration, name, env, usage string) {
		fs.DurationVar(p, name, *p, usage)
		s.Bind(name, env)
	}
	num := func(p *int, name, env, usage string) {
		fs.IntVar(p, name, *p, usage)
		s.Bind(name, env)
	}
	str(&c.Vibectl, flagVibectl, "VIBECTL_BIN", "vibectl `executable`")
	str(&c.Model, flagModel, "VIBECTL_MODEL", "LLM `model` (vibectl llm.model)")
	str(&c.APIKeyFile, flagAPIKeyFile, "VIBECTL_API_KEY_FILE",
		"`file` holding the provider API key (instead of VIBECTL_<PROVIDER>_API_KEY)")
	str(&c.VibectlKubeconfig, flagVibectlKubeconfig, "VIBECTL_KUBECONFIG",
		"least-privilege kubeconfig `file` for vibectl (namespace kafka only)")
	str(&c.Kubeconfig, flagKubeconfig, "KUBECONFIG",
		"the agent's kubeconfig `file`, used by the guard (default: -vibectl-kubeconfig)")
	fs.BoolVar(&c.InCluster, flagInCluster, c.InCluster,
		"the guard uses the pod's service account")
	s.Bind(flagInCluster, "KUBE_IN_CLUSTER")
	str(&c.Kubectl, flagKubectl, "KUBECTL_BIN", "the real kubectl `executable` the shim runs")
	str(&c.Shim, flagShim, "KUBECTL_SHIM",
		"kubectl shim `executable` (default: this binary, run as kubectl)")
	str(&c.WorkDir, flagWorkDir, "VIBECTL_WORK_DIR",
		"parent `dir` of the per-run vibectl config directory (default: temp dir)")
	str(&c.StatusDir, flagStatusDir, status.EnvDir, "status `dir`ectory")
	str(&c.Namespace, flagNamespace, "KAFKA_NAMESPACE", "`namespace` of the broker")
	str(&c.StatefulSet, flagStatefulSet, "KAFKA_STATEFULSET", "`name` of the broker's StatefulSet")
	str(&c.Container, flagContainer, "KAFKA_CONTAINER", "`name` of the broker container")
	str(&c.ConfigMap, flagConfigMap, "METRICS_CONFIGMAP", "`name` of the measurement ConfigMap")
	fs.Float64Var(&c.TargetLatencyMs, flagTarget, c.TargetLatencyMs, "P99 target in `ms`")
	s.Bind(flagTarget, "TARGET_LATENCY_MS")
	fs.Float64Var(&c.Limits.CPUs, flagCPULimit, c.Limits.CPUs, "sandbox CPU limit in `cores`")
	s.Bind(flagCPULimit, "K8S_SANDBOX_CPU_LIMIT")
	num(&c.Limits.MemoryMB, flagMemLimit, "K8S_SANDBOX_MEM_LIMIT_MB", "sandbox memory limit in `MiB`")
	dur(&c.Interval, flagInterval, "VIBECTL_INTERVAL", "pause between steps")
	dur(&c.StepTimeout, flagStepTimeout, "VIBECTL_STEP_TIMEOUT", "hard limit of one step")
	dur(&c.KillGrace, flagKillGrace, "VIBECTL_KILL_GRACE", "time between SIGTERM and SIGKILL")
	num(&c.MaxSteps, flagMaxSteps, "VIBECTL_MAX_STEPS", "step budget, 0 = no limit")
	num(&c.MaxConsecutiveFailures, flagMaxFailures, "VIBECTL_MAX_CONSECUTIVE_FAILURES",
		"consecutive failed steps that stop the loop")
	dur(&c.MinChangeInterval, flagMinChange, "VIBECTL_MIN_CHANGE_INTERVAL", "least time between two changes")
	num(&c.MemoryMaxChars, flagMemoryChars, "VIBECTL_MEMORY_MAX_CHARS", "vibectl memory size in characters")
	str(&c.InstructionsTemplate, flagTemplate, "VIBECTL_INSTRUCTIONS_TEMPLATE",
		"template `file` replacing the embedded instructions")
	str(&c.Fallback, flagFallback, "AGENT_FALLBACK",
		"`mode` when the model's API key is missing: none (exit 1) or tune (run the built-in optimizer)")
	fs.Var((*listValue)(&c.PassEnv), flagPassEnv, "comma-separated `names` of variables passed to vibectl")
	s.Bind(flagPassEnv, "VIBECTL_PASS_ENV")
}

// listValue is a comma-separated flag value.
type listValue []string

func (l *listValue) String() string { return strings.Join(*l, ",") }

func (l *listValue) Set(v string) error {
	*l = nil
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

// LoadAPIKey takes the key of the model's provider from
// VIBECTL_<PROVIDER>_API_KEY, or its file from ..._API_KEY_FILE when no
// -api-key-file was given. The key never goes through a flag.
func (c *Config) LoadAPIKey(lookup func(string) (string, bool)) {
	env := KeyEnv(Provider(c.Model))
	if env == "" {
		return
	}
	if v, ok := lookup(env); ok && strings.TrimSpace(v) != "" {
		c.APIKey = Secret(strings.TrimSpace(v))
	}
	if c.APIKeyFile == "" {
		if v, ok := lookup(env + "_FILE"); ok {
			c.APIKeyFile = v
		}
	}
}

// ParseConfig parses the flags of `agent vibectl` from args, falling back
// to the environment through lookup, loads the API key and validates. Bad
// input is an error naming the flag or variable; a missing key wraps
// ErrNoAPIKey. -help prints the usage to out and returns flag.ErrHelp.
func ParseConfig(args []string, lookup func(string) (string, bool), out io.Writer) (Config, error) {
	fs := flag.NewFlagSet("agent vibectl", flag.ContinueOnError)
	fs.SetOutput(out)
	s := envflag.New(fs)
	c := DefaultConfig()
	c.RegisterFlags(s)
	if err := s.Parse(args, lookup); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q: agent vibectl takes only flags", fs.Arg(0))
	}
	c.LoadAPIKey(lookup)
	return c, c.Validate()
}

// guardSource returns where the guard's credentials come from.
func (c *Config) guardSource() kube.Source {
	switch {
	case c.InCluster:
		return kube.Source{InCluster: true}
	case c.Kubeconfig != "":
		return kube.Source{Kubeconfig: c.Kubeconfig}
	default:
		return kube.Source{Kubeconfig: c.VibectlKubeconfig}
	}
}

// shimPath returns the shim executable.
func (c *Config) shimPath() (string, error) {
	if c.Shim != "" {
		return c.Shim, nil
	}
	p, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("find own executable for the kubectl shim: %w", err)
	}
	return p, nil
}

func itoa(n int) string { return strconv.Itoa(n) }
