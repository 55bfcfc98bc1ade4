package loadgen

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kafkatune/kafkatune/internal/telemetry"
)

// Reasons a message finally failed, the values of the reason label of
// telemetry.ProducerFailed. The set is fixed and every series exists from
// the start.
const (
	FailTimeout = "timeout" // not acknowledged in time, or flushed out at exit
	FailFatal   = "fatal"   // lost with a producer in fatal state
	FailBroker  = "broker"  // rejected by the broker
	FailOther   = "other"
)

var failReasons = []string{FailTimeout, FailFatal, FailBroker, FailOther}

// Reasons of consumer client errors (telemetry.ConsumerErrors).
const (
	ErrReasonTransport = "transport" // broker connection trouble
	ErrReasonTopic     = "topic"     // topic or partition unknown
	ErrReasonFatal     = "fatal"
	ErrReasonOther     = "other"
)

var consumerErrReasons = []string{ErrReasonTransport, ErrReasonTopic, ErrReasonFatal, ErrReasonOther}

// latencyHistogram returns a latency histogram in seconds with the shared
// classic buckets and a native histogram side by side (a native-only
// histogram would show classic scrapers a single +Inf bucket).
func latencyHistogram(name, help string) prometheus.Histogram {
	return prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:                            name,
		Help:                            help,
		Buckets:                         telemetry.LatencyBuckets(),
		NativeHistogramBucketFactor:     telemetry.NativeBucketFactor,
		NativeHistogramMaxBucketNumber:  telemetry.NativeMaxBuckets,
		NativeHistogramMinResetDuration: telemetry.NativeMinResetDuration,
	})
}

// withTopic wraps reg so every metric carries the topic label.
func withTopic(reg prometheus.Registerer, topic string) prometheus.Registerer {
	return prometheus.WrapRegistererWith(prometheus.Labels{telemetry.LabelTopic: topic}, reg)
}

func register(reg prometheus.Registerer, cs ...prometheus.Collector) error {
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("register metric: %w", err)
		}
	}
	return nil
}

type producerMetrics struct {
	sent       prometheus.Counter
	acked      prometheus.Counter
	bytesAcked prometheus.Counter
	failed     map[string]prometheus.Counter
	recreated  prometheus.Counter
	targetRate prometheus.Gauge
	inFlight   prometheus.Gauge
	ackLatency prometheus.Histogram
	sendDelay  prometheus.Histogram
}

func newProducerMetrics(reg prometheus.Registerer, topic string) (*producerMetrics, error) {
	m := &producerMetrics{
		sent: prometheus.NewCounter(prometheus.CounterOpts{
			Name: telemetry.ProducerSent, Help: "Messages handed to the Kafka client.",
		}),
		acked: prometheus.NewCounter(prometheus.CounterOpts{
			Name: telemetry.ProducerAcked, Help: "Messages the broker acknowledged.",
		}),
		bytesAcked: prometheus.NewCounter(prometheus.CounterOpts{
			Name: telemetry.ProducerBytesAcked, Help: "Message value bytes the broker acknowledged.",
		}),
		recreated: prometheus.NewCounter(prometheus.CounterOpts{
			Name: telemetry.ProducerRecreated,
			Help: "Kafka producer clients recreated after a fatal error.",
		}),
		targetRate: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: telemetry.ProducerTargetRate,
			Help: "Rate the pacer aims for, in messages per second (0 in max mode).",
		}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: telemetry.ProducerInFlight, Help: "Messages sent and not yet reported.",
		}),
		ackLatency: latencyHistogram(telemetry.ProducerAckLatency,
			"Time from the actual send to the delivery report, in seconds."),
		sendDelay: latencyHistogram(telemetry.ProducerSendDelay,
			"Time from the intended (scheduled) send time to the actual send, in seconds."),
		failed: map[string]prometheus.Counter{},
	}
	failed := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: telemetry.ProducerFailed, Help: "Messages that finally failed, by reason.",
	}, []string{telemetry.LabelReason})
	for _, r := range failReasons {
		m.failed[r] = failed.WithLabelValues(r)
	}
	err := register(withTopic(reg, topic), m.sent, m.acked, m.bytesAcked, failed,
		m.recreated, m.targetRate, m.inFlight, m.ackLatency, m.sendDelay)
	return m, err
}

type consumerMetrics struct {
	received   prometheus.Counter
	bytes      prometheus.Counter
	latency    prometheus.Histogram
	gaps       prometheus.Counter
	duplicates prometheus.Counter
	foreign    prometheus.Counter
	errors     map[string]prometheus.Counter
	lag        prometheus.Gauge
}

func newConsumerMetrics(reg prometheus.Registerer, topic string) (*consumerMetrics, error) {
	m := &consumerMetrics{
		received: prometheus.NewCounter(prometheus.CounterOpts{
			Name: telemetry.ConsumerReceived, Help: "kafkatune messages received.",
		}),
		bytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: telemetry.ConsumerBytesReceived, Help: "Value bytes of kafkatune messages received.",
		}),
		latency: latencyHistogram(telemetry.ConsumerEndToEndLatency,
			"Receive time minus the producer's intended send time, in seconds."),
		gaps: prometheus.NewCounter(prometheus.CounterOpts{
			Name: telemetry.ConsumerSequenceGaps,
			Help: "Sequence numbers declared missing (skipped), summed over producers.",
		}),
		duplicates: prometheus.NewCounter(prometheus.CounterOpts{
			Name: telemetry.ConsumerDuplicates, Help: "Messages whose sequence number was already seen.",
		}),
		foreign: prometheus.NewCounter(prometheus.CounterOpts{
			Name: telemetry.ConsumerForeign, Help: "Records without a valid kafkatune stamp.",
		}),
		lag: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: telemetry.ConsumerLag,
			Help: "Messages behind the high watermark, summed over assigned partitions.",
		}),
		errors: map[string]prometheus.Counter{},
	}
	errs := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: telemetry.ConsumerErrors, Help: "Errors reported by the Kafka client, by reason.",
	}, []string{telemetry.LabelReason})
	for _, r := range consumerErrReasons {
		m.errors[r] = errs.WithLabelValues(r)
	}
	err := register(withTopic(reg, topic), m.received, m.bytes, m.latency, m.gaps,
		m.duplicates, m.foreign, errs, m.lag)
	return m, err
}
