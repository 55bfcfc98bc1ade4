package deploycheck

import (
	"context"
	"maps"
	"net"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// The services of the Compose stack and the address each one listens on
// inside the stack's network.
var wantServices = []string{
	"k8s-sandbox", "producer", "consumer", "exporter", "prometheus", "alertmanager", "grafana",
}

// requiredSettings stand for what a user writes into .env or exports in the
// shell before `make up`: the two settings .env.example leaves empty.
var requiredSettings = map[string]string{
	"GRAFANA_ADMIN_PASSWORD": "test-grafana-password",
	"AGENT_WEBHOOK_TOKEN":    "test-webhook-token",
}

// webhookSecret is the Compose secret that carries AGENT_WEBHOOK_TOKEN.
const webhookSecret = "agent_webhook_token"

// composeOptions selects how loadCompose reads the project.
type composeOptions struct {
	// shell is the user's shell environment: it wins over the env file, as
	// with docker compose.
	shell map[string]string
	// envFile is read after shell ("" reads none).
	envFile string
	// raw keeps each service's environment as the file writes it: a
	// pass-through variable stays without a value.
	raw bool
}

// loadCompose loads compose.yml with compose-go, the loader of the
// docker compose CLI. The test process's own environment never reaches
// the project: only opts.shell and the env file do.
func loadCompose(t *testing.T, opts composeOptions) (*types.Project, error) {
	t.Helper()
	root := repoRoot(t)
	var shell []string
	for k, v := range opts.shell {
		shell = append(shell, k+"="+v)
	}
	fns := []cli.ProjectOptionsFn{cli.WithWorkingDirectory(root), cli.WithEnv(shell)}
	if opts.envFile != "" {
		fns = append(fns, cli.WithEnvFiles(filepath.Join(root, opts.envFile)), cli.WithDotEnv)
	}
	if opts.raw {
		// Normalization is what fills a pass-through variable from the
		// environment; resolution would do it again.
		fns = append(fns, cli.WithNormalization(false), cli.WithoutEnvironmentResolution)
	}
	o, err := cli.NewProjectOptions([]string{filepath.Join(root, composeFile)}, fns...)
	if err != nil {
		t.Fatalf("compose options: %v", err)
	}
	return o.LoadProject(context.Background())
}

// project loads compose.yml the way `make up` sees it with .env copied
// from .env.example and the required settings filled in.
func project(t *testing.T) *types.Project {
	t.Helper()
	p, err := loadCompose(t, composeOptions{shell: requiredSettings, envFile: envExample})
	if err != nil {
		t.Fatalf("load %s with %s and the required settings: %v", composeFile, envExample, err)
	}
	return p
}

// service returns the service name of p, failing when it is missing.
func service(t *testing.T, p *types.Project, name string) types.ServiceConfig {
	t.Helper()
	s, ok := p.Services[name]
	if !ok {
		t.Fatalf("%s has no service %q", composeFile, name)
	}
	return s
}

// envValue returns the value of variable name in s's environment and
// whether it has one (a pass-through variable has none).
func envValue(s types.ServiceConfig, name string) (string, bool) {
	v, ok := s.Environment[name]
	if !ok || v == nil {
		return "", false
	}
	return *v, true
}

func TestComposeServices(t *testing.T) {
	p := project(t)
	got := slices.Sorted(maps.Keys(p.Services))
	want := slices.Sorted(slices.Values(wantServices))
	if !slices.Equal(got, want) {
		t.Fatalf("services %q, want %q", got, want)
	}
}

func TestComposeRequiredSettings(t *testing.T) {
	for name := range requiredSettings {
		t.Run(name, func(t *testing.T) {
			for _, missing := range []struct {
				how   string
				shell map[string]string
			}{
				{"unset", without(requiredSettings, name)},
				{"empty", with(requiredSettings, name, "")},
			} {
				// .env.example leaves both settings empty, so a .env
				// copied from it does not help.
				_, err := loadCompose(t, composeOptions{shell: missing.shell, envFile: envExample})
				if err == nil {
					t.Fatalf("%s %s: compose.yml loads; want an error naming it", name, missing.how)
				}
				if !strings.Contains(err.Error(), "required variable "+name) ||
					!strings.Contains(err.Error(), "set "+name+" in .env") {
					t.Errorf("%s %s: error %q does not name it and say where to set it", name, missing.how, err)
				}
			}
		})
	}
	if _, err := loadCompose(t, composeOptions{shell: requiredSettings}); err != nil {
		t.Errorf("the required settings alone (no .env) must be enough: %v", err)
	}
}

func without(m map[string]string, key string) map[string]string {
	out := maps.Clone(m)
	delete(out, key)
	return out
}

func with(m map[string]string, key, value string) map[string]string {
	out := maps.Clone(m)
	out[key] = value
	return out
}

func TestComposePublishedPorts(t *testing.T) {
	p := project(t)
	want := map[string]uint32{"grafana": 3000, "prometheus": 9090, "alertmanager": 9093}
	for name, s := range p.Services {
		port, publishes := want[name]
		if !publishes {
			if len(s.Ports) != 0 {
				t.Errorf("%s publishes %v; only Grafana, Prometheus and Alertmanager publish ports", name, s.Ports)
			}
			continue
		}
		if len(s.Ports) != 1 {
			t.Errorf("%s publishes %d ports, want 1", name, len(s.Ports))
			continue
		}
		pc := s.Ports[0]
		if pc.HostIP != "127.0.0.1" || pc.Published != strconv.Itoa(int(port)) ||
			pc.Target != port || pc.Protocol != "tcp" {
			t.Errorf("%s publishes %s:%s->%d/%s, want 127.0.0.1:%d->%d/tcp",
				name, pc.HostIP, pc.Published, pc.Target, pc.Protocol, port, port)
		}
	}
}

// versionTag is an image tag that names a release: v3.9.1, 12.3.1, 0.28.
var versionTag = regexp.MustCompile(`^v?[0-9]+(\.[0-9]+)+([.-][0-9A-Za-z.-]+)?$`)

func TestComposeImagesArePinned(t *testing.T) {
	p := project(t)
	root := repoRoot(t)
	for name, s := range p.Services {
		if s.Build != nil {
			// Built here from the repository: a local tag, never pulled.
			if !strings.HasPrefix(s.Image, "kafkatune/") || !strings.HasSuffix(s.Image, ":local") {
				t.Errorf("%s builds image %q, want kafkatune/<name>:local", name, s.Image)
			}
			if s.PullPolicy != types.PullPolicyBuild {
				t.Errorf("%s pull_policy %q, want build: a local image must not be pulled", name, s.PullPolicy)
			}
			if s.Build.Context != root {
				t.Errorf("%s builds from %q, want the repository root", name, s.Build.Context)
			}
			if !fileExists(filepath.Join(root, s.Build.Dockerfile)) {
				t.Errorf("%s: Dockerfile %s does not exist", name, s.Build.Dockerfile)
			}
			continue
		}
		ref, digest, _ := strings.Cut(s.Image, "@")
		repo, tag, ok := strings.Cut(ref[strings.LastIndex(ref, "/")+1:], ":")
		switch {
		case s.Image == "":
			t.Errorf("%s has neither build nor image", name)
		case !ok && digest == "":
			t.Errorf("%s image %q has no tag: it would pull latest", name, s.Image)
		case ok && !versionTag.MatchString(tag):
			t.Errorf("%s image %q: tag %q is not a version", name, s.Image, tag)
		case repo == "":
			t.Errorf("%s image %q has no name", name, s.Image)
		}
	}
}

func TestComposeImagePinCheck(t *testing.T) {
	for tag, ok := range map[string]bool{
		"v3.9.1": true, "12.3.1": true, "0.28": true, "v1.32.5-k3s1": true,
		"latest": false, "main": false, "v3": false, "": false, "stable-alpine": false,
	} {
		if got := versionTag.MatchString(tag); got != ok {
			t.Errorf("versionTag(%q) = %v, want %v", tag, got, ok)
		}
	}
}

func TestComposeHealthChecks(t *testing.T) {
	p := project(t)
	for name, s := range p.Services {
		hc := s.HealthCheck
		if hc == nil || hc.Disable || len(hc.Test) < 2 || hc.Test[0] == "NONE" {
			t.Errorf("%s has no health check", name)
			continue
		}
		if hc.Interval == nil || hc.Timeout == nil || hc.Retries == nil || hc.StartPeriod == nil {
			t.Errorf("%s health check: interval, timeout, retries and start_period must all be set", name)
		}
		// An HTTP check must ask the port the service listens on.
		port, listens := listenPort(t, s)
		cmd := strings.Join(hc.Test[1:], " ")
		for _, u := range regexp.MustCompile(`https?://[^ "']+`).FindAllString(cmd, -1) {
			pu, err := url.Parse(u)
			if err != nil || pu.Hostname() != "127.0.0.1" || !listens || pu.Port() != strconv.Itoa(port) {
				t.Errorf("%s health check asks %s; the service listens on 127.0.0.1:%d", name, u, port)
			}
		}
	}
}

// TestSandboxReadiness ties the sandbox's health check to the entry
// script: the script touches the ready file once Kafka is up and the
// kubeconfigs are written, and the health check looks for that file.
func TestSandboxReadiness(t *testing.T) {
	s := service(t, project(t), "k8s-sandbox")
	if want := []string{"CMD", "test", "-f", readyFile}; !slices.Equal(s.HealthCheck.Test, want) {
		t.Errorf("k8s-sandbox health check %q, want %q", s.HealthCheck.Test, want)
	}
	if dir, _ := envValue(s, "STATUS_DIR"); dir != path.Dir(readyFile) {
		t.Errorf("k8s-sandbox STATUS_DIR %q, want %q", dir, path.Dir(readyFile))
	}
	script := readRepoFile(t, entryScript)
	for _, line := range []string{
		`readonly READY_FILE="${STATUS_DIR}/` + path.Base(readyFile) + `"`,
		`touch "$READY_FILE"`,
		`rm -f "$READY_FILE"`,
	} {
		if !strings.Contains(script, line) {
			t.Errorf("%s lacks %s", entryScript, line)
		}
	}
}

func TestComposeDependsOn(t *testing.T) {
	healthy := types.ServiceConditionHealthy
	want := map[string]map[string]string{
		"k8s-sandbox":  {},
		"producer":     {"k8s-sandbox": healthy},
		"consumer":     {"k8s-sandbox": healthy},
		"exporter":     {"k8s-sandbox": healthy, "prometheus": healthy},
		"prometheus":   {"alertmanager": healthy},
		"alertmanager": {},
		"grafana":      {"prometheus": healthy},
	}
	p := project(t)
	for name, s := range p.Services {
		got := map[string]string{}
		for dep, d := range s.DependsOn {
			got[dep] = d.Condition
			if !d.Required {
				t.Errorf("%s: dependency on %s is not required", name, dep)
			}
		}
		if !maps.Equal(got, want[name]) {
			t.Errorf("%s depends_on %v, want %v", name, got, want[name])
		}
	}
}

func TestComposeSandboxPrivileges(t *testing.T) {
	p := project(t)
	for name, s := range p.Services {
		if s.Privileged != (name == "k8s-sandbox") {
			t.Errorf("%s privileged=%v: only k8s-sandbox runs k3d and needs it", name, s.Privileged)
		}
		socket := slices.ContainsFunc(s.Volumes, func(v types.ServiceVolumeConfig) bool {
			return v.Type == types.VolumeTypeBind && v.Source == "/var/run/docker.sock"
		})
		if socket != (name == "k8s-sandbox") {
			t.Errorf("%s mounts the Docker socket=%v: only k8s-sandbox may", name, socket)
		}
	}
	s := service(t, p, "k8s-sandbox")
	if v, ok := mountAt(s, "/var/run/docker.sock"); !ok || v.Source != "/var/run/docker.sock" {
		t.Error("k8s-sandbox must mount /var/run/docker.sock at the same path (k3d talks to it)")
	}
}

func TestComposeSandboxLimits(t *testing.T) {
	const gib = 1 << 30
	tests := []struct {
		name     string
		shell    map[string]string
		envFile  string
		cpus     float32
		memBytes int64
		cpuEnv   string
		memEnv   string
	}{
		{"defaults", requiredSettings, "", 4, 4 * gib, "4", "4G"},
		{".env.example", requiredSettings, envExample, 4, 4 * gib, "4", "4G"},
		{"set in the shell", with(with(requiredSettings, "K8S_SANDBOX_CPU_LIMIT", "2.5"),
			"K8S_SANDBOX_MEM_LIMIT", "3G"), envExample, 2.5, 3 * gib, "2.5", "3G"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := loadCompose(t, composeOptions{shell: tt.shell, envFile: tt.envFile})
			if err != nil {
				t.Fatal(err)
			}
			s := service(t, p, "k8s-sandbox")
			if s.CPUS != tt.cpus || int64(s.MemLimit) != tt.memBytes {
				t.Errorf("cpus %v mem_limit %d, want %v and %d", s.CPUS, s.MemLimit, tt.cpus, tt.memBytes)
			}
			// The entry script caps the k3d node with the same values.
			cpu, _ := envValue(s, "K8S_SANDBOX_CPU_LIMIT")
			mem, _ := envValue(s, "K8S_SANDBOX_MEM_LIMIT")
			if cpu != tt.cpuEnv || mem != tt.memEnv {
				t.Errorf("environment K8S_SANDBOX_CPU_LIMIT=%q K8S_SANDBOX_MEM_LIMIT=%q, want %q and %q",
					cpu, mem, tt.cpuEnv, tt.memEnv)
			}
		})
	}
	script := readRepoFile(t, entryScript)
	for _, line := range []string{
		`readonly CPU_LIMIT="${K8S_SANDBOX_CPU_LIMIT:-4}"`,
		`readonly MEM_LIMIT="${K8S_SANDBOX_MEM_LIMIT:-4G}"`,
	} {
		if !strings.Contains(script, line) {
			t.Errorf("%s lacks %s: its defaults must be compose's", entryScript, line)
		}
	}
}

