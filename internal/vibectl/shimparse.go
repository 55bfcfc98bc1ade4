package vibectl

import (
	"fmt"
	"strings"
)

// flagSpec says whether a kubectl flag takes a value.
type flagSpec struct {
	value bool
}

var (
	valueFlag = flagSpec{value: true}
	boolFlag  = flagSpec{}
)

// flagTable lists the flags one verb accepts, by long name, and the short
// forms that stand for them.
type flagTable struct {
	long  map[string]flagSpec
	short map[string]string
}

// Flags every verb accepts. The shim strips both and sets its own.
const (
	kflagNamespace  = "namespace"
	kflagKubeconfig = "kubeconfig"
)

var globalFlags = flagTable{
	long:  map[string]flagSpec{kflagNamespace: valueFlag, kflagKubeconfig: valueFlag},
	short: map[string]string{"n": kflagNamespace},
}

// deniedFlags explain why a flag that no verb accepts is refused. Flags in
// neither a verb's table nor here are refused as "not allowed".
var deniedFlags = map[string]string{
	"context":                   reasonCredentials,
	"cluster":                   reasonCredentials,
	"user":                      reasonCredentials,
	"token":                     reasonCredentials,
	"server":                    reasonCredentials,
	"s":                         reasonCredentials,
	"username":                  reasonCredentials,
	"password":                  reasonCredentials,
	"client-key":                reasonCredentials,
	"client-certificate":        reasonCredentials,
	"certificate-authority":     reasonCredentials,
	"insecure-skip-tls-verify":  reasonCredentials,
	"tls-server-name":           reasonCredentials,
	"disable-compression":       reasonCredentials,
	"cache-dir":                 reasonCredentials,
	"A":                         reasonNamespace,
	"all-namespaces":            reasonNamespace,
	"all":                       "--all is not allowed: name the one object",
	"force":                     reasonForce,
	"grace-period":              reasonForce,
	"cascade":                   reasonForce,
	"prune":                     reasonForce,
	"f":                         reasonFiles,
	"filename":                  reasonFiles,
	"k":                         reasonFiles,
	"kustomize":                 reasonFiles,
	"R":                         reasonFiles,
	"recursive":                 reasonFiles,
	"patch-file":                reasonFiles,
	"raw":                       "--raw is not allowed: use a resource verb",
	"w":                         reasonStream,
	"watch":                     reasonStream,
	"watch-only":                reasonStream,
	"follow":                    reasonStream,
	"v":                         "verbose API tracing is not allowed",
	"from":                      "set env --from is not allowed: give NAME=VALUE",
	"local":                     "--local is not allowed",
	"subresource":               "--subresource is not allowed",
	"overrides":                 "--overrides is not allowed",
	"stdin":                     "reading from stdin is not allowed",
	"i":                         "reading from stdin is not allowed",
	"t":                         "a terminal is not allowed",
	"tty":                       "a terminal is not allowed",
	"output-watch-events":       reasonStream,
	"show-managed-fields-watch": reasonStream,
}

const (
	reasonCredentials = "credentials and cluster selection are fixed by the agent"
	reasonNamespace   = "only namespace kafka is reachable"
	reasonForce       = "forced or cascading changes are not allowed"
	reasonFiles       = "manifests and patches from files are not allowed; use kubectl set env"
	reasonStream      = "watching or following would never end; read once"
)

// flagUse is one flag as given on the command line.
type flagUse struct {
	name     string // long name
	value    string
	hasValue bool
}

// cmdline is a kubectl command line split into verb, positional arguments
// and flags.
type cmdline struct {
	verb  string
	pos   []string
	flags []flagUse
}

// get returns the value of the last use of the flag name.
func (c *cmdline) get(name string) (string, bool) {
	v, ok := "", false
	for _, f := range c.flags {
		if f.name == name {
			v, ok = f.value, true
		}
	}
	return v, ok
}

// has reports whether the flag name was given.
func (c *cmdline) has(name string) bool {
	_, ok := c.get(name)
	return ok
}

// parseCmdline splits args by the flag tables of the verb, which is the
// first argument that is not a flag. Flags before the verb may only be
// global ones. Any flag that the verb does not list is refused.
func parseCmdline(args []string) (*cmdline, error) {
	c := &cmdline{}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return c, fmt.Errorf("%q is not allowed", a)
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			if c.verb == "" {
				c.verb = a
				if _, ok := verbFlags[a]; !ok {
					return c, verbError(a)
				}
			} else {
				c.pos = append(c.pos, a)
			}
			continue
		}
		use, next, err := parseFlag(args, i, tableFor(c.verb))
		if err != nil {
			return c, err
		}
		c.flags = append(c.flags, use)
		i = next
	}
	if c.verb == "" {
		return c, fmt.Errorf("no kubectl verb given")
	}
	return c, nil
}

// parseFlag reads the flag at args[i] and, if it takes a separate value,
// the next argument. It returns the flag and the index of the last
// argument it used.
func parseFlag(args []string, i int, t flagTable) (flagUse, int, error) {
	a := args[i]
	name, value, hasValue, short := splitFlag(a)
	long := name
	if short {
		l, ok := t.short[name]
		if !ok {
			return flagUse{}, i, deniedFlag(a, name)
		}
		long = l
	}
	spec, ok := t.long[long]
	if !ok {
		return flagUse{}, i, deniedFlag(a, name)
	}
	if !spec.value {
		// A short boolean flag with something glued to it ("-pq") is a
		// cluster of flags; only "-p=true" style values are accepted.
		if short && hasValue && !strings.HasPrefix(a[2:], "=") {
			return flagUse{}, i, fmt.Errorf("combined short flags %q are not allowed", a)
		}
		return flagUse{name: long, value: value, hasValue: hasValue}, i, nil
	}
	if !hasValue {
		if i+1 >= len(args) {
			return flagUse{}, i, fmt.Errorf("flag %s needs a value", a)
		}
		i++
		value = args[i]
	}
	return flagUse{name: long, value: value, hasValue: true}, i, nil
}

