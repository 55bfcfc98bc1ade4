package telemetry

// Broker metrics, exported by the Prometheus JMX exporter java agent that
// runs inside the Kafka JVM with the rules in prometheus/jmx-exporter.yml
// (default :9404, scrape job JobKafka). The JVM's own metrics (heap, GC)
// come from the agent's defaults: JVMMemoryUsed, JVMMemoryMax, JVMGCSeconds.
const (
	// BrokerNetworkIdle is the average fraction of time the network
	// threads are idle (0 to 1); low values mean too few network threads.
	BrokerNetworkIdle = "kafka_network_processor_avg_idle_ratio"
	// BrokerNetworkProcessorIdle is the idle fraction of each network
	// processor (label network_processor): one series per network thread.
	BrokerNetworkProcessorIdle = "kafka_network_processor_idle_ratio"
	// BrokerRequestHandlerIdle is the one-minute average fraction of time
	// the request handler (I/O) threads are idle; low values mean too few
	// I/O threads. In combined KRaft mode the controller's handlers are
	// counted too, so it can exceed 1.
	BrokerRequestHandlerIdle = "kafka_server_request_handler_avg_idle_ratio"
	// BrokerRequestHandlerIdleSeconds counts the request handlers' idle
	// time per thread; its rate is the idle fraction over any window.
	BrokerRequestHandlerIdleSeconds = "kafka_server_request_handler_idle_seconds_total"
	// BrokerRequests counts requests by type (label request) and API
	// version (label version).
	BrokerRequests = "kafka_network_requests_total"
	// BrokerRequestTotalTime is the broker's own quantile (label quantile:
	// 0.5, 0.99, 0.999) of the total time of a request type (label
	// request), in seconds, over its recent samples.
	BrokerRequestTotalTime = "kafka_network_request_total_time_seconds"
	// BrokerRequestQueueSize is the number of requests waiting for an I/O
	// thread.
	BrokerRequestQueueSize = "kafka_network_request_queue_size"
	// BrokerMessagesIn counts messages appended to the broker's logs.
	BrokerMessagesIn = "kafka_server_messages_in_total"
	// BrokerBytesIn and BrokerBytesOut count bytes received from producers
	// and sent to consumers.
	BrokerBytesIn  = "kafka_server_bytes_in_total"
	BrokerBytesOut = "kafka_server_bytes_out_total"

	// JVMMemoryUsed is the JVM's used memory by area (label area: heap,
	// nonheap), in bytes.
	JVMMemoryUsed = "jvm_memory_used_bytes"
	// JVMMemoryMax is the JVM's maximum memory by area, in bytes: the
	// running heap size for area="heap".
	JVMMemoryMax = "jvm_memory_max_bytes"
	// JVMGCSeconds is the JVM's garbage collection time by collector
	// (label gc), a summary in seconds.
	JVMGCSeconds = "jvm_gc_collection_seconds"
)

// Labels of the broker metrics.
const (
	LabelRequest          = "request"
	LabelQuantile         = "quantile"
	LabelNetworkProcessor = "network_processor"
	LabelArea             = "area"
)

// BrokerMetrics returns the names of the broker metrics the JMX exporter
// rules produce (not the JVM defaults).
func BrokerMetrics() []string {
	return []string{
		BrokerNetworkIdle,
		BrokerNetworkProcessorIdle,
		BrokerRequestHandlerIdle,
		BrokerRequestHandlerIdleSeconds,
		BrokerRequests,
		BrokerRequestTotalTime,
		BrokerRequestQueueSize,
		BrokerMessagesIn,
		BrokerBytesIn,
		BrokerBytesOut,
	}
}
