package loadgen

import (
	"bytes"
	"errors"
	"flag"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func env(kv map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := kv[k]
		return v, ok
	}
}

func TestParseRejectsBadInput(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want []string // substrings of the one-line error
	}{
		{"no mode", nil, nil, []string{"missing mode", "produce, consume"}},
		{"unknown mode", []string{"bench"}, nil, []string{`unknown mode "bench"`}},
		{"unknown flag", []string{"produce", "--bogus"}, nil, []string{"-bogus"}},
		{"stray argument", []string{"consume", "extra"}, nil, []string{`"extra"`}},
		{"rate mode flag", []string{"produce", "--rate-mode", "fast"}, nil,
			[]string{`invalid --rate-mode "fast" (env RATE_MODE): allowed fixed, max, adaptive`}},
		{"rate mode env", []string{"produce"}, map[string]string{"RATE_MODE": "fast"},
			[]string{`invalid --rate-mode "fast" (env RATE_MODE)`}},
		{"rate not a number", []string{"produce", "--rate", "abc"}, nil,
			[]string{"--rate", "MESSAGE_RATE_PER_SECOND", "a number"}},
		{"rate negative", []string{"produce", "--rate=-5"}, nil,
			[]string{"--rate", "MESSAGE_RATE_PER_SECOND", "greater than 0"}},
		{"rate zero env", []string{"produce"}, map[string]string{"MESSAGE_RATE_PER_SECOND": "0"},
			[]string{"--rate", "greater than 0"}},
		{"rate NaN", []string{"produce", "--rate", "NaN"}, nil, []string{"--rate", "a number"}},
		{"rate above max in adaptive", []string{"produce", "--rate", "200", "--max-rate", "100"}, nil,
			[]string{"--rate", "--max-rate"}},
		{"max rate", []string{"produce", "--max-rate", "0"}, nil, []string{"--max-rate", "MAX_MESSAGE_RATE"}},
		{"size too small", []string{"produce", "--message-size", "10"}, nil,
			[]string{"--message-size", "MESSAGE_SIZE_BYTES", "from 29"}},
		{"size not integer", []string{"produce"}, map[string]string{"MESSAGE_SIZE_BYTES": "1k"},
			[]string{"--message-size", "an integer"}},
		{"target negative", []string{"produce", "--target-latency-ms", "-1"}, nil,
			[]string{"--target-latency-ms", "TARGET_LATENCY_MS"}},
		{"target text", []string{"produce"}, map[string]string{"TARGET_LATENCY_MS": "fast"},
			[]string{"--target-latency-ms", "a number"}},
		{"mult at 1", []string{"produce", "--rate-mult", "1"}, nil, []string{"--rate-mult", "TARGET_RATE_MULT"}},
		{"margin above 1", []string{"produce", "--rate-margin", "1.5"}, nil,
			[]string{"--rate-margin", "TARGET_RATE_MARGIN"}},
		{"skew above 1", []string{"produce", "--partition-skew", "2"}, nil,
			[]string{"--partition-skew", "PARTITION_SKEW", "from 0 to 1"}},
		{"raise below zero", []string{"produce", "--raise-below", "0"}, nil,
			[]string{"--raise-below", "TARGET_RAISE_BELOW", "greater than 0 and at most 1"}},
		{"partitioner unknown", []string{"produce", "--partitioner", "random"}, nil,
			[]string{"--partitioner", "PARTITIONER", "round-robin, sticky"}},
		{"skew with sticky", []string{"produce", "--partitioner", "sticky", "--partition-skew", "0.5"}, nil,
			[]string{"--partition-skew", "--partitioner is sticky"}},
		{"partitions zero", []string{"produce", "--partitions", "0"}, nil,
			[]string{"--partitions", "TOPIC_PARTITIONS"}},
		{"in flight zero", []string{"produce", "--max-in-flight", "0"}, nil,
			[]string{"--max-in-flight", "MAX_IN_FLIGHT"}},
		{"adjust too short", []string{"produce", "--adjust-interval", "10ms"}, nil,
			[]string{"--adjust-interval", "ADJUST_INTERVAL"}},
		{"duration text", []string{"consume", "--duration", "soon"}, nil,
			[]string{"--duration", "DURATION", "30s"}},
		{"duration negative", []string{"produce", "--duration", "-1s"}, nil, []string{"--duration"}},
		{"acks", []string{"produce", "--acks", "2", "--idempotence=false"}, nil,
			[]string{`--acks "2" (env ACKS): allowed all, 1, 0`}},
		{"idempotence without acks all", []string{"produce", "--acks", "1"}, nil,
			[]string{"--idempotence", "ENABLE_IDEMPOTENCE", "acks"}},
		{"idempotence not bool", []string{"produce"}, map[string]string{"ENABLE_IDEMPOTENCE": "maybe"},
			[]string{"--idempotence", "true or false"}},
		{"linger", []string{"produce", "--linger-ms", "-1"}, nil, []string{"--linger-ms", "LINGER_MS"}},
		{"compression", []string{"produce", "--compression", "brotli"}, nil,
			[]string{"--compression", "COMPRESSION", "zstd"}},
		{"broker without port", []string{"produce", "--broker", "localhost"}, nil,
			[]string{"--broker", "KAFKA_BROKER", "host:port"}},
		{"broker bad port", []string{"consume"}, map[string]string{"KAFKA_BROKER": "kafka:99999"},
			[]string{"--broker", "KAFKA_BROKER"}},
		{"broker empty in list", []string{"consume", "--broker", "a:1,,b:2"}, nil, []string{"--broker"}},
		{"topic", []string{"consume", "--topic", "no spaces"}, nil, []string{"--topic", "KAFKA_TOPIC"}},
		{"group empty", []string{"consume", "--group", " "}, nil, []string{"--group", "CONSUMER_GROUP_ID"}},
		{"metrics addr", []string{"consume", "--metrics-addr", "9102"}, nil,
			[]string{"--metrics-addr", "METRICS_ADDR"}},
		{"log level", []string{"consume", "--log-level", "loud"}, nil,
			[]string{"--log-level", "LOG_LEVEL", "debug, info, warn, error"}},
		{"log format", []string{"consume"}, map[string]string{"LOG_FORMAT": "xml"},
			[]string{"--log-format", "LOG_FORMAT"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			_, err := Parse(tt.args, env(tt.env), &out)
			if err == nil {
				t.Fatal("Parse succeeded, want an error")
			}
			var ue *UsageError
			if !errors.As(err, &ue) {
				t.Fatalf("error %v (%T) is not a *UsageError", err, err)
			}
			if ExitCode(err) != 2 {
				t.Errorf("ExitCode = %d, want 2", ExitCode(err))
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") {
				t.Errorf("error spans lines: %q", msg)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not contain %q", msg, w)
				}
			}
			if out.Len() != 0 {
				t.Errorf("bad input wrote usage: %q", out.String())
			}
		})
	}
}