func TestComposeWebhookSecret(t *testing.T) {
	p := project(t)
	sec, ok := p.Secrets[webhookSecret]
	if !ok {
		t.Fatalf("no secret %s", webhookSecret)
	}
	if sec.Environment != "AGENT_WEBHOOK_TOKEN" || sec.File != "" || sec.External {
		t.Errorf("secret %s: environment %q file %q external %v; want it from AGENT_WEBHOOK_TOKEN only",
			webhookSecret, sec.Environment, sec.File, sec.External)
	}
	if sec.Content != requiredSettings["AGENT_WEBHOOK_TOKEN"] {
		t.Errorf("secret %s holds %q, want the value of AGENT_WEBHOOK_TOKEN", webhookSecret, sec.Content)
	}
	target := "/run/secrets/" + webhookSecret
	for name, s := range p.Services {
		var got []string
		for _, ss := range s.Secrets {
			got = append(got, ss.Source+"->"+ss.Target)
		}
		var want []string
		if name == "alertmanager" || name == "k8s-sandbox" {
			want = []string{webhookSecret + "->" + target}
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s secrets %q, want %q", name, got, want)
		}
		if _, inEnv := s.Environment["AGENT_WEBHOOK_TOKEN"]; inEnv {
			t.Errorf("%s gets AGENT_WEBHOOK_TOKEN in its environment; the token goes only through the secret", name)
		}
	}
	sandbox := service(t, p, "k8s-sandbox")
	if f, _ := envValue(sandbox, "AGENT_WEBHOOK_TOKEN_FILE"); f != target {
		t.Errorf("k8s-sandbox AGENT_WEBHOOK_TOKEN_FILE %q, want %q", f, target)
	}
	var am struct {
		Receivers []struct {
			WebhookConfigs []struct {
				HTTPConfig struct {
					Authorization struct {
						CredentialsFile string `json:"credentials_file"`
					} `json:"authorization"`
				} `json:"http_config"`
			} `json:"webhook_configs"`
		} `json:"receivers"`
	}
	unmarshalRepoYAML(t, "prometheus/alertmanager.yml", &am)
	for _, r := range am.Receivers {
		for _, w := range r.WebhookConfigs {
			if f := w.HTTPConfig.Authorization.CredentialsFile; f != target {
				t.Errorf("alertmanager.yml credentials_file %q, want the secret at %s", f, target)
			}
		}
	}
}

