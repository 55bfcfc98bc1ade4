package loadgen

import (
	"errors"
	"fmt"
	"testing"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"

	"github.com/kafkatune/kafkatune/internal/telemetry"
)

func TestMetricsLintAndExistFromStart(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	if _, err := newProducerMetrics(reg, "lint"); err != nil {
		t.Fatalf("producer metrics: %v", err)
	}
	if _, err := newConsumerMetrics(reg, "lint"); err != nil {
		t.Fatalf("consumer metrics: %v", err)
	}
	if err := telemetry.RegisterBuildInfo(reg, telemetry.SubsystemProducer); err != nil {
		t.Fatalf("build info: %v", err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	problems, err := promlint.NewWithMetricFamilies(mfs).Lint()
	if err != nil {
		t.Fatalf("lint: %v", err)
	}
	for _, p := range problems {
		t.Errorf("lint %s: %s", p.Metric, p.Text)
	}

	// Every series exists before the first message, with the topic label.
	want := map[string]int{
		telemetry.ProducerSent: 1, telemetry.ProducerAcked: 1, telemetry.ProducerBytesAcked: 1,
		telemetry.ProducerFailed: len(failReasons), telemetry.ProducerRecreated: 1,
		telemetry.ProducerTargetRate: 1, telemetry.ProducerInFlight: 1,
		telemetry.ProducerAckLatency: 1, telemetry.ProducerSendDelay: 1,
		telemetry.ConsumerReceived: 1, telemetry.ConsumerBytesReceived: 1,
		telemetry.ConsumerEndToEndLatency: 1, telemetry.ConsumerSequenceGaps: 1,
		telemetry.ConsumerDuplicates: 1, telemetry.ConsumerForeign: 1,
		telemetry.ConsumerErrors: len(consumerErrReasons), telemetry.ConsumerLag: 1,
		telemetry.BuildInfo: 1,
	}
	got := map[string]int{}
	for _, mf := range mfs {
		got[mf.GetName()] = len(mf.GetMetric())
		for _, m := range mf.GetMetric() {
			if mf.GetName() == telemetry.BuildInfo {
				continue
			}
			if !hasLabel(m.GetLabel(), telemetry.LabelTopic, "lint") {
				t.Errorf("%s has no topic label", mf.GetName())
			}
		}
	}
	for name, n := range want {
		if got[name] != n {
			t.Errorf("%s: %d series, want %d", name, got[name], n)
		}
	}
	if len(got) != len(want) {
		t.Errorf("registered %d families, want %d: %v", len(got), len(want), got)
	}
}

func hasLabel[L interface {
	GetName() string
	GetValue() string
}](labels []L, name, value string) bool {
	for _, l := range labels {
		if l.GetName() == name && l.GetValue() == value {
			return true
		}
	}
	return false
}

func TestLatencyHistogramHasClassicAndNativeBuckets(t *testing.T) {
	h := latencyHistogram("kafkatune_test_latency_seconds", "test")
	h.Observe(0.0123)
	reg := prometheus.NewRegistry()
	reg.MustRegister(h)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	hist := mfs[0].GetMetric()[0].GetHistogram()
	if n := len(hist.GetBucket()); n != len(telemetry.LatencyBuckets()) {
		t.Errorf("classic buckets = %d, want %d", n, len(telemetry.LatencyBuckets()))
	}
	if hist.GetSchema() == 0 && len(hist.GetPositiveSpan()) == 0 {
		t.Error("no native histogram data")
	}
	if c := testutil.CollectAndCount(h); c != 1 {
		t.Errorf("series = %d", c)
	}
}

func TestFailureReason(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		purge  string
		reason string
		fatal  bool
	}{
		{"timeout", kafka.NewError(kafka.ErrMsgTimedOut, "", false), FailOther, FailTimeout, false},
		{"fatal", kafka.NewError(kafka.ErrFatal, "", true), FailOther, FailFatal, true},
		{"fatal flag", kafka.NewError(kafka.ErrOutOfOrderSequenceNumber, "", true), FailOther, FailFatal, true},
		{"broker", kafka.NewError(kafka.ErrNotEnoughReplicas, "", false), FailOther, FailBroker, false},
		{"purged at recreate", kafka.NewError(kafka.ErrPurgeInflight, "", false), FailFatal, FailFatal, false},
		{"purged at exit", kafka.NewError(kafka.ErrPurgeQueue, "", false), FailTimeout, FailTimeout, false},
		{"local", kafka.NewError(kafka.ErrBadMsg, "", false), FailOther, FailOther, false},
		{"not a kafka error", errors.New("boom"), FailOther, FailOther, false},
		{"wrapped", fmt.Errorf("x: %w", kafka.NewError(kafka.ErrMsgTimedOut, "", false)),
			FailOther, FailTimeout, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reason, fatal := failureReason(tt.err, tt.purge)
			if reason != tt.reason || fatal != tt.fatal {
				t.Errorf("got %q %v, want %q %v", reason, fatal, tt.reason, tt.fatal)
			}
		})
	}
}

