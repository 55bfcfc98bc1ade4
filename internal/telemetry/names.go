// Package telemetry owns every metric name kafkatune exports and every PromQL
// expression that reads them back. The load generators, the bridge, the
// agent, the Prometheus rules, the Grafana dashboards and the tests all take
// their names from here, so they cannot drift apart.
package telemetry

// Namespace is the prefix of every metric kafkatune exports.
const Namespace = "kafkatune"

// Subsystems, one per component.
const (
	SubsystemProducer = "producer"
	SubsystemConsumer = "consumer"
	SubsystemBridge   = "bridge"
	SubsystemTuner    = "tuner"
)

// Producer metrics (loadgen produce, default :9101).
const (
	// ProducerSent counts messages handed to the Kafka client.
	ProducerSent = "kafkatune_producer_messages_sent_total"
	// ProducerAcked counts messages the broker acknowledged.
	ProducerAcked = "kafkatune_producer_messages_acked_total"
	// ProducerFailed counts messages that finally failed, by reason.
	ProducerFailed = "kafkatune_producer_messages_failed_total"
	// ProducerBytesAcked counts payload bytes the broker acknowledged.
	ProducerBytesAcked = "kafkatune_producer_bytes_acked_total"
	// ProducerTargetRate is the rate the pacer aims for, in messages per
	// second (0 in max mode, where there is no target).
	ProducerTargetRate = "kafkatune_producer_target_messages_per_second"
	// ProducerInFlight is the number of messages sent and not yet reported.
	ProducerInFlight = "kafkatune_producer_in_flight_messages"
	// ProducerAckLatency is the time from the actual send to the delivery
	// report, in seconds.
	ProducerAckLatency = "kafkatune_producer_ack_latency_seconds"
	// ProducerSendDelay is the time from the intended send time (the
	// schedule) to the actual send, in seconds: the coordinated-omission
	// signal.
	ProducerSendDelay = "kafkatune_producer_send_delay_seconds"
	// ProducerRecreated counts Kafka producer clients recreated after a
	// fatal error (for example an idempotent producer after a broker
	// restart).
	ProducerRecreated = "kafkatune_producer_recreated_total"
)

// Consumer metrics (loadgen consume, default :9102).
const (
	// ConsumerReceived counts kafkatune messages received.
	ConsumerReceived = "kafkatune_consumer_messages_received_total"
	// ConsumerBytesReceived counts payload bytes received.
	ConsumerBytesReceived = "kafkatune_consumer_bytes_received_total"
	// ConsumerEndToEndLatency is receive time minus the intended send time
	// stamped by the producer, in seconds.
	ConsumerEndToEndLatency = "kafkatune_consumer_end_to_end_latency_seconds"
	// ConsumerSequenceGaps counts messages missing from a producer's
	// sequence (skipped numbers).
	ConsumerSequenceGaps = "kafkatune_consumer_sequence_gaps_total"
	// ConsumerDuplicates counts messages whose sequence number was already
	// seen.
	ConsumerDuplicates = "kafkatune_consumer_duplicates_total"
	// ConsumerForeign counts records on the topic that kafkatune did not
	// write (or that are corrupt).
	ConsumerForeign = "kafkatune_consumer_foreign_messages_total"
	// ConsumerErrors counts consumer errors reported by the client, by
	// reason.
	ConsumerErrors = "kafkatune_consumer_errors_total"
	// ConsumerLag is the consumer's lag behind the high watermark, summed
	// over its assigned partitions, in messages.
	ConsumerLag = "kafkatune_consumer_lag_messages"
)

// Bridge metrics (exporter, default :9103).
const (
	// BridgeQueryDuration is the duration of each PromQL query.
	BridgeQueryDuration = "kafkatune_bridge_query_duration_seconds"
	// BridgeQueryErrors counts failed PromQL queries.
	BridgeQueryErrors = "kafkatune_bridge_query_errors_total"
	// BridgeLastSuccess is the Unix time of the last cycle in which every
	// query succeeded.
	BridgeLastSuccess = "kafkatune_bridge_last_success_timestamp_seconds"
	// BridgeStale is 1 while the published values are stale.
	BridgeStale = "kafkatune_bridge_stale"
	// BridgeWrites counts status and ConfigMap writes, by sink and result.
	BridgeWrites = "kafkatune_bridge_writes_total"
)

// Labels kept small and fixed.
const (
	LabelTopic     = "topic"
	LabelReason    = "reason"
	LabelQuery     = "query"
	LabelSink      = "sink"
	LabelResult    = "result"
	LabelComponent = "component"
)

// BuildInfo is the per-binary build information metric.
const BuildInfo = "kafkatune_build_info"

// Default listen addresses of each component's /metrics endpoint.
const (
	DefaultProducerAddr = ":9101"
	DefaultConsumerAddr = ":9102"
	DefaultBridgeAddr   = ":9103"
	DefaultTunerAddr    = ":9104"
)
