package tuner

import (
	"context"
	"math"
	"math/rand/v2"

	"github.com/kafkatune/kafkatune/internal/knobs"
)

// Surface is a synthetic response surface that behaves like a small
// single-broker Kafka under an adaptive load generator. Tests and
// benchmarks run the optimizer against it instead of a real broker. The
// shape, for a sandbox of C CPUs and M MiB:
//
// Capacity (msg/s) is a smooth minimum of three stage capacities, times
// two heap factors:
//
//	network  Xn  = 9000 * n                       (n network threads)
//	I/O      Xio = 8000 * io / (1 + io/16)        (io threads; the disk
//	               saturates, so each extra thread adds less)
//	CPU      Xc  = 13000 * C / (1 + 0.05 * (n + io/2 - C)^2 if > C)
//	               (I/O threads wait on the disk half of the time; busy
//	               threads beyond the cores contend, quadratically)
//	X = (Xn^-4 + Xio^-4 + Xc^-4)^(-1/4)
//	gc    = 1 / (1 + 0.4 * (256/h)^1.5)           (small heap h: collection
//	        overhead)
//	cache = 1 - 0.5 * (h / M)^2                   (large heap: less page
//	        cache for the log)
//	capacity = X * gc * cache
//
// Latency: per-request service time s = 2 + 6/n ms (fewer network threads
// queue more at the sockets) and a GC pause term g = 20 * (256/h)^2 ms
// (128 MiB: 80 ms, 256 MiB: 20 ms, 1 GiB: 1.25 ms). At utilization u the
// P99 is s/(1-u) + g. The adaptive load generator raises the rate until P99
// reaches 90% of the target, so u = 1 - s/(0.9*target - g), held within
// [0.1, 0.95]; throughput = u * capacity. Where even u = 0.1 misses the
// target (tiny heaps), P99 lands over it and the objective's penalty
// applies.
//
// Noise: each measurement multiplies throughput and P99 by independent
// factors 1 + Noise*N(0,1) (clamped at 0), drawn from a seeded source.
type Surface struct {
	Limits      knobs.Limits
	TargetP99Ms float64
	// Noise is the relative standard deviation of the measurement noise.
	Noise float64

	rng *rand.Rand
}

// Default surface parameters.
const (
	DefaultSurfaceNoise  = 0.07
	DefaultSurfaceTarget = 50.0
)

// NewSurface returns a surface for the given limits, P99 target (ms),
// relative noise and seed. It is not safe for concurrent use.
func NewSurface(limits knobs.Limits, targetP99Ms, noise float64, seed uint64) *Surface {
	return &Surface{
		Limits: limits, TargetP99Ms: targetP99Ms, Noise: noise,
		rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
	}
}

// True returns the noise-free throughput (msg/s) and P99 (ms) of s.
func (sf *Surface) True(s knobs.Setting) (throughput, p99Ms float64) {
	n, io, h := float64(s.NetworkThreads), float64(s.IOThreads), float64(s.HeapMB)
	cpus, mem := sf.Limits.CPUs, float64(sf.Limits.MemoryMB)

	xn := 9000 * n
	xio := 8000 * io / (1 + io/16)
	excess := max(0, n+io/2-cpus)
	xc := 13000 * cpus / (1 + 0.05*excess*excess)
	x := math.Pow(math.Pow(xn, -4)+math.Pow(xio, -4)+math.Pow(xc, -4), -0.25)
	gc := 1 / (1 + 0.4*math.Pow(256/h, 1.5))
	cache := 1 - 0.5*(h/mem)*(h/mem)
	capacity := x * gc * cache

	service := 2 + 6/n
	pause := 20 * (256 / h) * (256 / h)
	u := 0.1
	if room := 0.9*sf.TargetP99Ms - pause; room > 0 {
		u = min(0.95, max(0.1, 1-service/room))
	}
	return u * capacity, service/(1-u) + pause
}

// TrueScore returns the noise-free score of s under obj.
func (sf *Surface) TrueScore(obj Objective, s knobs.Setting) float64 {
	t, p := sf.True(s)
	return obj.Score(Measurement{ThroughputMsgs: t, P99Ms: p, Verified: true})
}

// Evaluate returns a noisy measurement of s. It never fails.
func (sf *Surface) Evaluate(_ context.Context, s knobs.Setting) (Measurement, error) {
	t, p := sf.True(s)
	t *= max(0, 1+sf.Noise*sf.rng.NormFloat64())
	p *= max(0, 1+sf.Noise*sf.rng.NormFloat64())
	return Measurement{ThroughputMsgs: t, P99Ms: p, Samples: 1, Verified: true}, nil
}

// GridBest returns the setting with the highest noise-free score on the
// whole grid of b, and that score: the reference a search is measured
// against.
func (sf *Surface) GridBest(obj Objective, b knobs.Bounds) (knobs.Setting, float64) {
	var best knobs.Setting
	bestScore := -1.0
	for _, s := range b.Grid() {
		if v := sf.TrueScore(obj, s); v > bestScore {
			best, bestScore = s, v
		}
	}
	return best, bestScore
}