// secretName matches environment variables that hold credentials.
var secretName = regexp.MustCompile(`(KEY|TOKEN|PASSWORD|SECRET)$`)

// TestComposeHoldsNoSecret reads the environment as the file writes it:
// a variable that carries a credential is either passed through from the
// user's shell without a value or interpolated from a required setting,
// never written into compose.yml.
func TestComposeHoldsNoSecret(t *testing.T) {
	const apiKey = "sk-ant-test-key"
	shell := with(requiredSettings, "ANTHROPIC_API_KEY", apiKey)
	p, err := loadCompose(t, composeOptions{shell: shell, envFile: envExample, raw: true})
	if err != nil {
		t.Fatal(err)
	}
	secrets := map[string]bool{}
	for _, v := range requiredSettings {
		secrets[v] = true
	}
	for name, s := range p.Services {
		for k, v := range s.Environment {
			if !secretName.MatchString(k) {
				continue
			}
			switch {
			case v == nil:
			case secrets[*v]:
			default:
				t.Errorf("%s: %s=%q is written in compose.yml", name, k, *v)
			}
		}
	}
	sandbox := service(t, p, "k8s-sandbox")
	if v, ok := sandbox.Environment["ANTHROPIC_API_KEY"]; !ok || v != nil {
		t.Errorf("k8s-sandbox ANTHROPIC_API_KEY = %v, want passed through without a value", v)
	}

	// Resolved, the key reaches k8s-sandbox and no other service.
	p, err = loadCompose(t, composeOptions{shell: shell, envFile: envExample})
	if err != nil {
		t.Fatal(err)
	}
	for name, s := range p.Services {
		v, _ := envValue(s, "ANTHROPIC_API_KEY")
		if want := map[bool]string{true: apiKey}[name == "k8s-sandbox"]; v != want {
			t.Errorf("%s ANTHROPIC_API_KEY %q, want %q", name, v, want)
		}
	}
	// .env.example has no API key line: the key only comes from the shell.
	for line := range strings.SplitSeq(readRepoFile(t, envExample), "\n") {
		if name, _, ok := strings.Cut(line, "="); ok && secretName.MatchString(strings.TrimSpace(name)) &&
			!strings.HasPrefix(strings.TrimSpace(line), "#") {
			if _, required := requiredSettings[strings.TrimSpace(name)]; !required {
				t.Errorf("%s sets %s", envExample, name)
			}
			if strings.TrimSpace(line) != strings.TrimSpace(name)+"=" {
				t.Errorf("%s gives %s a value", envExample, name)
			}
		}
	}
}

