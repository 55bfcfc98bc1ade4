package loadgen

import (
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kafkatune/kafkatune/internal/stamp"
)

// FuzzConsumerHandle feeds arbitrary records to the consumer's per-record
// step, as anything may be written to the topic: it must never panic, and
// every record counts either as a kafkatune message (passed on to
// OnMessage with its decoded stamp) or as foreign, never both.
func FuzzConsumerHandle(f *testing.F) {
	valid := stamp.Put(make([]byte, 64), stamp.Header{ProducerID: 3, Seq: 9, Intended: time.Now()})
	f.Add(valid, int32(0))
	f.Add(valid[:stamp.HeaderSize-1], int32(1))
	f.Add([]byte("plain text from another producer"), int32(2))
	f.Add([]byte{}, int32(-1))
	huge := bytes.Clone(valid)
	binary.BigEndian.PutUint64(huge[13:21], ^uint64(0)) // the highest sequence number
	f.Add(huge, int32(1<<30))
	f.Fuzz(func(t *testing.T, value []byte, partition int32) {
		cfg := DefaultConsumerConfig()
		cfg.Tracker.Window = 1024
		var seen []stamp.Header
		cfg.OnMessage = func(h stamp.Header, _ time.Time) { seen = append(seen, h) }
		c, err := NewConsumer(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), prometheus.NewRegistry())
		if err != nil {
			t.Fatal(err)
		}
		msg := &kafka.Message{Value: value, TopicPartition: kafka.TopicPartition{Partition: partition}}
		want, decodeErr := stamp.Decode(value)
		for range 2 { // the second time it is a duplicate
			c.handle(msg, time.Now())
		}
		c.tick(time.Now().Add(time.Hour))

		s := c.Stats()
		if decodeErr != nil {
			if s.Foreign != 2 || s.Received != 0 || len(seen) != 0 {
				t.Fatalf("record %x rejected by Decode (%v): stats %+v, OnMessage %d times; want 2 foreign",
					value, decodeErr, s, len(seen))
			}
			return
		}
		if s.Received != 2 || s.Foreign != 0 || s.Seq.Duplicates != 1 || len(seen) != 2 || seen[0] != want {
			t.Fatalf("record %x: stats %+v, OnMessage saw %v; want 2 received, 1 duplicate, header %+v",
				value, s, seen, want)
		}
	})
}

// FuzzParse feeds arbitrary flags and environment values to the loadgen
// command line: it must never panic, and it either accepts a configuration
// that validates or rejects the input with one line that makes the binary
// exit 2.
func FuzzParse(f *testing.F) {
	f.Add("produce", "--rate", "500", "RATE_MODE", "fixed")
	f.Add("produce", "--rate", "NaN", "MESSAGE_SIZE_BYTES", "1e3")
	f.Add("consume", "--duration", "1e308", "DURATION", "-9223372036854775808")
	f.Add("consume", "--group", "", "KAFKA_BROKER", "[::1]:9092")
	f.Add("produce", "--partition-skew", "-0", "ENABLE_IDEMPOTENCE", "T")
	f.Add("produce", "-h", "", "LOG_LEVEL", "WARN")
	f.Add("bench", "--metrics-addr", ":0", "METRICS_ADDR", ":65536")
	f.Add("produce", "-\n", "", "", "")         // an unknown flag holding a newline
	f.Add("consume", "---\rbad", "", "", "")    // bad flag syntax
	f.Add("produce\nx", "", "", "RATE", "\x00") // a mode holding a newline
	f.Fuzz(func(t *testing.T, mode, name, value, envName, envValue string) {
		lookup := env(map[string]string{envName: envValue})
		cmd, err := Parse([]string{mode, name, value}, lookup, io.Discard)
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		if err != nil {
			var ue *UsageError
			if !errors.As(err, &ue) || ExitCode(err) != 2 {
				t.Fatalf("error %v (%T): want a *UsageError, exit 2", err, err)
			}
			if strings.ContainsAny(err.Error(), "\r\n") {
				t.Fatalf("message spans lines: %q", err)
			}
			return
		}
		var verr error
		if cmd.Mode == ModeProduce {
			verr = cmd.Producer.Validate()
		} else {
			verr = cmd.Consumer.Validate()
		}
		if verr == nil {
			verr = ValidateListenAddr(cmd.MetricsAddr)
		}
		if verr != nil {
			t.Fatalf("accepted %q with env %s=%q, but it does not validate: %v",
				[]string{mode, name, value}, envName, envValue, verr)
		}
	})
}