func TestParseDefaults(t *testing.T) {
	cmd, err := Parse([]string{"produce"}, env(nil), &bytes.Buffer{})
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	want := DefaultProducerConfig()
	if cmd.Producer != want {
		t.Errorf("producer config\n got %+v\nwant %+v", cmd.Producer, want)
	}
	if cmd.MetricsAddr != ":9101" || cmd.LogLevel != slog.LevelInfo || cmd.LogFormat != "text" {
		t.Errorf("common = %q %v %q", cmd.MetricsAddr, cmd.LogLevel, cmd.LogFormat)
	}

	cmd, err = Parse([]string{"consume"}, env(nil), &bytes.Buffer{})
	if err != nil {
		t.Fatalf("Parse consume: %v", err)
	}
	if cmd.MetricsAddr != ":9102" || cmd.Consumer.Group != "kafkatune-consumer" ||
		cmd.Consumer.Duration != 0 {
		t.Errorf("consume = %q %+v", cmd.MetricsAddr, cmd.Consumer)
	}
}

func TestParseEnvAndFlags(t *testing.T) {
	e := env(map[string]string{
		"KAFKA_BROKER":            "k1:9092,k2:9093",
		"MESSAGE_RATE_PER_SECOND": "250",
		"RATE_MODE":               "fixed",
		"PARTITION_SKEW":          "0.25",
		"DURATION":                "90",
		"ADJUST_INTERVAL":         "5s",
		"ACKS":                    "1",
		"ENABLE_IDEMPOTENCE":      "false",
		"LOG_LEVEL":               "debug",
	})
	// The flag wins over its variable.
	cmd, err := Parse([]string{"produce", "--rate", "500", "--compression=zstd"}, e, &bytes.Buffer{})
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	c := cmd.Producer
	checks := []struct {
		name      string
		got, want any
	}{
		{"broker", c.Broker, "k1:9092,k2:9093"},
		{"rate (flag wins)", c.Rate, 500.0},
		{"mode", c.RateMode, RateFixed},
		{"skew", c.PartitionSkew, 0.25},
		{"duration in seconds", c.Duration, 90 * time.Second},
		{"adjust", c.AdjustInterval, 5 * time.Second},
		{"acks", c.Acks, "1"},
		{"idempotence", c.Idempotence, false},
		{"compression", c.Compression, "zstd"},
		{"log level", cmd.LogLevel, slog.LevelDebug},
	}
	for _, ck := range checks {
		if ck.got != ck.want {
			t.Errorf("%s = %v, want %v", ck.name, ck.got, ck.want)
		}
	}
}

