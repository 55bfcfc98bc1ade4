package rules

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"

	"go.yaml.in/yaml/v3"
)

// AgentReceiver is the Alertmanager receiver that delivers to the agent's
// webhook.
const AgentReceiver = "agent"

// Webhook says where the agent's webhook listens and where Alertmanager
// finds the shared token it sends as "Authorization: Bearer <token>".
type Webhook struct {
	// URL of the webhook, for example http://127.0.0.1:9104/alerts.
	URL string
	// CredentialsFile is the file holding the token. Alertmanager reads it
	// for every notification; a relative path is taken relative to the
	// rendered configuration file.
	CredentialsFile string
}

// Validate reports whether w can be rendered.
func (w Webhook) Validate() error {
	u, err := url.Parse(w.URL)
	if err != nil {
		return fmt.Errorf("webhook url: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("webhook url %q: want http(s)://host[:port]/path", w.URL)
	}
	if w.CredentialsFile == "" {
		return errors.New("webhook credentials file: empty")
	}
	return nil
}

// RenderAlertmanager returns the Alertmanager configuration src (usually
// the contents of AlertmanagerConfig) with every webhook of the
// AgentReceiver receiver sent to w. Everything else, comments included, is
// kept.
func RenderAlertmanager(src []byte, w Webhook) ([]byte, error) {
	if err := w.Validate(); err != nil {
		return nil, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, fmt.Errorf("decode alertmanager config: %w", err)
	}
	if len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, errors.New("alertmanager config: not a mapping")
	}
	hooks, err := agentWebhooks(doc.Content[0])
	if err != nil {
		return nil, err
	}
	for _, h := range hooks {
		setScalar(h, "url", w.URL)
		auth := mapping(mapping(h, "http_config"), "authorization")
		setScalar(auth, "credentials_file", w.CredentialsFile)
	}

	var buf bytes.Buffer
	fmt.Fprintf(&buf, "# Rendered from %s for %s.\n", AlertmanagerConfig, w.URL)
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, fmt.Errorf("encode alertmanager config: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encode alertmanager config: %w", err)
	}
	return buf.Bytes(), nil
}

// agentWebhooks returns the webhook_configs entries of the agent receiver.
func agentWebhooks(root *yaml.Node) ([]*yaml.Node, error) {
	receivers := value(root, "receivers")
	if receivers == nil || receivers.Kind != yaml.SequenceNode {
		return nil, errors.New("alertmanager config: no receivers")
	}
	for _, r := range receivers.Content {
		name := value(r, "name")
		if name == nil || name.Value != AgentReceiver {
			continue
		}
		hooks := value(r, "webhook_configs")
		if hooks == nil || hooks.Kind != yaml.SequenceNode || len(hooks.Content) == 0 {
			return nil, fmt.Errorf("alertmanager config: receiver %q has no "+
				"webhook_configs", AgentReceiver)
		}
		return hooks.Content, nil
	}
	return nil, fmt.Errorf("alertmanager config: no receiver %q", AgentReceiver)
}

// value returns the value of key in the mapping node m, or nil.
func value(m *yaml.Node, key string) *yaml.Node {
	if m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// mapping returns the mapping under key in m, adding an empty one if key is
// missing or holds something else.
func mapping(m *yaml.Node, key string) *yaml.Node {
	if v := value(m, key); v != nil && v.Kind == yaml.MappingNode {
		return v
	}
	v := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	set(m, key, v)
	return v
}

func setScalar(m *yaml.Node, key, val string) {
	set(m, key, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: val})
}

func set(m *yaml.Node, key string, v *yaml.Node) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			v.LineComment = m.Content[i+1].LineComment
			m.Content[i+1] = v
			return
		}
	}
	k := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}
	m.Content = append(m.Content, k, v)
}