// TestComposeStatusVolume checks the status directory: the sandbox
// creates it and writes the ready file and the kubeconfigs, the bridge
// writes latency.txt and metrics.json, the adaptive producer reads
// latency.txt. The consumer needs none of it.
func TestComposeStatusVolume(t *testing.T) {
	p := project(t)
	want := map[string]bool{"k8s-sandbox": false, "exporter": false, "producer": true} // read-only?
	for name, s := range p.Services {
		v, mounted := mountAt(s, statusMount)
		ro, wanted := want[name]
		switch {
		case !wanted && mounted:
			t.Errorf("%s mounts %s but reads nothing from it", name, statusMount)
		case !wanted:
		case !mounted || v.Type != types.VolumeTypeVolume || v.Source != "status":
			t.Errorf("%s must mount the volume status at %s", name, statusMount)
		case v.ReadOnly != ro:
			t.Errorf("%s mounts %s read-only=%v, want %v", name, statusMount, v.ReadOnly, ro)
		}
		if dir, ok := envValue(s, "STATUS_DIR"); ok && (!wanted || dir != statusMount) {
			t.Errorf("%s STATUS_DIR=%q, want it only where the volume is, as %s", name, dir, statusMount)
		}
		if wanted {
			if _, ok := envValue(s, "STATUS_DIR"); !ok {
				t.Errorf("%s has no STATUS_DIR", name)
			}
		}
	}
	if _, ok := p.Volumes["status"]; !ok {
		t.Error("no top-level volume status")
	}
	// The bridge runs as appUID and must be able to write where the
	// sandbox (root) created the directory, and read its kubeconfig there.
	exporter := service(t, p, "exporter")
	if k, _ := envValue(exporter, "KUBECONFIG"); k != exporterKube {
		t.Errorf("exporter KUBECONFIG %q, want %q", k, exporterKube)
	}
	if !strings.HasPrefix(exporterKube, statusMount+"/") {
		t.Errorf("%s is not in the status volume", exporterKube)
	}
	script := readRepoFile(t, entryScript)
	for _, line := range []string{
		`readonly APP_UID="${APP_UID:-` + appUID + `}"`,
		`install -d -m 0755 -o "$APP_UID" -g "$APP_UID" "$STATUS_DIR"`,
		`write_kubeconfig kafkatune-exporter "$SHARED_KUBE/` + path.Base(exporterKube) + `"`,
		`readonly SHARED_KUBE="${STATUS_DIR}/` + path.Base(path.Dir(exporterKube)) + `"`,
	} {
		if !strings.Contains(script, line) {
			t.Errorf("%s lacks %s", entryScript, line)
		}
	}
	for _, df := range []string{"exporter/Dockerfile", "loadgen/Dockerfile"} {
		if !strings.Contains(readRepoFile(t, df), "\nUSER "+appUID+":"+appUID+"\n") {
			t.Errorf("%s must run as USER %s:%s, the owner of the status directory", df, appUID, appUID)
		}
	}
}

