package knobs

import (
	"reflect"
	"strings"
	"testing"
)

func TestSettingRendering(t *testing.T) {
	s := Start()
	if got, want := s.String(), "heap=256MiB network_threads=1 io_threads=2"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	wantEnv := map[string]string{
		"KAFKA_HEAP_OPTS":           "-Xms256m -Xmx256m",
		"KAFKA_NUM_NETWORK_THREADS": "1",
		"KAFKA_NUM_IO_THREADS":      "2",
	}
	if got := s.Env(); !reflect.DeepEqual(got, wantEnv) {
		t.Errorf("Env() = %v, want %v", got, wantEnv)
	}
	wantProps := map[string]string{"num.network.threads": "1", "num.io.threads": "2"}
	if got := s.Properties(); !reflect.DeepEqual(got, wantProps) {
		t.Errorf("Properties() = %v, want %v", got, wantProps)
	}
	heap, err := ParseHeapOpts(s.HeapOpts())
	if err != nil || heap != s.HeapMB {
		t.Errorf("ParseHeapOpts(HeapOpts()) = %d, %v; want %d", heap, err, s.HeapMB)
	}
}

func TestParseHeapOpts(t *testing.T) {
	tests := []struct {
		in      string
		want    int
		wantErr string
	}{
		{in: "-Xms256m -Xmx256m", want: 256},
		{in: "-Xmx1G -Xms1G", want: 1024},
		{in: "-Xms1g -Xmx1024m -XX:+UseG1GC", want: 1024},
		{in: "-Xms524288k -Xmx512M", want: 512},
		{in: "-Xms268435456 -Xmx256m", want: 256},
		{in: "-Xmx128m -Xms128m -Xmx512m -Xms512m", want: 512},
		{in: "", wantErr: "no -Xmx"},
		{in: "-Xms256m", wantErr: "no -Xmx"},
		{in: "-Xmx256m", wantErr: "no -Xms"},
		{in: "-Xms128m -Xmx256m", wantErr: "-Xms 128 MiB differs from -Xmx 256 MiB"},
		{in: "-Xms256m -Xmx", wantErr: "empty size"},
		{in: "-Xms256m -Xmxlots", wantErr: "not a positive whole number"},
		{in: "-Xms256m -Xmx-5m", wantErr: "not a positive whole number"},
		{in: "-Xms1000k -Xmx1000k", wantErr: "not a whole number of MiB"},
		{in: "-Xms1m -Xmx99999999999g", wantErr: "too large"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseHeapOpts(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseHeapOpts(%q) error = %v, want it to contain %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseHeapOpts(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
			}
		})
	}
}