// splitFlag splits "--name=value", "--name", "-n", "-nvalue" and
// "-n=value".
func splitFlag(a string) (name, value string, hasValue, short bool) {
	if rest, ok := strings.CutPrefix(a, "--"); ok {
		name, value, hasValue = strings.Cut(rest, "=")
		return name, value, hasValue, false
	}
	rest := a[1:]
	name = rest[:1]
	if len(rest) == 1 {
		return name, "", false, true
	}
	value = strings.TrimPrefix(rest[1:], "=")
	return name, value, true, true
}

func deniedFlag(arg, name string) error {
	if reason, ok := deniedFlags[name]; ok {
		return fmt.Errorf("flag %s: %s", arg, reason)
	}
	if strings.HasPrefix(name, "as") {
		return fmt.Errorf("flag %s: %s", arg, reasonCredentials)
	}
	return fmt.Errorf("flag %s is not allowed here", arg)
}

// tableFor returns the flags verb accepts, the global ones included.
func tableFor(verb string) flagTable {
	t := flagTable{long: map[string]flagSpec{}, short: map[string]string{}}
	for k, v := range globalFlags.long {
		t.long[k] = v
	}
	for k, v := range globalFlags.short {
		t.short[k] = v
	}
	if s, ok := verbFlags[verb]; ok {
		for k, v := range s.long {
			t.long[k] = v
		}
		for k, v := range s.short {
			t.short[k] = v
		}
	}
	return t
}

var verbFlags = map[string]flagTable{
	"get": {
		long: map[string]flagSpec{
			"output": valueFlag, "selector": valueFlag, "field-selector": valueFlag,
			"sort-by": valueFlag, "label-columns": valueFlag, "chunk-size": valueFlag,
			"template": valueFlag, "show-labels": boolFlag, "no-headers": boolFlag,
			"show-kind": boolFlag, "ignore-not-found": boolFlag,
			"show-managed-fields": boolFlag, "allow-missing-template-keys": boolFlag,
		},
		short: map[string]string{"o": "output", "l": "selector", "L": "label-columns"},
	},
	"describe": {
		long: map[string]flagSpec{
			"selector": valueFlag, "show-events": boolFlag, "chunk-size": valueFlag,
		},
		short: map[string]string{"l": "selector"},
	},
	"logs": {
		long: map[string]flagSpec{
			"container": valueFlag, "tail": valueFlag, "since": valueFlag,
			"since-time": valueFlag, "selector": valueFlag, "limit-bytes": valueFlag,
			"max-log-requests": valueFlag, "pod-running-timeout": valueFlag,
			"timestamps": boolFlag, "previous": boolFlag, "all-containers": boolFlag,
			"prefix": boolFlag, "ignore-errors": boolFlag,
		},
		short: map[string]string{"c": "container", "p": "previous", "l": "selector"},
	},
	"events": {
		long: map[string]flagSpec{
			"for": valueFlag, "types": valueFlag, "output": valueFlag,
			"chunk-size": valueFlag, "no-headers": boolFlag,
		},
		short: map[string]string{"o": "output"},
	},
	"top": {
		long: map[string]flagSpec{
			"selector": valueFlag, "sort-by": valueFlag, "containers": boolFlag,
			"no-headers": boolFlag, "use-protocol-buffers": boolFlag, "sum": boolFlag,
		},
		short: map[string]string{"l": "selector"},
	},
	"explain": {
		long: map[string]flagSpec{
			"api-version": valueFlag, "output": valueFlag, "recursive": boolFlag,
		},
		short: map[string]string{"o": "output"},
	},
	"api-resources": {
		long: map[string]flagSpec{
			"output": valueFlag, "verbs": valueFlag, "api-group": valueFlag,
			"sort-by": valueFlag, "namespaced": boolFlag, "no-headers": boolFlag,
			"cached": boolFlag,
		},
		short: map[string]string{"o": "output"},
	},
	"version": {
		long:  map[string]flagSpec{"output": valueFlag, "client": boolFlag},
		short: map[string]string{"o": "output"},
	},
	"rollout": {
		long: map[string]flagSpec{
			"timeout": valueFlag, "revision": valueFlag, "output": valueFlag,
			"watch": boolFlag,
		},
		short: map[string]string{"o": "output", "w": "watch"},
	},
	"set": {
		long: map[string]flagSpec{
			"containers": valueFlag, "env": valueFlag, "dry-run": valueFlag,
			"output": valueFlag, "overwrite": boolFlag, "list": boolFlag,
		},
		short: map[string]string{"c": "containers", "e": "env", "o": "output"},
	},
	"patch": {
		long: map[string]flagSpec{
			"patch": valueFlag, "type": valueFlag, "dry-run": valueFlag,
			"output": valueFlag, "field-manager": valueFlag,
		},
		short: map[string]string{"p": "patch", "o": "output"},
	},
}
