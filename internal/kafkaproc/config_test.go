package kafkaproc

import (
	"strings"
	"testing"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(*Config)
		wantErr string // "" for valid
	}{
		{"defaults", func(*Config) {}, ""},
		{"no data dir", func(c *Config) { c.DataDir = "" }, "data dir"},
		{"heap too small", func(c *Config) { c.HeapMB = 32 }, "heap 32 MiB"},
		{"heap too large", func(c *Config) { c.HeapMB = MaxHeapMB + 1 }, "heap"},
		{"network threads", func(c *Config) { c.NetworkThreads = -1 }, "network threads -1"},
		{"io threads", func(c *Config) { c.IOThreads = MaxThreads + 1 }, "io threads"},
		{"port range", func(c *Config) { c.BrokerPort = 70000 }, "broker port 70000"},
		{"port clash", func(c *Config) { c.BrokerPort, c.ControllerPort = 9092, 9092 }, "already used"},
		{"jmx disabled", func(c *Config) { c.JMXPort = JMXDisabled }, ""},
		{"jmx negative", func(c *Config) { c.JMXPort = -2 }, "jmx port -2"},
		{"managed extra", func(c *Config) {
			c.ExtraProperties = map[string]string{"listeners": "x"}
		}, "extra property listeners"},
		{"free extra", func(c *Config) {
			c.ExtraProperties = map[string]string{"log.retention.ms": "60000"}
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Config{DataDir: "/tmp/x"}
			tt.mutate(&c)
			err := c.Validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Validate() = %v, want nil", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("Validate() = %v, want error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestServerProperties(t *testing.T) {
	c := Config{
		DataDir: "/data", NetworkThreads: 3, IOThreads: 5,
		BrokerPort: 19092, ControllerPort: 19095,
		ExtraProperties: map[string]string{"log.retention.ms": "60000"},
	}.withDefaults()
	got := c.serverProperties()
	for _, want := range []string{
		"listeners=PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19095\n",
		"advertised.listeners=PLAINTEXT://127.0.0.1:19092\n",
		"controller.quorum.voters=1@127.0.0.1:19095\n",
		"process.roles=broker,controller\n",
		"node.id=1\n",
		"log.dirs=/data/kafka\n",
		"num.network.threads=3\n",
		"num.io.threads=5\n",
		"offsets.topic.replication.factor=1\n",
		"group.initial.rebalance.delay.ms=0\n",
		"log.retention.ms=60000\n",
		"log.retention.bytes=536870912\n",
		"log.segment.bytes=134217728\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("server.properties lacks %q:\n%s", want, got)
		}
	}
}

func TestInheritKeepsPortsAndData(t *testing.T) {
	old := Config{DataDir: "/d", BrokerPort: 1, ControllerPort: 2, JMXPort: 3}
	got := inherit(Config{HeapMB: 512}, old)
	if got.DataDir != "/d" || got.BrokerPort != 1 || got.ControllerPort != 2 || got.JMXPort != 3 {
		t.Fatalf("inherit = %+v, want data dir and ports of %+v", got, old)
	}
	got = inherit(Config{BrokerPort: 7, JMXPort: JMXDisabled}, old)
	if got.BrokerPort != 7 || got.JMXPort != JMXDisabled {
		t.Fatalf("inherit overrode explicit ports: %+v", got)
	}
}
