// Package brokercfg reads and changes a Kafka cluster's thread pools
// (num.network.threads, num.io.threads) at runtime through the Admin API,
// for any bootstrap address: the local broker of `make local` and the broker
// in Kubernetes alike.
//
// Kafka accepts a dynamic change of either pool only if the new value is at
// least half and at most double the current one, so SetThreads walks there
// in steps, waiting after each until every broker reports the step as its
// effective value. Changes are made with IncrementalAlterConfigs (SET),
// which leaves every other dynamic setting alone, on each broker's own
// resource: librdkafka refuses the cluster-wide default resource (empty
// name). A per-broker dynamic value outlives restarts and wins over
// server.properties, so a restarted broker keeps what was set here.
package brokercfg

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

// Broker properties of the two pools.
const (
	PropNetworkThreads = "num.network.threads"
	PropIOThreads      = "num.io.threads"
)

// Defaults of Config.
const (
	DefaultCallTimeout  = 10 * time.Second
	DefaultApplyTimeout = 30 * time.Second
	pollInterval        = 200 * time.Millisecond
)

// Threads is a value for each pool.
type Threads struct {
	Network int
	IO      int
}

// String renders t for logs and errors.
func (t Threads) String() string {
	return fmt.Sprintf("network_threads=%d io_threads=%d", t.Network, t.IO)
}

// Config configures a Client.
type Config struct {
	// Bootstrap is the brokers' address list (host:port,...). Required.
	Bootstrap string
	// CallTimeout bounds each Admin API call.
	CallTimeout time.Duration
	// ApplyTimeout bounds the wait for one step to become effective.
	ApplyTimeout time.Duration
}

// Client talks to one cluster. Close it when done.
type Client struct {
	admin  *kafka.AdminClient
	cfg    Config
	logger *slog.Logger
}

// New returns a Client for cfg.Bootstrap.
func New(logger *slog.Logger, cfg Config) (*Client, error) {
	if cfg.Bootstrap == "" {
		return nil, errors.New("brokercfg: bootstrap address required")
	}
	if cfg.CallTimeout <= 0 {
		cfg.CallTimeout = DefaultCallTimeout
	}
	if cfg.ApplyTimeout <= 0 {
		cfg.ApplyTimeout = DefaultApplyTimeout
	}
	admin, err := kafka.NewAdminClient(&kafka.ConfigMap{
		"bootstrap.servers": cfg.Bootstrap,
		// Failures reach the caller as errors. librdkafka would also print
		// every refused connection to stderr (an admin client cannot route
		// its log elsewhere), which a broker restart makes a flood.
		"log_level":            2,
		"log.connection.close": false,
	})
	if err != nil {
		return nil, fmt.Errorf("kafka admin client: %w", err)
	}
	return &Client{admin: admin, cfg: cfg, logger: logger}, nil
}

// Close releases the client.
func (c *Client) Close() { c.admin.Close() }

// Brokers returns the ids of the brokers in the cluster. It doubles as a
// readiness check: it fails until a broker answers.
func (c *Client) Brokers(ctx context.Context) ([]int32, error) {
	res, err := withRetry(ctx, func(ctx context.Context) (kafka.DescribeClusterResult, error) {
		ctx, cancel := context.WithTimeout(ctx, c.cfg.CallTimeout)
		defer cancel()
		return c.admin.DescribeCluster(ctx)
	})
	if err != nil {
		return nil, fmt.Errorf("describe cluster: %w", err)
	}
	if len(res.Nodes) == 0 {
		return nil, errors.New("describe cluster: no brokers")
	}
	ids := make([]int32, len(res.Nodes))
	for i, n := range res.Nodes {
		ids[i] = int32(n.ID)
	}
	return ids, nil
}

// effective is one broker's view of the two pools.
type effective struct {
	broker  int32
	threads Threads
	sources string // for error messages
}

