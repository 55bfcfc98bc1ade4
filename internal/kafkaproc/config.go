package kafkaproc

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Defaults: the deliberately de-optimized broker kafkatune starts from.
const (
	DefaultHeapMB         = 256
	DefaultNetworkThreads = 1
	DefaultIOThreads      = 2
	DefaultStartTimeout   = 2 * time.Minute
	DefaultStopTimeout    = 30 * time.Second
)

// Conventional ports of `make local`. Tests use 0 (a free port) instead.
const (
	ConventionalBrokerPort     = 9092
	ConventionalControllerPort = 9095
	ConventionalJMXPort        = 9404
)

// NodeID is the node id of the single combined broker and controller.
const NodeID = 1

// Bounds Validate enforces. They catch typos, not tuning mistakes: the
// tuning bounds live with the agent.
const (
	MinHeapMB  = 64
	MaxHeapMB  = 64 * 1024
	MaxThreads = 256
)

// JMXDisabled as Config.JMXPort starts the broker without the JMX exporter.
const JMXDisabled = -1

// Config describes one local broker.
type Config struct {
	// DataDir holds everything of this broker: kafka/ (the log directory,
	// formatted once and kept across restarts), logs/server.log and
	// config/ (rendered files). Required.
	DataDir string
	// HeapMB is the JVM heap in MiB, used as both -Xms and -Xmx.
	HeapMB int
	// NetworkThreads and IOThreads are num.network.threads and
	// num.io.threads.
	NetworkThreads int
	IOThreads      int
	// BrokerPort and ControllerPort are the PLAINTEXT and CONTROLLER
	// listener ports on 127.0.0.1; 0 picks a free port.
	BrokerPort     int
	ControllerPort int
	// JMXPort is the port of the JMX exporter's /metrics on 127.0.0.1; 0
	// picks a free port, JMXDisabled runs without the exporter.
	JMXPort int
	// JMXConfigPath is the JMX exporter rules file; empty uses the
	// repository's prometheus/jmx-exporter.yml, embedded in the binary.
	JMXConfigPath string
	// Jars says where the Kafka jars come from.
	Jars JarsConfig
	// JavaBin is the java executable; empty means $JAVA_HOME/bin/java,
	// else java on PATH.
	JavaBin string
	// ExtraProperties are added to server.properties. They may not
	// override the properties this package manages (listeners, node id,
	// log.dirs, thread counts and the like).
	ExtraProperties map[string]string
	// StartTimeout bounds how long Start waits for the broker to be ready;
	// StopTimeout how long Stop waits after SIGTERM before SIGKILL.
	StartTimeout time.Duration
	StopTimeout  time.Duration
}

// withDefaults returns c with zero values replaced by defaults.
func (c Config) withDefaults() Config {
	if c.HeapMB == 0 {
		c.HeapMB = DefaultHeapMB
	}
	if c.NetworkThreads == 0 {
		c.NetworkThreads = DefaultNetworkThreads
	}
	if c.IOThreads == 0 {
		c.IOThreads = DefaultIOThreads
	}
	if c.StartTimeout == 0 {
		c.StartTimeout = DefaultStartTimeout
	}
	if c.StopTimeout == 0 {
		c.StopTimeout = DefaultStopTimeout
	}
	return c
}

// managedProperties are rendered by this package and may not come from
// ExtraProperties.
var managedProperties = []string{
	"process.roles", "node.id", "controller.quorum.voters",
	"listeners", "advertised.listeners", "controller.listener.names",
	"listener.security.protocol.map", "inter.broker.listener.name",
	"log.dirs", "num.network.threads", "num.io.threads",
}

// Validate reports the first problem in c (after defaults) in terms of the
// field at fault and what it allows.
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	if c.DataDir == "" {
		errs = append(errs, errors.New("data dir: required"))
	}
	if c.HeapMB < MinHeapMB || c.HeapMB > MaxHeapMB {
		errs = append(errs, fmt.Errorf("heap %d MiB: want %d to %d", c.HeapMB, MinHeapMB, MaxHeapMB))
	}
	if err := checkThreads("network threads", c.NetworkThreads); err != nil {
		errs = append(errs, err)
	}
	if err := checkThreads("io threads", c.IOThreads); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, c.checkPorts()...)
	for k := range c.ExtraProperties {
		if slices.Contains(managedProperties, k) {
			errs = append(errs, fmt.Errorf("extra property %s: managed by kafkaproc, set the Config field", k))
		}
	}
	if c.StartTimeout < 0 || c.StopTimeout < 0 {
		errs = append(errs, errors.New("timeouts: want positive durations"))
	}
	return errors.Join(errs...)
}

