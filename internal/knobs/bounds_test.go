package knobs

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func TestBounds(t *testing.T) {
	tests := []struct {
		name                  string
		limits                Limits
		heap, network, ioThrs Range
		size                  int
	}{
		{
			name: "defaults", limits: DefaultLimits(),
			heap:    Range{Min: 256, Max: 2048, Step: 64},
			network: Range{Min: 1, Max: 8, Step: 1},
			ioThrs:  Range{Min: 1, Max: 16, Step: 1},
			size:    29 * 8 * 16,
		},
		{
			name: "fractional cpus, odd memory", limits: Limits{CPUs: 1.5, MemoryMB: 1000},
			heap:    Range{Min: 256, Max: 448, Step: 64},
			network: Range{Min: 1, Max: 3, Step: 1},
			ioThrs:  Range{Min: 1, Max: 6, Step: 1},
			size:    4 * 3 * 6,
		},
		{
			name: "smallest", limits: Limits{CPUs: 0.5, MemoryMB: 512},
			heap:    Range{Min: 256, Max: 256, Step: 64},
			network: Range{Min: 1, Max: 1, Step: 1},
			ioThrs:  Range{Min: 1, Max: 2, Step: 1},
			size:    2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.limits.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			b := tt.limits.Bounds()
			if b.HeapMB != tt.heap || b.NetworkThreads != tt.network || b.IOThreads != tt.ioThrs {
				t.Errorf("bounds = %+v %+v %+v, want %+v %+v %+v",
					b.HeapMB, b.NetworkThreads, b.IOThreads, tt.heap, tt.network, tt.ioThrs)
			}
			if b.Size() != tt.size || len(b.Grid()) != tt.size {
				t.Errorf("Size() = %d, len(Grid()) = %d, want %d", b.Size(), len(b.Grid()), tt.size)
			}
			for _, s := range b.Grid() {
				if err := b.Check(s); err != nil {
					t.Fatalf("grid setting %v fails Check: %v", s, err)
				}
			}
		})
	}
}

func TestLimitsValidate(t *testing.T) {
	tests := []struct {
		limits  Limits
		wantErr string
	}{
		{Limits{CPUs: 0.25, MemoryMB: 4096}, "cpu limit 0.25"},
		{Limits{CPUs: 4, MemoryMB: 200}, "memory limit 200 MiB"},
	}
	for _, tt := range tests {
		t.Run(tt.wantErr, func(t *testing.T) {
			err := tt.limits.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Validate() = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestStartIsWithinDefaultBounds(t *testing.T) {
	if err := DefaultLimits().Bounds().Check(Start()); err != nil {
		t.Fatalf("start setting out of default bounds: %v", err)
	}
}

func TestCheck(t *testing.T) {
	b := DefaultLimits().Bounds()
	tests := []struct {
		name  string
		s     Setting
		wants []string
		knobs []string
	}{
		{name: "ok", s: Setting{HeapMB: 1000, NetworkThreads: 8, IOThreads: 16}},
		{
			name:  "io",
			s:     Setting{HeapMB: 512, NetworkThreads: 3, IOThreads: 40},
			wants: []string{"num.io.threads 40 is outside the allowed range 1..16 (4 x 4 CPUs)"},
			knobs: []string{KnobIOThreads},
		},
		{
			name: "all",
			s:    Setting{HeapMB: 3000, NetworkThreads: 0, IOThreads: 17},
			wants: []string{
				"heap 3000 MiB is outside the allowed range 256..2048 MiB (at most half of the 4096 MiB memory limit)",
				"num.network.threads 0 is outside the allowed range 1..8 (2 x 4 CPUs)",
				"num.io.threads 17 is outside the allowed range 1..16 (4 x 4 CPUs)",
			},
			knobs: []string{KnobHeap, KnobNetworkThreads, KnobIOThreads},
		},
		{
			name:  "heap too small",
			s:     Setting{HeapMB: 64, NetworkThreads: 1, IOThreads: 1},
			wants: []string{"heap 64 MiB is outside the allowed range 256..2048 MiB"},
			knobs: []string{KnobHeap},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := b.Check(tt.s)
			if len(tt.wants) == 0 {
				if err != nil {
					t.Fatalf("Check(%v) = %v, want nil", tt.s, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Check(%v) = nil, want errors", tt.s)
			}
			for _, w := range tt.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			var got []string
			for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
				var be *BoundError
				if !errors.As(e, &be) {
					t.Fatalf("error %v is not a *BoundError", e)
				}
				got = append(got, be.Knob)
			}
			if !reflect.DeepEqual(got, tt.knobs) {
				t.Errorf("knobs in error = %v, want %v", got, tt.knobs)
			}
		})
	}
}

func TestRangeSnap(t *testing.T) {
	r := Range{Min: 128, Max: 2048, Step: 64}
	tests := []struct{ in, want int }{
		{0, 128}, {128, 128}, {159, 128}, {160, 192}, {1000, 1024}, {2047, 2048}, {9999, 2048},
	}
	for _, tt := range tests {
		if got := r.Snap(tt.in); got != tt.want {
			t.Errorf("Snap(%d) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

func TestDynamicSteps(t *testing.T) {
	tests := []struct {
		from, to int
		want     []int
	}{
		{from: 1, to: 1, want: nil},
		{from: 1, to: 2, want: []int{2}},
		{from: 1, to: 8, want: []int{2, 4, 8}},
		{from: 1, to: 5, want: []int{2, 4, 5}},
		{from: 2, to: 16, want: []int{4, 8, 16}},
		{from: 16, to: 1, want: []int{8, 4, 2, 1}},
		{from: 16, to: 3, want: []int{8, 4, 3}},
		{from: 3, to: 1, want: []int{1}},
		{from: 7, to: 2, want: []int{3, 2}},
		{from: 5, to: 9, want: []int{9}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d_to_%d", tt.from, tt.to), func(t *testing.T) {
			got, err := DynamicSteps(tt.from, tt.to)
			if err != nil {
				t.Fatalf("DynamicSteps: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("DynamicSteps = %v, want %v", got, tt.want)
			}
			cur := tt.from
			for _, v := range got {
				if v < cur/2 || v > cur*2 || v < 1 {
					t.Errorf("step %d -> %d breaks Kafka's halve/double rule", cur, v)
				}
				cur = v
			}
		})
	}
	if _, err := DynamicSteps(0, 4); err == nil {
		t.Error("DynamicSteps(0, 4) succeeded, want error")
	}
}
