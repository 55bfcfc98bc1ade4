package perfbench

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"slices"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/kafkatune/kafkatune/internal/telemetry"
)

// scrapeTimeout bounds one /metrics request.
const scrapeTimeout = 10 * time.Second

// bucket is a cumulative histogram bucket.
type bucket struct {
	upper float64
	count float64
}

// scrapeLatency reads the consumer's end-to-end latency histogram for
// topic from a loadgen /metrics endpoint: its cumulative classic buckets,
// the +Inf bucket last.
func scrapeLatency(ctx context.Context, addr, topic string) ([]bucket, error) {
	ctx, cancel := context.WithTimeout(ctx, scrapeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
	if err != nil {
		return nil, fmt.Errorf("scrape %s: %w", addr, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("scrape %s: %w", addr, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("scrape %s: %s", addr, resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("parse metrics of %s: %w", addr, err)
	}
	fam, ok := fams[telemetry.ConsumerEndToEndLatency]
	if !ok {
		return nil, fmt.Errorf("%s has no %s", addr, telemetry.ConsumerEndToEndLatency)
	}
	for _, m := range fam.GetMetric() {
		matches := false
		for _, l := range m.GetLabel() {
			if l.GetName() == telemetry.LabelTopic && l.GetValue() == topic {
				matches = true
			}
		}
		h := m.GetHistogram()
		if !matches || h == nil {
			continue
		}
		var bs []bucket
		for _, b := range h.GetBucket() {
			bs = append(bs, bucket{upper: b.GetUpperBound(), count: float64(b.GetCumulativeCount())})
		}
		if len(bs) == 0 || !math.IsInf(bs[len(bs)-1].upper, 1) {
			bs = append(bs, bucket{upper: math.Inf(1), count: float64(h.GetSampleCount())})
		}
		return bs, nil
	}
	return nil, fmt.Errorf("%s: no %s for topic %s", addr, telemetry.ConsumerEndToEndLatency, topic)
}

// bucketDelta returns the buckets of what was observed between two
// scrapes of the same histogram.
func bucketDelta(before, after []bucket) ([]bucket, error) {
	if len(before) != len(after) {
		return nil, fmt.Errorf("histogram layout changed between scrapes: %d and %d buckets",
			len(before), len(after))
	}
	out := make([]bucket, len(after))
	for i := range after {
		out[i] = bucket{upper: after[i].upper, count: after[i].count - before[i].count}
	}
	return out, nil
}

// histogramQuantile estimates the q-quantile from cumulative buckets the
// way Prometheus's histogram_quantile does for classic buckets: linear
// interpolation inside the bucket that holds the rank, the last finite
// bound for a rank in the +Inf bucket, NaN without observations.
func histogramQuantile(q float64, bs []bucket) float64 {
	if len(bs) < 2 || bs[len(bs)-1].count == 0 {
		return math.NaN()
	}
	rank := q * bs[len(bs)-1].count
	b := 0
	for b < len(bs) && bs[b].count < rank {
		b++
	}
	switch {
	case b >= len(bs)-1:
		return bs[len(bs)-2].upper
	case b == 0 && bs[0].upper <= 0:
		return bs[0].upper
	}
	lo, count := 0.0, bs[b].count
	if b > 0 {
		lo = bs[b-1].upper
		count -= bs[b-1].count
		rank -= bs[b-1].count
	}
	return lo + (bs[b].upper-lo)*(rank/count)
}

// exactQuantile returns the nearest-rank q-quantile of xs (the smallest
// value with at least q of the values at or below it), NaN if empty.
func exactQuantile(q float64, xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	i := int(math.Ceil(q*float64(len(s)))) - 1
	return s[min(max(i, 0), len(s)-1)]
}

// median is the middle value of xs, the mean of the two middle ones for
// an even count, NaN if empty.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// round rounds x to digits decimals, for logs.
func round(x float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(x*p) / p
}
