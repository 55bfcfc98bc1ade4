// Package prometheus carries the repository's Prometheus-side configuration
// files into Go binaries, so that `agent local` and the tests use the very
// files the Compose stack mounts, wherever the binary runs from.
package prometheus

import _ "embed"

// JMXExporterConfig is jmx-exporter.yml: the rules of the JMX exporter java
// agent inside the Kafka broker.
//
//go:embed jmx-exporter.yml
var JMXExporterConfig []byte