func TestConsumerErrorReason(t *testing.T) {
	tests := []struct {
		err  kafka.Error
		want string
	}{
		{kafka.NewError(kafka.ErrAllBrokersDown, "", false), ErrReasonTransport},
		{kafka.NewError(kafka.ErrTransport, "", false), ErrReasonTransport},
		{kafka.NewError(kafka.ErrUnknownTopicOrPart, "", false), ErrReasonTopic},
		{kafka.NewError(kafka.ErrFencedInstanceID, "", true), ErrReasonFatal},
		{kafka.NewError(kafka.ErrBadMsg, "", false), ErrReasonOther},
	}
	for _, tt := range tests {
		if got := consumerErrorReason(tt.err); got != tt.want {
			t.Errorf("%v: %q, want %q", tt.err.Code(), got, tt.want)
		}
	}
}

func TestTopicCreated(t *testing.T) {
	res := func(topic string, code kafka.ErrorCode) []kafka.TopicResult {
		return []kafka.TopicResult{{Topic: topic, Error: kafka.NewError(code, "", false)}}
	}
	tests := []struct {
		name    string
		res     []kafka.TopicResult
		created bool
		wantErr bool
	}{
		{"created", res("t", kafka.ErrNoError), true, false},
		{"already exists is success", res("t", kafka.ErrTopicAlreadyExists), false, false},
		{"per-topic error", res("t", kafka.ErrPolicyViolation), false, true},
		{"invalid partitions", res("t", kafka.ErrInvalidPartitions), false, true},
		{"no result for the topic", res("other", kafka.ErrNoError), false, true},
		{"no result at all", nil, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			created, err := topicCreated(tt.res, "t")
			if created != tt.created || (err != nil) != tt.wantErr {
				t.Errorf("got %v, %v; want %v, error %v", created, err, tt.created, tt.wantErr)
			}
		})
	}
}

func TestTopicPartitions(t *testing.T) {
	ok := kafka.NewError(kafka.ErrNoError, "", false)
	md := &kafka.Metadata{Topics: map[string]kafka.TopicMetadata{
		"six":     {Topic: "six", Partitions: make([]kafka.PartitionMetadata, 6), Error: ok},
		"none":    {Topic: "none", Error: ok},
		"missing": {Topic: "missing", Error: kafka.NewError(kafka.ErrUnknownTopicOrPart, "", false)},
	}}
	tests := []struct {
		topic   string
		want    int
		wantErr bool
	}{
		{"six", 6, false},
		{"none", 0, true},
		{"missing", 0, true},
		{"absent", 0, true},
	}
	for _, tt := range tests {
		n, err := topicPartitions(md, tt.topic)
		if n != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("%s: %d, %v; want %d, error %v", tt.topic, n, err, tt.want, tt.wantErr)
		}
	}
}

func TestPartitionLag(t *testing.T) {
	tests := []struct{ pos, low, high, want int64 }{
		{100, 0, 150, 50},
		{150, 0, 150, 0},
		{int64(kafka.OffsetInvalid), 20, 150, 130}, // nothing consumed yet
		{200, 0, 150, 0}, // stale watermark
	}
	for _, tt := range tests {
		if got := partitionLag(tt.pos, tt.low, tt.high); got != tt.want {
			t.Errorf("partitionLag(%d, %d, %d) = %d, want %d", tt.pos, tt.low, tt.high, got, tt.want)
		}
	}
}