// describe reads the effective values of both pools on every broker.
func (c *Client) describe(ctx context.Context) ([]effective, error) {
	ids, err := c.Brokers(ctx)
	if err != nil {
		return nil, err
	}
	res := make([]kafka.ConfigResource, len(ids))
	for i, id := range ids {
		res[i] = kafka.ConfigResource{Type: kafka.ResourceBroker, Name: strconv.Itoa(int(id))}
	}
	results, err := withRetry(ctx, func(ctx context.Context) ([]kafka.ConfigResourceResult, error) {
		ctx, cancel := context.WithTimeout(ctx, c.cfg.CallTimeout)
		defer cancel()
		return c.admin.DescribeConfigs(ctx, res)
	})
	if err != nil {
		return nil, fmt.Errorf("describe broker configs: %w", err)
	}
	out := make([]effective, 0, len(results))
	for _, r := range results {
		e, err := parseEffective(r)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

func parseEffective(r kafka.ConfigResourceResult) (effective, error) {
	if r.Error.Code() != kafka.ErrNoError {
		return effective{}, fmt.Errorf("describe configs of broker %s: %w", r.Name, r.Error)
	}
	id, err := strconv.ParseInt(r.Name, 10, 32)
	if err != nil {
		return effective{}, fmt.Errorf("describe configs: broker name %q: %w", r.Name, err)
	}
	e := effective{broker: int32(id)}
	for _, p := range []struct {
		name string
		dst  *int
	}{{PropNetworkThreads, &e.threads.Network}, {PropIOThreads, &e.threads.IO}} {
		entry, ok := r.Config[p.name]
		if !ok {
			return effective{}, fmt.Errorf("broker %s does not report %s", r.Name, p.name)
		}
		v, err := strconv.Atoi(entry.Value)
		if err != nil {
			return effective{}, fmt.Errorf("broker %s: %s=%q: %w", r.Name, p.name, entry.Value, err)
		}
		*p.dst = v
		e.sources += fmt.Sprintf(" %s=%d (%s)", p.name, v, entry.Source)
	}
	return e, nil
}

// Threads returns the effective thread counts. When the brokers disagree it
// returns an error naming each broker's values.
func (c *Client) Threads(ctx context.Context) (Threads, error) {
	all, err := c.describe(ctx)
	if err != nil {
		return Threads{}, err
	}
	for _, e := range all[1:] {
		if e.threads != all[0].threads {
			return Threads{}, fmt.Errorf("brokers disagree: broker %d:%s; broker %d:%s",
				all[0].broker, all[0].sources, e.broker, e.sources)
		}
	}
	return all[0].threads, nil
}

// SetThreads changes both pools to want, in steps that at most double or
// halve each, and returns once every broker reports want as effective. On
// error the pools may be at an intermediate step; Threads says where.
func (c *Client) SetThreads(ctx context.Context, want Threads) error {
	if want.Network < 1 || want.IO < 1 {
		return fmt.Errorf("set threads %s: each pool needs at least 1 thread", want)
	}
	cur, err := c.Threads(ctx)
	if err != nil {
		return err
	}
	for cur != want {
		next := Threads{Network: Step(cur.Network, want.Network), IO: Step(cur.IO, want.IO)}
		c.logger.Info("changing broker threads", "from", cur.String(), "to", next.String(),
			"goal", want.String())
		if err := c.alter(ctx, cur, next); err != nil {
			return err
		}
		if err := c.awaitEffective(ctx, next); err != nil {
			return err
		}
		cur = next
	}
	return nil
}

// Step returns the value closest to want that Kafka accepts as a dynamic
// change from cur: at least cur/2 and at most 2*cur.
func Step(cur, want int) int {
	switch {
	case want > 2*cur:
		return 2 * cur
	case want < cur/2:
		return max(cur/2, 1)
	default:
		return want
	}
}

// alter sets the pools that differ between cur and next on every broker.
func (c *Client) alter(ctx context.Context, cur, next Threads) error {
	ids, err := c.Brokers(ctx)
	if err != nil {
		return err
	}
	var entries []kafka.ConfigEntry
	if next.Network != cur.Network {
		entries = append(entries, setEntry(PropNetworkThreads, next.Network))
	}
	if next.IO != cur.IO {
		entries = append(entries, setEntry(PropIOThreads, next.IO))
	}
	res := make([]kafka.ConfigResource, len(ids))
	for i, id := range ids {
		res[i] = kafka.ConfigResource{
			Type: kafka.ResourceBroker, Name: strconv.Itoa(int(id)), Config: entries,
		}
	}
	results, err := withRetry(ctx, func(ctx context.Context) ([]kafka.ConfigResourceResult, error) {
		ctx, cancel := context.WithTimeout(ctx, c.cfg.CallTimeout)
		defer cancel()
		return c.admin.IncrementalAlterConfigs(ctx, res)
	})
	if err != nil {
		return fmt.Errorf("alter broker threads to %s: %w", next, err)
	}
	for _, r := range results {
		if r.Error.Code() != kafka.ErrNoError {
			return fmt.Errorf("alter threads of broker %s to %s: %w", r.Name, next, r.Error)
		}
	}
	return nil
}

func setEntry(name string, v int) kafka.ConfigEntry {
	return kafka.ConfigEntry{
		Name: name, Value: strconv.Itoa(v),
		IncrementalOperation: kafka.AlterConfigOpTypeSet,
	}
}

// awaitEffective polls until every broker reports want, or fails after
// ApplyTimeout with what the brokers last reported.
func (c *Client) awaitEffective(ctx context.Context, want Threads) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.ApplyTimeout)
	defer cancel()
	var last string
	for {
		all, err := c.describe(ctx)
		if err == nil {
			last = ""
			ok := true
			for _, e := range all {
				ok = ok && e.threads == want
				last += fmt.Sprintf("; broker %d:%s", e.broker, e.sources)
			}
			if ok {
				return nil
			}
		} else {
			last = "; " + err.Error()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("broker threads did not become %s within %s%s",
				want, c.cfg.ApplyTimeout, last)
		case <-time.After(pollInterval):
		}
	}
}