// mountAt returns the volume of s mounted at target.
func mountAt(s types.ServiceConfig, target string) (types.ServiceVolumeConfig, bool) {
	for _, v := range s.Volumes {
		if v.Target == target {
			return v, true
		}
	}
	return types.ServiceVolumeConfig{}, false
}

// TestComposeConfigMounts follows each server's configuration file from
// the repository into the container and on to the files it names.
func TestComposeConfigMounts(t *testing.T) {
	p := project(t)
	root := repoRoot(t)
	bind := func(s types.ServiceConfig, src string) string {
		t.Helper()
		for _, v := range s.Volumes {
			if v.Type == types.VolumeTypeBind && v.Source == filepath.Join(root, src) {
				if !v.ReadOnly {
					t.Errorf("%s mounts %s writable, want :ro", s.Name, src)
				}
				return v.Target
			}
		}
		t.Errorf("%s does not mount ./%s", s.Name, src)
		return ""
	}
	flagValue := func(s types.ServiceConfig, flag string) string {
		for _, a := range s.Command {
			if v, ok := strings.CutPrefix(a, flag+"="); ok {
				return v
			}
		}
		return ""
	}

	prom := service(t, p, "prometheus")
	promConfig := bind(prom, "prometheus/prometheus.yml")
	rulesDir := bind(prom, "prometheus/rules")
	if f := flagValue(prom, "--config.file"); f == "" || f != promConfig {
		t.Errorf("prometheus --config.file=%q, want the mounted %q", f, promConfig)
	}
	var pc struct {
		RuleFiles []string `json:"rule_files"`
	}
	unmarshalRepoYAML(t, "prometheus/prometheus.yml", &pc)
	if len(pc.RuleFiles) == 0 {
		t.Error("prometheus.yml loads no rule files")
	}
	for _, rf := range pc.RuleFiles {
		if got := path.Dir(path.Join(path.Dir(promConfig), rf)); got != rulesDir {
			t.Errorf("rule_files %q resolves to %s, not the mounted rules at %s", rf, got, rulesDir)
		}
		matches, _ := filepath.Glob(filepath.Join(root, "prometheus", filepath.FromSlash(rf)))
		if len(matches) == 0 {
			t.Errorf("rule_files %q matches no file in prometheus/", rf)
		}
	}

	am := service(t, p, "alertmanager")
	if f, m := flagValue(am, "--config.file"), bind(am, "prometheus/alertmanager.yml"); f == "" || f != m {
		t.Errorf("alertmanager --config.file=%q, want the mounted %q", f, m)
	}

	grafana := service(t, p, "grafana")
	if m := bind(grafana, "grafana/provisioning"); m != "/etc/grafana/provisioning" {
		t.Errorf("grafana provisioning mounted at %q, want /etc/grafana/provisioning", m)
	}
	var dp struct {
		Providers []struct {
			Options struct {
				Path string `json:"path"`
			} `json:"options"`
		} `json:"providers"`
	}
	unmarshalRepoYAML(t, "grafana/provisioning/dashboards/kafkatune.yml", &dp)
	dashboards := bind(grafana, "grafana/dashboards")
	if len(dp.Providers) != 1 || dp.Providers[0].Options.Path != dashboards {
		t.Errorf("dashboard provider paths %+v, want the mounted %s", dp.Providers, dashboards)
	}
}

