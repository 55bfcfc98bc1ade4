package chaos

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
)

// Flag names; each falls back to the environment variable in envNames.
const (
	FlagRestarts     = "restarts"
	FlagRate         = "rate"
	FlagSeed         = "seed"
	FlagMinInterval  = "min-interval"
	FlagMaxInterval  = "max-interval"
	FlagCooldown     = "cooldown"
	FlagPartitions   = "partitions"
	FlagMessageSize  = "message-size"
	FlagGrace        = "grace"
	FlagDrainTimeout = "drain-timeout"
	FlagDataDir      = "data-dir"
	FlagKafkaHome    = "kafka-home"
	FlagLogLevel     = "log-level"
)

var envNames = map[string]string{
	FlagRestarts:     "CHAOS_RESTARTS",
	FlagRate:         "CHAOS_RATE",
	FlagSeed:         "CHAOS_SEED",
	FlagMinInterval:  "CHAOS_MIN_INTERVAL",
	FlagMaxInterval:  "CHAOS_MAX_INTERVAL",
	FlagCooldown:     "CHAOS_COOLDOWN",
	FlagPartitions:   "CHAOS_PARTITIONS",
	FlagMessageSize:  "CHAOS_MESSAGE_SIZE",
	FlagGrace:        "CHAOS_GRACE",
	FlagDrainTimeout: "CHAOS_DRAIN_TIMEOUT",
	FlagDataDir:      "CHAOS_DATA_DIR",
	FlagKafkaHome:    "KAFKA_HOME",
	FlagLogLevel:     "LOG_LEVEL",
}

// UsageError is a bad flag or environment value. Its message is one line
// naming the input and what is allowed; the command exits 2 on it.
type UsageError struct{ msg string }

func (e *UsageError) Error() string { return e.msg }

func invalid(name string, value any, allowed string) error {
	return &UsageError{msg: fmt.Sprintf("invalid --%s %q (env %s): allowed %s",
		name, fmt.Sprint(value), envNames[name], allowed)}
}

// Command is a parsed chaos command line.
type Command struct {
	Config   Config
	LogLevel slog.Level
}

// ParseFlags reads the command line args (without the program name),
// falling back to the environment through lookup for flags not given.
// After -help it writes the usage to out and returns flag.ErrHelp; bad
// input is a *UsageError.
func ParseFlags(args []string, lookup func(string) (string, bool), out io.Writer) (Command, error) {
	fs := flag.NewFlagSet("chaos", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	raw := defineFlags(fs)
	es := envflag.New(fs)
	for name, env := range envNames {
		es.Bind(name, env)
	}
	if err := es.Parse(args, lookup); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printUsage(fs, out)
			return Command{}, flag.ErrHelp
		}
		return Command{}, &UsageError{msg: err.Error() + " (see chaos -help)"}
	}
	if fs.NArg() > 0 {
		return Command{}, &UsageError{msg: fmt.Sprintf(
			"unexpected argument %q: chaos takes only flags", fs.Arg(0))}
	}
	cmd, err := convert(raw)
	if err != nil {
		return Command{}, err
	}
	return cmd, cmd.Config.Validate()
}

func defineFlags(fs *flag.FlagSet) map[string]*string {
	d := DefaultConfig()
	raw := map[string]*string{}
	str := func(name, def, usage string) { raw[name] = fs.String(name, def, usage) }
	str(FlagRestarts, strconv.Itoa(d.Restarts), "`number` of broker restarts")
	str(FlagRate, ftoa(d.Rate), "producer `rate` in messages per second (fixed)")
	str(FlagSeed, strconv.FormatInt(d.Seed, 10), "`seed` of the random restart moments")
	str(FlagMinInterval, d.MinInterval.String(), "shortest wait before a restart (`duration`)")
	str(FlagMaxInterval, d.MaxInterval.String(), "longest wait before a restart (`duration`)")
	str(FlagCooldown, d.Cooldown.String(), "load after the last restart (`duration`)")
	str(FlagPartitions, strconv.Itoa(d.Partitions), "`number` of partitions of the topic")
	str(FlagMessageSize, strconv.Itoa(d.MessageSize), "message size in `bytes`")
	str(FlagGrace, d.Grace.String(), "`duration` after which an unseen sequence number is a gap")
	str(FlagDrainTimeout, d.DrainTimeout.String(),
		"longest wait for the consumer to read every acknowledged message (`duration`)")
	str(FlagDataDir, "", "broker data `dir`ectory (empty: a temporary one)")
	str(FlagKafkaHome, "", "Kafka distribution `dir`ectory (empty: jars from Maven Central)")
	str(FlagLogLevel, "info", "log `level` on stderr: debug, info, warn or error")
	return raw
}

func printUsage(fs *flag.FlagSet, out io.Writer) {
	fmt.Fprint(out, "Usage: chaos [flags]\n\n"+
		"Restarts a real Kafka broker under a fixed-rate load and prints one line:\n"+
		"acked, consumed, lost, duplicates and the worst P99. Exits 1 when an\n"+
		"acknowledged message was lost.\n\nFlags:\n")
	fs.SetOutput(out)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}

// convert turns the raw flag text into a Command, reporting the first value
// that does not parse.
func convert(raw map[string]*string) (Command, error) {
	c := DefaultConfig()
	c.DataDir = strings.TrimSpace(*raw[FlagDataDir])
	c.KafkaHome = strings.TrimSpace(*raw[FlagKafkaHome])
	var err error
	set := func(e error) {
		if err == nil {
			err = e
		}
	}
	get := func(name string) string { return strings.TrimSpace(*raw[name]) }
	c.Restarts = parseInt(FlagRestarts, get(FlagRestarts), set)
	c.Partitions = parseInt(FlagPartitions, get(FlagPartitions), set)
	c.MessageSize = parseInt(FlagMessageSize, get(FlagMessageSize), set)
	c.Seed = parseSeed(get(FlagSeed), set)
	c.Rate = parseFloat(FlagRate, get(FlagRate), set)
	c.MinInterval = parseDuration(FlagMinInterval, get(FlagMinInterval), set)
	c.MaxInterval = parseDuration(FlagMaxInterval, get(FlagMaxInterval), set)
	c.Cooldown = parseDuration(FlagCooldown, get(FlagCooldown), set)
	c.Grace = parseDuration(FlagGrace, get(FlagGrace), set)
	c.DrainTimeout = parseDuration(FlagDrainTimeout, get(FlagDrainTimeout), set)
	level := parseLevel(get(FlagLogLevel), set)
	if err != nil {
		return Command{}, err
	}
	return Command{Config: c, LogLevel: level}, nil
}

func parseInt(name, s string, fail func(error)) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		fail(invalid(name, s, "an integer"))
	}
	return n
}

func parseSeed(s string, fail func(error)) int64 {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		fail(invalid(FlagSeed, s, "a 64-bit integer"))
	}
	return n
}

func parseFloat(name, s string, fail func(error)) float64 {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		fail(invalid(name, s, "a number"))
	}
	return f
}

func parseDuration(name, s string, fail func(error)) time.Duration {
	d, err := time.ParseDuration(s)
	if err != nil {
		fail(invalid(name, s, "a duration such as 10s or 1m30s"))
	}
	return d
}

func parseLevel(s string, fail func(error)) slog.Level {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil || strings.ContainsAny(s, "+-") {
		fail(invalid(FlagLogLevel, s, "debug, info, warn, error"))
		return slog.LevelInfo
	}
	return l
}

func ftoa(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }
