package loadgen

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/kafkatune/kafkatune/internal/envflag"
	"github.com/kafkatune/kafkatune/internal/stamp"
	"github.com/kafkatune/kafkatune/internal/telemetry"
)

// Modes of the loadgen binary.
const (
	ModeProduce = "produce"
	ModeConsume = "consume"
)

// Command is a parsed loadgen command line.
type Command struct {
	// Mode is ModeProduce or ModeConsume; only the matching config is set.
	Mode        string
	Producer    ProducerConfig
	Consumer    ConsumerConfig
	MetricsAddr string
	LogLevel    slog.Level
	LogFormat   string
}

const topUsage = `Usage: loadgen produce|consume [flags]

  produce  write stamped messages to a Kafka topic at a fixed, maximal or
           adaptive rate (metrics on :9101)
  consume  read them back, measure end-to-end latency and check sequences
           (metrics on :9102)

Run "loadgen produce --help" or "loadgen consume --help" for the flags.
`

// Parse parses the command line args (without the program name), falling
// back to the environment through lookup. After --help it writes the usage
// to out and returns flag.ErrHelp. Bad input is a *UsageError.
func Parse(args []string, lookup func(string) (string, bool), out io.Writer) (*Command, error) {
	if len(args) == 0 {
		return nil, usageErrorf("missing mode: allowed produce, consume (see loadgen --help)")
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(out, topUsage)
		return nil, flag.ErrHelp
	case ModeProduce, ModeConsume:
	default:
		return nil, usageErrorf("unknown mode %q: allowed produce, consume", args[0])
	}
	mode := args[0]
	o := newOptions(mode)
	if mode == ModeProduce {
		o.addProducer()
	} else {
		o.addConsumer()
	}
	if err := o.set.Parse(args[1:], lookup); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			o.printUsage(out)
			return nil, flag.ErrHelp
		}
		return nil, usageErrorf("%v (see loadgen %s --help)", err, mode)
	}
	if n := o.set.FlagSet().NArg(); n > 0 {
		return nil, usageErrorf("unexpected argument %q: %s takes only flags",
			o.set.FlagSet().Arg(0), mode)
	}
	return o.command(mode)
}

// rawValue holds a flag's text; conversion and checks happen after parsing
// so that every bad value, from a flag or from the environment, gets the
// same one-line error.
type rawValue struct {
	s      string
	isBool bool
}

func (v *rawValue) String() string {
	if v == nil {
		return ""
	}
	return v.s
}

func (v *rawValue) Set(s string) error { v.s = s; return nil }

func (v *rawValue) IsBoolFlag() bool { return v.isBool }

type options struct {
	set  *envflag.Set
	vals map[string]*rawValue
	err  error
}

func newOptions(mode string) *options {
	fs := flag.NewFlagSet("loadgen "+mode, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return &options{set: envflag.New(fs), vals: map[string]*rawValue{}}
}

func (o *options) add(name, def, usage string) {
	o.addValue(name, &rawValue{s: def}, usage)
}

func (o *options) addValue(name string, v *rawValue, usage string) {
	o.set.FlagSet().Var(v, name, usage)
	o.set.Bind(name, envNames[name])
	o.vals[name] = v
}

func (o *options) addCommon(defaultAddr string) {
	d := DefaultProducerConfig()
	o.add(flagBroker, d.Broker, "Kafka bootstrap `servers`, host:port[,host:port...]")
	o.add(flagTopic, d.Topic, "Kafka `topic` to write to and read from")
	o.add(flagMetricsAddr, defaultAddr, "listen `address` of the Prometheus /metrics endpoint")
	o.add(flagStatusDir, d.StatusDir,
		"status `dir`ectory holding the bridge's latency.txt (read by adaptive produce)")
	o.add(flagLogLevel, "info", "log `level`: debug, info, warn or error")
	o.add(flagLogFormat, "text", "log `format` on stderr: text or json")
}

func (o *options) addProducer() {
	d := DefaultProducerConfig()
	o.addCommon(telemetry.DefaultProducerAddr)
	o.add(flagPartitions, itoa(d.Partitions), "`number` of partitions of the topic when it has to be created")
	o.add(flagMessageSize, itoa(d.MessageSize),
		fmt.Sprintf("message value size in `bytes`, at least %d (the stamp)", stamp.HeaderSize))
	o.add(flagRateMode, string(d.RateMode), "rate `mode`: fixed (open loop), max (closed loop) or adaptive")
	o.add(flagRate, ftoa(d.Rate), "messages per second in fixed mode, start `rate` in adaptive mode")
	o.add(flagMaxRate, ftoa(d.MaxRate), "highest `rate` the adaptive mode may reach")
	o.add(flagTargetLatency, ftoa(d.TargetLatencyMs), "P99 end-to-end latency target in `ms` (adaptive)")
	o.add(flagRateMult, ftoa(d.RateMult),
		"largest `factor` the adaptive mode raises or lowers the rate by (the step shrinks near the limit)")
	o.add(flagRateMargin, ftoa(d.RateMargin),
		"`fraction` of the target rate the acked rate must reach before a raise")
	o.add(flagRaiseBelow, ftoa(d.RaiseBelow),
		"adaptive mode raises the rate while the P99 is under this `fraction` of the target; "+
			"between it and the target it holds")
	o.add(flagAdjustInterval, d.AdjustInterval.String(), "adaptive adjustment `interval`")
	o.add(flagPartitionSkew, ftoa(d.PartitionSkew),
		"`fraction` (0 to 1) of messages sent to partition 0 on top of the even spread")
	o.add(flagPartitioner, d.Partitioner,
		"`how` messages spread over partitions: round-robin (one each in turn) or sticky "+
			"(librdkafka keeps one partition for twice linger.ms, then picks another)")
	o.add(flagMaxInFlight, itoa(d.MaxInFlight), "most `messages` sent and not yet acknowledged")
	o.add(flagDuration, "0", "stop after this `duration` (0: run until SIGINT/SIGTERM)")
	o.add(flagAcks, d.Acks, "producer `acks`: all, 1 or 0")
	o.addValue(flagIdempotence, &rawValue{s: strconv.FormatBool(d.Idempotence), isBool: true},
		"idempotent producer (needs --acks all)")
	o.add(flagLingerMs, itoa(d.LingerMs), "producer linger.ms, batching delay in `ms`")
	o.add(flagCompression, d.Compression, "compression `codec`: none, gzip, snappy, lz4 or zstd")
}

func (o *options) addConsumer() {
	d := DefaultConsumerConfig()
	o.addCommon(telemetry.DefaultConsumerAddr)
	o.add(flagGroup, d.Group, "consumer `group` id (a new group starts at the earliest offset)")
	o.add(flagDuration, "0", "stop after this `duration` (0: run until SIGINT/SIGTERM)")
	o.add(flagLatencyLog, "", "`file` to append each message's receive time and latency to, in ns (empty: off)")
}

func (o *options) printUsage(out io.Writer) {
	fs := o.set.FlagSet()
	fmt.Fprintf(out, "Usage: %s [flags]\n\n", fs.Name())
	fmt.Fprint(out, "Every flag falls back to the environment variable named in its text;\n"+
		"a flag given on the command line wins.\n\nFlags:\n")
	fs.SetOutput(out)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}

// command converts the parsed text into a Command and validates it.
func (o *options) command(mode string) (*Command, error) {
	cmd := &Command{
		Mode:        mode,
		MetricsAddr: o.str(flagMetricsAddr),
		LogFormat:   o.str(flagLogFormat),
	}
	cmd.LogLevel = o.level()
	if o.err == nil {
		o.err = ValidateListenAddr(cmd.MetricsAddr)
	}
	if o.err == nil {
		o.err = oneOf(flagLogFormat, cmd.LogFormat, logFormats)
	}
	if mode == ModeProduce {
		cmd.Producer = o.producer()
		if o.err == nil {
			o.err = cmd.Producer.Validate()
		}
	} else {
		cmd.Consumer = o.consumer()
		if o.err == nil {
			o.err = cmd.Consumer.Validate()
		}
	}
	if o.err != nil {
		return nil, o.err
	}
	return cmd, nil
}

func (o *options) producer() ProducerConfig {
	c := DefaultProducerConfig()
	c.Broker = o.str(flagBroker)
	c.Topic = o.str(flagTopic)
	c.StatusDir = o.str(flagStatusDir)
	c.Partitions = o.int(flagPartitions)
	c.MessageSize = o.int(flagMessageSize)
	c.RateMode = RateMode(o.str(flagRateMode))
	c.Rate = o.float(flagRate)
	c.MaxRate = o.float(flagMaxRate)
	c.TargetLatencyMs = o.float(flagTargetLatency)
	c.RateMult = o.float(flagRateMult)
	c.RateMargin = o.float(flagRateMargin)
	c.RaiseBelow = o.float(flagRaiseBelow)
	c.AdjustInterval = o.duration(flagAdjustInterval)
	c.PartitionSkew = o.float(flagPartitionSkew)
	c.Partitioner = o.str(flagPartitioner)
	c.MaxInFlight = o.int(flagMaxInFlight)
	c.Duration = o.duration(flagDuration)
	c.Acks = o.str(flagAcks)
	c.Idempotence = o.bool(flagIdempotence)
	c.LingerMs = o.int(flagLingerMs)
	c.Compression = o.str(flagCompression)
	return c
}

func (o *options) consumer() ConsumerConfig {
	c := DefaultConsumerConfig()
	c.Broker = o.str(flagBroker)
	c.Topic = o.str(flagTopic)
	c.Group = o.str(flagGroup)
	c.Duration = o.duration(flagDuration)
	c.LatencyLog = o.str(flagLatencyLog)
	return c
}

func (o *options) str(name string) string {
	return strings.TrimSpace(o.vals[name].s)
}

// fail keeps the first conversion error.
func (o *options) fail(name, value, allowed string) {
	if o.err == nil {
		o.err = invalid(name, value, allowed)
	}
}

func (o *options) int(name string) int {
	s := o.str(name)
	n, err := strconv.Atoi(s)
	if err != nil {
		o.fail(name, s, "an integer")
	}
	return n
}

func (o *options) float(name string) float64 {
	s := o.str(name)
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		o.fail(name, s, "a number")
	}
	return f
}

// duration accepts a Go duration ("10s", "1m30s") or a plain number of
// seconds, the friendlier form in an environment file.
func (o *options) duration(name string) time.Duration {
	s := o.str(name)
	if d, err := time.ParseDuration(s); err == nil {
		return d
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsNaN(f) &&
		math.Abs(f) < math.MaxInt64/float64(time.Second) {
		return time.Duration(f * float64(time.Second))
	}
	o.fail(name, s, "a duration such as 30s or 5m, or a number of seconds")
	return 0
}

func (o *options) bool(name string) bool {
	s := o.str(name)
	b, err := strconv.ParseBool(s)
	if err != nil {
		o.fail(name, s, "true or false")
	}
	return b
}

func (o *options) level() slog.Level {
	switch s := o.str(flagLogLevel); strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug
	case "info":
		return slog.LevelInfo
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	default:
		o.fail(flagLogLevel, s, strings.Join(logLevels, ", "))
		return slog.LevelInfo
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func ftoa(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }
