package telemetry

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestRegisterBuildInfo(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	if err := RegisterBuildInfo(reg, "bridge"); err != nil {
		t.Fatalf("register: %v", err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	if len(mfs) != 1 || mfs[0].GetName() != BuildInfo {
		t.Fatalf("gathered %v, want one %s", mfs, BuildInfo)
	}
	m := mfs[0].GetMetric()[0]
	if got := m.GetGauge().GetValue(); got != 1 {
		t.Errorf("value = %v, want 1", got)
	}
	labels := map[string]string{}
	for _, lp := range m.GetLabel() {
		labels[lp.GetName()] = lp.GetValue()
	}
	if labels[LabelComponent] != "bridge" {
		t.Errorf("component = %q, want bridge", labels[LabelComponent])
	}
	if !strings.HasPrefix(labels[LabelGoVersion], "go") {
		t.Errorf("goversion = %q, want go...", labels[LabelGoVersion])
	}
	if n := testutil.CollectAndCount(reg, BuildInfo); n != 1 {
		t.Errorf("series = %d, want 1", n)
	}
	if err := RegisterBuildInfo(reg, "bridge"); err == nil {
		t.Error("second registration succeeded, want duplicate error")
	}
}
