package kafkaproc

import "testing"

func TestMaxHeapMB(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want int
		err  bool
	}{
		{"megabytes", []string{"java", "-Xms256m", "-Xmx256m", "kafka.Kafka"}, 256, false},
		{"last wins", []string{"-Xmx256m", "-Xmx1g"}, 1024, false},
		{"kilobytes", []string{"-Xmx524288k"}, 512, false},
		{"bytes", []string{"-Xmx268435456"}, 256, false},
		{"upper case", []string{"-Xmx2G"}, 2048, false},
		{"missing", []string{"java", "-Xms256m"}, 0, true},
		{"garbage", []string{"-Xmxlots"}, 0, true},
		{"empty", []string{"-Xmx"}, 0, true},
		{"negative", []string{"-Xmx-5m"}, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := maxHeapMB(tt.args)
			if (err != nil) != tt.err || got != tt.want {
				t.Fatalf("maxHeapMB(%q) = %d, %v; want %d, error %v", tt.args, got, err, tt.want, tt.err)
			}
		})
	}
}

func TestNewClusterID(t *testing.T) {
	seen := map[string]bool{}
	for range 200 {
		id, err := newClusterID()
		if err != nil {
			t.Fatal(err)
		}
		if len(id) != 22 || id[0] == '-' || seen[id] {
			t.Fatalf("bad or repeated cluster id %q", id)
		}
		seen[id] = true
	}
}
