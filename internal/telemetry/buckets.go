package telemetry

import (
	"math"
	"time"
)

// Latency histogram layout. Classic buckets grow by LatencyBucketFactor from
// LatencyBucketStart up past LatencyBucketEnd, so a quantile interpolated
// inside one bucket is off by a few percent at most anywhere in the 1 ms -
// 10 s range (TestLatencyBucketsQuantileError measures it). Native
// histograms use the same factor for servers that scrape them.
const (
	LatencyBucketStart  = 0.0005 // seconds
	LatencyBucketEnd    = 15.0   // seconds
	LatencyBucketFactor = 1.1

	// NativeBucketFactor bounds the growth between native buckets.
	NativeBucketFactor = 1.1
	// NativeMaxBuckets caps the number of native buckets per histogram.
	NativeMaxBuckets = 200
	// NativeMinResetDuration is the shortest time between resets when the
	// native bucket limit is hit.
	NativeMinResetDuration = time.Hour
)

// LatencyBuckets returns the classic bucket upper bounds, in seconds, shared
// by every latency histogram kafkatune exports.
func LatencyBuckets() []float64 {
	n := int(math.Ceil(math.Log(LatencyBucketEnd/LatencyBucketStart)/math.Log(LatencyBucketFactor))) + 1
	b := make([]float64, n)
	v := LatencyBucketStart
	for i := range b {
		// Round to 6 significant digits so bounds print readably in le.
		b[i] = roundSig(v, 6)
		v *= LatencyBucketFactor
	}
	return b
}

func roundSig(v float64, digits int) float64 {
	if v == 0 {
		return 0
	}
	scale := math.Pow(10, float64(digits)-math.Ceil(math.Log10(math.Abs(v))))
	return math.Round(v*scale) / scale
}
