package rules

import (
	"slices"
	"testing"
)

func TestNames(t *testing.T) {
	tests := []struct {
		name string
		expr string
		want []string
	}{
		{"metric and recorded series",
			`kafkatune:p99_1m > on () kafkatune_target_latency_seconds`,
			[]string{"kafkatune:p99_1m", "kafkatune_target_latency_seconds"}},
		{"functions, keywords and labels are no names",
			`sum by (le) (rate(kafkatune_x_bucket{job="consumer"}[5m]))`,
			[]string{"kafkatune_x_bucket"}},
		{"string literals are skipped",
			`up{job="kafkatune_fake", a='kafkatune_b', c=` + "`kafkatune_c`" + `}`,
			[]string{}},
		{"escaped quote inside a string",
			`label_replace(kafkatune_a, "x", "kafkatune_\"q", "", "")`,
			[]string{"kafkatune_a"}},
		{"comments are skipped",
			"kafkatune_a # kafkatune_b\n + kafkatune_c",
			[]string{"kafkatune_a", "kafkatune_c"}},
		{"duplicates once, sorted",
			`kafkatune_b / kafkatune_a + kafkatune_b`,
			[]string{"kafkatune_a", "kafkatune_b"}},
		{"numbers and durations",
			`1.5 * kafkatune_a offset 5m > 1e3`,
			[]string{"kafkatune_a"}},
		{"prefix inside another name does not count",
			`my_kafkatune_a`,
			[]string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Names(tt.expr, "kafkatune")
			if !slices.Equal(got, tt.want) {
				t.Errorf("Names(%q) = %q, want %q", tt.expr, got, tt.want)
			}
		})
	}
}

func TestCheckName(t *testing.T) {
	consts := map[string]string{
		"kafkatune_lat_seconds": "Lat",
		"kafkatune_sent_total":  "Sent",
	}
	recorded := map[string]bool{"kafkatune:lat:p99_1m": true}
	histograms := []string{"kafkatune_lat_seconds"}
	tests := []struct {
		name, metric string
		ok           bool
	}{
		{"histogram buckets", "kafkatune_lat_seconds_bucket", true},
		{"histogram sum", "kafkatune_lat_seconds_sum", true},
		{"histogram count", "kafkatune_lat_seconds_count", true},
		{"counter", "kafkatune_sent_total", true},
		{"recorded series", "kafkatune:lat:p99_1m", true},
		{"bare histogram", "kafkatune_lat_seconds", false},
		{"buckets of a counter", "kafkatune_sent_total_bucket", false},
		{"unknown metric", "kafkatune_nope", false},
		{"unknown recorded series", "kafkatune:lat:p50_1m", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := checkName(tt.metric, consts, recorded, histograms)
			if (msg == "") != tt.ok {
				t.Errorf("checkName(%s) = %q, want ok=%v", tt.metric, msg, tt.ok)
			}
		})
	}
}
