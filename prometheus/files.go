// Package prometheus carries the repository's Prometheus-side configuration
// files into Go binaries, so that `agent local` and the tests use the very
// files the Compose stack mounts, wherever the binary runs from.
package prometheus

import "embed"

// JMXExporterConfig is jmx-exporter.yml: the rules of the JMX exporter java
// agent inside the Kafka broker.
//
//go:embed jmx-exporter.yml
var JMXExporterConfig []byte

// Config is prometheus.yml: the Compose stack's Prometheus configuration,
// which the local stack renders with its own targets.
//
//go:embed prometheus.yml
var Config []byte

// AlertmanagerConfig is alertmanager.yml: the Compose stack's Alertmanager
// configuration, which the local stack renders with its own webhook.
//
//go:embed alertmanager.yml
var AlertmanagerConfig []byte

// Rules holds rules/*.yml, the recording and alerting rules.
//
//go:embed rules/*.yml
var Rules embed.FS
