package telemetry

import (
	"runtime/debug"

	"github.com/prometheus/client_golang/prometheus"
)

// Labels of the build information metric, besides LabelComponent.
const (
	LabelVersion   = "version"
	LabelRevision  = "revision"
	LabelGoVersion = "goversion"
)

// RegisterBuildInfo registers BuildInfo on reg: a gauge that is always 1,
// labelled with the component name and the module version, VCS revision and
// Go version the binary was built with ("unknown" where the build did not
// record them).
func RegisterBuildInfo(reg prometheus.Registerer, component string) error {
	version, revision, goVersion := buildInfo()
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: BuildInfo,
		Help: "Build information of a kafkatune binary; always 1.",
		ConstLabels: prometheus.Labels{
			LabelComponent: component,
			LabelVersion:   version,
			LabelRevision:  revision,
			LabelGoVersion: goVersion,
		},
	})
	g.Set(1)
	return reg.Register(g)
}

func buildInfo() (version, revision, goVersion string) {
	version, revision, goVersion = "unknown", "unknown", "unknown"
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return version, revision, goVersion
	}
	goVersion = bi.GoVersion
	if v := bi.Main.Version; v != "" {
		version = v
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && s.Value != "" {
			revision = s.Value
		}
	}
	return version, revision, goVersion
}
