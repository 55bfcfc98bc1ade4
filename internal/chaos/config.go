// Package chaos restarts a real Kafka broker again and again under a
// fixed-rate load and checks that nothing the broker acknowledged was lost:
// the check behind `make chaos`. It runs the real producer and consumer of
// internal/loadgen in process against a broker of internal/kafkaproc, so it
// exercises exactly the code the load generators run.
package chaos

import (
	"fmt"
	"math"
	"time"

	"github.com/kafkatune/kafkatune/internal/loadgen"
)

// Bounds of the settings Validate accepts.
const (
	maxRestarts    = 1000
	maxRate        = 100_000.0
	maxPartitions  = 100
	maxMessageSize = 1_000_000
	minMessageSize = 29 // stamp.HeaderSize
)

// Config describes one chaos run. DefaultConfig gives the defaults of
// `make chaos`.
type Config struct {
	// Restarts is how many times the broker is restarted.
	Restarts int
	// Rate is the producer's fixed rate in messages per second.
	Rate float64
	// Seed drives the restart moments; the same seed gives the same
	// schedule.
	Seed int64
	// MinInterval and MaxInterval bound the random wait before each
	// restart, counted from the moment the broker was ready again.
	MinInterval time.Duration
	MaxInterval time.Duration
	// Cooldown is how long the load runs after the last restart before
	// the producer stops.
	Cooldown time.Duration
	// Partitions of the topic, MessageSize of every message in bytes.
	Partitions  int
	MessageSize int
	// Grace is the consumer's sequence tracker grace: how long an unseen
	// number may stay outstanding before it is declared a gap. The default
	// is the consumer's own, longer than a restart takes; a grace shorter
	// than the outage declares gaps that then arrive late.
	Grace time.Duration
	// DrainTimeout bounds the wait, after the producer stopped, for the
	// consumer to read every acknowledged message.
	DrainTimeout time.Duration
	// DataDir is the broker's data directory, kept across restarts; empty
	// uses a temporary directory removed at the end.
	DataDir string
	// KafkaHome is a Kafka distribution to run; empty uses $KAFKA_HOME or
	// the jars kafkaproc fetches from Maven Central.
	KafkaHome string
}

// DefaultConfig returns the settings of `make chaos`: 5 restarts at 500
// messages per second, 5 to 15 s apart.
func DefaultConfig() Config {
	return Config{
		Restarts:     5,
		Rate:         500,
		Seed:         1,
		MinInterval:  5 * time.Second,
		MaxInterval:  15 * time.Second,
		Cooldown:     10 * time.Second,
		Partitions:   3,
		MessageSize:  256,
		Grace:        loadgen.DefaultTrackerConfig().Grace,
		DrainTimeout: 2 * time.Minute,
	}
}

// Validate reports the first bad setting as a *UsageError naming its flag
// and environment variable.
func (c Config) Validate() error {
	checks := []func() error{
		func() error { return intIn(FlagRestarts, c.Restarts, 0, maxRestarts) },
		func() error { return rateIn(c.Rate) },
		func() error { return durationMin(FlagMinInterval, c.MinInterval, time.Second) },
		c.validateMaxInterval,
		func() error { return durationMin(FlagCooldown, c.Cooldown, time.Second) },
		func() error { return intIn(FlagPartitions, c.Partitions, 1, maxPartitions) },
		func() error { return intIn(FlagMessageSize, c.MessageSize, minMessageSize, maxMessageSize) },
		func() error { return durationMin(FlagGrace, c.Grace, time.Second) },
		func() error { return durationMin(FlagDrainTimeout, c.DrainTimeout, time.Second) },
	}
	for _, check := range checks {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

func (c Config) validateMaxInterval() error {
	if c.MaxInterval < c.MinInterval {
		return invalid(FlagMaxInterval, c.MaxInterval, fmt.Sprintf(
			"a duration of at least --%s (%s)", FlagMinInterval, c.MinInterval))
	}
	return nil
}

func intIn(name string, v, lo, hi int) error {
	if v < lo || v > hi {
		return invalid(name, v, fmt.Sprintf("an integer from %d to %d", lo, hi))
	}
	return nil
}

func rateIn(r float64) error {
	if math.IsNaN(r) || r <= 0 || r > maxRate {
		return invalid(FlagRate, r, fmt.Sprintf("a number greater than 0 and at most %g", maxRate))
	}
	return nil
}

func durationMin(name string, v, lo time.Duration) error {
	if v < lo {
		return invalid(name, v, fmt.Sprintf("a duration of at least %s, such as 10s", lo))
	}
	return nil
}