func checkThreads(name string, n int) error {
	if n < 1 || n > MaxThreads {
		return fmt.Errorf("%s %d: want 1 to %d", name, n, MaxThreads)
	}
	return nil
}

func (c Config) checkPorts() []error {
	var errs []error
	ports := map[string]int{
		"broker port": c.BrokerPort, "controller port": c.ControllerPort,
	}
	if c.JMXPort != JMXDisabled {
		ports["jmx port"] = c.JMXPort
	}
	seen := map[int]string{}
	for _, name := range []string{"broker port", "controller port", "jmx port"} {
		p, ok := ports[name]
		if !ok {
			continue
		}
		if p < 0 || p > 65535 {
			errs = append(errs, fmt.Errorf("%s %d: want 0 (free port) to 65535", name, p))
			continue
		}
		if other, dup := seen[p]; dup && p != 0 {
			errs = append(errs, fmt.Errorf("%s %d: already used as %s", name, p, other))
		}
		seen[p] = name
	}
	return errs
}

// Layout of the data directory.
func (c Config) logDir() string     { return filepath.Join(c.DataDir, "kafka") }
func (c Config) serverLogs() string { return filepath.Join(c.DataDir, "logs") }
func (c Config) configDir() string  { return filepath.Join(c.DataDir, "config") }

// ServerLog returns the path of the broker's log file.
func (c Config) ServerLog() string { return filepath.Join(c.serverLogs(), "server.log") }

// formatted reports whether the log directory has been formatted.
func (c Config) formatted() bool {
	_, err := os.Stat(filepath.Join(c.logDir(), "meta.properties"))
	return err == nil
}

// serverProperties renders server.properties for c, whose ports must be
// resolved.
func (c Config) serverProperties() string {
	broker := "127.0.0.1:" + strconv.Itoa(c.BrokerPort)
	controller := "127.0.0.1:" + strconv.Itoa(c.ControllerPort)
	props := map[string]string{
		"process.roles":                                    "broker,controller",
		"node.id":                                          strconv.Itoa(NodeID),
		"controller.quorum.voters":                         strconv.Itoa(NodeID) + "@" + controller,
		"listeners":                                        "PLAINTEXT://" + broker + ",CONTROLLER://" + controller,
		"advertised.listeners":                             "PLAINTEXT://" + broker,
		"controller.listener.names":                        "CONTROLLER",
		"listener.security.protocol.map":                   "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
		"inter.broker.listener.name":                       "PLAINTEXT",
		"log.dirs":                                         c.logDir(),
		"num.network.threads":                              strconv.Itoa(c.NetworkThreads),
		"num.io.threads":                                   strconv.Itoa(c.IOThreads),
		"num.partitions":                                   "1",
		"offsets.topic.replication.factor":                 "1",
		"transaction.state.log.replication.factor":         "1",
		"transaction.state.log.min.isr":                    "1",
		"share.coordinator.state.topic.replication.factor": "1",
		"share.coordinator.state.topic.min.isr":            "1",
		"group.initial.rebalance.delay.ms":                 "0",
		"auto.create.topics.enable":                        "false",
		// A load generator at full speed writes 100 MB/s or more; with
		// Kafka's default retention (7 days, no size limit) that filled
		// the development machine's disk within minutes. Keep at most
		// 512 MiB per partition in 128 MiB segments, checked every 30 s.
		"log.retention.bytes":             "536870912",
		"log.segment.bytes":               "134217728",
		"log.retention.check.interval.ms": "30000",
	}
	for k, v := range c.ExtraProperties {
		props[k] = v
	}
	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	b.WriteString("# Rendered by kafkatune (internal/kafkaproc); edits are overwritten.\n")
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%s\n", k, props[k])
	}
	return b.String()
}