// TestComposeAddresses checks every address a configuration in the stack
// names: the host must be a service of compose.yml (or one of its network
// aliases, or the k3d node) and the port one that service listens on.
func TestComposeAddresses(t *testing.T) {
	p := project(t)
	listeners := map[string]map[int]bool{} // host -> ports
	for name, s := range p.Services {
		hosts := []string{name}
		for _, n := range s.Networks {
			if n != nil {
				hosts = append(hosts, n.Aliases...)
			}
		}
		port, ok := listenPort(t, s)
		for _, h := range hosts {
			if listeners[h] == nil {
				listeners[h] = map[int]bool{}
			}
			if ok {
				listeners[h][port] = true
			}
		}
	}
	// The k3d node container joins the network and serves the broker's
	// NodePorts (k8s-sandbox/manifests).
	listeners[k3dNode] = map[int]bool{}
	ext := only[*corev1.Service](t, loadManifests(t), "kafka-external")
	for _, sp := range ext.Spec.Ports {
		listeners[k3dNode][int(sp.NodePort)] = true
	}

	type address struct{ where, hostPort string }
	var addrs []address
	addURL := func(where, raw string) {
		u, err := url.Parse(raw)
		if err != nil || u.Host == "" {
			t.Errorf("%s: %q is not a URL", where, raw)
			return
		}
		addrs = append(addrs, address{where, u.Host})
	}

	var pc struct {
		Alerting struct {
			Alertmanagers []struct {
				StaticConfigs []struct {
					Targets []string `json:"targets"`
				} `json:"static_configs"`
			} `json:"alertmanagers"`
		} `json:"alerting"`
		ScrapeConfigs []struct {
			JobName       string `json:"job_name"`
			StaticConfigs []struct {
				Targets []string `json:"targets"`
			} `json:"static_configs"`
		} `json:"scrape_configs"`
	}
	unmarshalRepoYAML(t, "prometheus/prometheus.yml", &pc)
	for _, a := range pc.Alerting.Alertmanagers {
		for _, sc := range a.StaticConfigs {
			for _, tg := range sc.Targets {
				addrs = append(addrs, address{"prometheus.yml alertmanagers", tg})
			}
		}
	}
	for _, sc := range pc.ScrapeConfigs {
		for _, st := range sc.StaticConfigs {
			for _, tg := range st.Targets {
				addrs = append(addrs, address{"prometheus.yml job " + sc.JobName, tg})
			}
		}
	}

	var am struct {
		Receivers []struct {
			WebhookConfigs []struct {
				URL string `json:"url"`
			} `json:"webhook_configs"`
		} `json:"receivers"`
	}
	unmarshalRepoYAML(t, "prometheus/alertmanager.yml", &am)
	for _, r := range am.Receivers {
		for _, w := range r.WebhookConfigs {
			addURL("alertmanager.yml webhook", w.URL)
		}
	}

	var ds struct {
		Datasources []struct {
			Name string `json:"name"`
			URL  string `json:"url"`
		} `json:"datasources"`
	}
	unmarshalRepoYAML(t, "grafana/provisioning/datasources/datasources.yml", &ds)
	for _, d := range ds.Datasources {
		addURL("grafana datasource "+d.Name, d.URL)
	}

	for name, s := range p.Services {
		for _, k := range []string{"PROMETHEUS_URL"} {
			if v, ok := envValue(s, k); ok {
				addURL(name+" "+k, v)
			}
		}
		if v, ok := envValue(s, "KAFKA_BROKER"); ok {
			for b := range strings.SplitSeq(v, ",") {
				addrs = append(addrs, address{name + " KAFKA_BROKER", b})
			}
		}
	}

	if len(addrs) < 10 {
		t.Fatalf("found only %d addresses; the configuration files changed shape?", len(addrs))
	}
	for _, a := range addrs {
		host, port, err := net.SplitHostPort(a.hostPort)
		if err != nil {
			t.Errorf("%s: %q has no port: %v", a.where, a.hostPort, err)
			continue
		}
		ports, known := listeners[host]
		n, _ := strconv.Atoi(port)
		switch {
		case !known:
			t.Errorf("%s: host %q is no service, alias or k3d node of the stack", a.where, host)
		case !ports[n]:
			t.Errorf("%s: %s does not listen on %s (it listens on %v)", a.where, host, port,
				slices.Sorted(maps.Keys(ports)))
		}
	}
}

// listenPort returns the port a service serves on inside the network:
// the port of its METRICS_ADDR, or the container port it publishes.
func listenPort(t *testing.T, s types.ServiceConfig) (int, bool) {
	t.Helper()
	if addr, ok := envValue(s, "METRICS_ADDR"); ok {
		_, port, err := net.SplitHostPort(addr)
		n, perr := strconv.Atoi(port)
		if err != nil || perr != nil {
			t.Fatalf("%s METRICS_ADDR %q is not host:port", s.Name, addr)
		}
		return n, true
	}
	if len(s.Ports) == 1 {
		return int(s.Ports[0].Target), true
	}
	return 0, false
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// unmarshalRepoYAML decodes a repository YAML file into v, by its JSON
// field names.
func unmarshalRepoYAML(t *testing.T, rel string, v any) {
	t.Helper()
	if err := yaml.Unmarshal([]byte(readRepoFile(t, rel)), v); err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
}