func TestHelpListsEveryFlag(t *testing.T) {
	for _, mode := range []string{ModeProduce, ModeConsume} {
		t.Run(mode, func(t *testing.T) {
			var out bytes.Buffer
			_, err := Parse([]string{mode, "--help"}, env(nil), &out)
			if !errors.Is(err, flag.ErrHelp) {
				t.Fatalf("err = %v, want flag.ErrHelp", err)
			}
			if ExitCode(nil) != 0 {
				t.Fatal("ExitCode(nil) != 0")
			}
			o := newOptions(mode)
			if mode == ModeProduce {
				o.addProducer()
			} else {
				o.addConsumer()
			}
			help := out.String()
			o.set.FlagSet().VisitAll(func(f *flag.Flag) {
				if !strings.Contains(help, "-"+f.Name+" ") && !strings.Contains(help, "-"+f.Name+"\n") {
					t.Errorf("help does not list -%s", f.Name)
				}
				if !strings.Contains(help, "(env "+envNames[f.Name]+")") {
					t.Errorf("help does not name the variable of -%s", f.Name)
				}
				if f.DefValue != "" && !strings.Contains(help, "(default "+f.DefValue+")") {
					t.Errorf("help does not give the default of -%s (%s)", f.Name, f.DefValue)
				}
			})
		})
	}
}

func TestExitCode(t *testing.T) {
	if got := ExitCode(errors.New("broker gone")); got != 1 {
		t.Errorf("runtime error exit = %d, want 1", got)
	}
	if got := ExitCode(invalid(flagRate, "x", "a number")); got != 2 {
		t.Errorf("usage error exit = %d, want 2", got)
	}
}

func TestDefaultConfigsValidate(t *testing.T) {
	if err := DefaultProducerConfig().Validate(); err != nil {
		t.Errorf("producer defaults: %v", err)
	}
	c := DefaultConsumerConfig()
	if err := c.Validate(); err != nil {
		t.Errorf("consumer defaults: %v", err)
	}
	c.Tracker.Window = 100
	if err := c.Validate(); err == nil {
		t.Error("window not a multiple of 64 accepted")
	}
}
