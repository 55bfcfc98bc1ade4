package kafkaproc_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"github.com/kafkatune/kafkatune/internal/brokercfg"
	"github.com/kafkatune/kafkatune/internal/kafkaproc"
	"github.com/kafkatune/kafkatune/internal/kafkaproc/kafkatest"
	"github.com/kafkatune/kafkatune/internal/telemetry"
	"github.com/kafkatune/kafkatune/internal/testlog"
)

// TestBrokerLifecycle runs a real broker through start, a live thread
// change, a restart with a new heap that keeps the data, and stop.
func TestBrokerLifecycle(t *testing.T) {
	b := kafkatest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	if heap, err := b.RunningHeapMB(); err != nil || heap != kafkaproc.DefaultHeapMB {
		t.Fatalf("RunningHeapMB() = %d, %v; want %d", heap, err, kafkaproc.DefaultHeapMB)
	}
	logBytes, err := os.ReadFile(b.Config().ServerLog())
	if err != nil || !strings.Contains(string(logBytes), "Kafka Server started") {
		t.Fatalf("server.log at %s lacks the start line (err %v)", b.Config().ServerLog(), err)
	}
	createTopic(ctx, t, b.Bootstrap(), "kept-across-restarts")
	assertJMXMetrics(ctx, t, b.JMXAddr(), telemetry.BrokerMetrics())
	assertNetworkThreads(ctx, t, b, kafkaproc.DefaultNetworkThreads)

	client := newClient(t, b.Bootstrap())
	want := brokercfg.Threads{Network: 4, IO: 8}
	if err := client.SetThreads(ctx, want); err != nil {
		t.Fatalf("SetThreads(%s): %v", want, err)
	}
	if got, err := client.Threads(ctx); err != nil || got != want {
		t.Fatalf("Threads() after set = %s, %v; want %s", got, err, want)
	}
	assertNetworkThreads(ctx, t, b, want.Network)

	bootstrap, pid := b.Bootstrap(), b.PID()
	err = b.Restart(ctx, kafkaproc.Config{HeapMB: 384, NetworkThreads: 4, IOThreads: 8})
	if err != nil {
		t.Fatalf("Restart: %v", err)
	}
	if b.PID() == pid || b.Bootstrap() != bootstrap {
		t.Fatalf("after restart: pid %d (was %d), bootstrap %s (was %s); want a new pid, same address",
			b.PID(), pid, b.Bootstrap(), bootstrap)
	}
	if heap, err := b.RunningHeapMB(); err != nil || heap != 384 {
		t.Fatalf("RunningHeapMB() after restart = %d, %v; want 384", heap, err)
	}
	if got, err := client.Threads(ctx); err != nil || got != want {
		t.Fatalf("Threads() after restart = %s, %v; want %s", got, err, want)
	}
	assertNetworkThreads(ctx, t, b, want.Network)
	assertTopicExists(ctx, t, b.Bootstrap(), "kept-across-restarts")

	select {
	case <-b.Done():
		t.Fatal("Done closed by a restart")
	default:
	}
	oldPID := b.PID()
	if err := b.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	<-b.Done()
	if b.Err() != nil {
		t.Fatalf("Err() after Stop = %v, want nil", b.Err())
	}
	if err := syscall.Kill(oldPID, 0); !errors.Is(err, syscall.ESRCH) {
		t.Fatalf("JVM pid %d still exists after Stop (kill 0: %v)", oldPID, err)
	}
	if err := b.Restart(ctx, kafkaproc.Config{}); !errors.Is(err, kafkaproc.ErrStopped) {
		t.Fatalf("Restart after Stop = %v, want ErrStopped", err)
	}
}

// TestUnexpectedExit checks that a supervisor sees a broker that dies.
func TestUnexpectedExit(t *testing.T) {
	b := kafkatest.Start(t, func(c *kafkaproc.Config) { c.JMXPort = kafkaproc.JMXDisabled })
	if err := syscall.Kill(b.PID(), syscall.SIGKILL); err != nil {
		t.Fatalf("kill broker: %v", err)
	}
	select {
	case <-b.Done():
	case <-time.After(time.Minute):
		t.Fatal("Done not closed after the JVM was killed")
	}
	if err := b.Err(); err == nil || !strings.Contains(err.Error(), "exited unexpectedly") {
		t.Fatalf("Err() = %v, want an unexpected exit", err)
	}
}

// TestStartFailsClearly checks that a bad setting fails before any JVM runs
// and that a JVM that cannot start is reported with its log.
func TestStartFailsClearly(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	_, err := kafkaproc.Start(ctx, testlog.New(t), kafkaproc.Config{DataDir: t.TempDir(), HeapMB: 1})
	if err == nil || !strings.Contains(err.Error(), "heap 1 MiB") {
		t.Fatalf("Start with a 1 MiB heap = %v, want a heap error", err)
	}

	// A port held by another listener makes the broker exit at start-up.
	busy, err := kafkaListen(t)
	if err != nil {
		t.Fatal(err)
	}
	_, err = kafkaproc.Start(ctx, testlog.New(t), kafkaproc.Config{
		DataDir: t.TempDir(), BrokerPort: busy, JMXPort: kafkaproc.JMXDisabled,
	})
	if err == nil || !strings.Contains(err.Error(), "server.log") {
		t.Fatalf("Start on a busy port = %v, want a start-up error pointing at server.log", err)
	}
}

// assertNetworkThreads waits until the running broker has want network
// processors.
func assertNetworkThreads(ctx context.Context, t *testing.T, b *kafkaproc.Broker, want int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		got, err := b.RunningNetworkThreads(ctx)
		if err == nil && got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("RunningNetworkThreads() = %d, %v; want %d", got, err, want)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func newClient(t *testing.T, bootstrap string) *brokercfg.Client {
	t.Helper()
	c, err := brokercfg.New(testlog.New(t), brokercfg.Config{Bootstrap: bootstrap})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func createTopic(ctx context.Context, t *testing.T, bootstrap, topic string) {
	t.Helper()
	admin := newAdmin(t, bootstrap)
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	res, err := admin.CreateTopics(ctx, []kafka.TopicSpecification{
		{Topic: topic, NumPartitions: 1, ReplicationFactor: 1},
	})
	if err != nil {
		t.Fatalf("create topic: %v", err)
	}
	for _, r := range res {
		if r.Error.Code() != kafka.ErrNoError {
			t.Fatalf("create topic %s: %v", r.Topic, r.Error)
		}
	}
}

func assertTopicExists(ctx context.Context, t *testing.T, bootstrap, topic string) {
	t.Helper()
	admin := newAdmin(t, bootstrap)
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	res, err := admin.DescribeTopics(ctx, kafka.NewTopicCollectionOfTopicNames([]string{topic}))
	if err != nil {
		t.Fatalf("describe topic: %v", err)
	}
	if len(res.TopicDescriptions) != 1 || res.TopicDescriptions[0].Error.Code() != kafka.ErrNoError {
		t.Fatalf("topic %s not found after restart: %+v", topic, res.TopicDescriptions)
	}
}

func newAdmin(t *testing.T, bootstrap string) *kafka.AdminClient {
	t.Helper()
	admin, err := kafka.NewAdminClient(&kafka.ConfigMap{
		"bootstrap.servers": bootstrap, "log_level": 2,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(admin.Close)
	return admin
}

// assertJMXMetrics scrapes the JMX exporter and checks that every name in
// names is exposed.
func assertJMXMetrics(ctx context.Context, t *testing.T, addr string, names []string) {
	t.Helper()
	if addr == "" {
		t.Fatal("JMX exporter disabled")
	}
	text := scrape(ctx, t, addr)
	for _, n := range append(names, telemetry.JVMMemoryMax, telemetry.JVMGCSeconds+"_count") {
		if !strings.Contains(text, "\n"+n+"{") && !strings.Contains(text, "\n"+n+" ") {
			t.Errorf("JMX exporter does not expose %s", n)
		}
	}
	heapMax := `jvm_memory_max_bytes{area="heap"} 2.68435456E8`
	if !strings.Contains(text, heapMax) {
		t.Errorf("JMX exporter lacks %q (a 256 MiB heap)", heapMax)
	}
}

// scrape returns the JMX exporter's /metrics text.
func scrape(ctx context.Context, t *testing.T, addr string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("scrape JMX exporter: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read JMX exporter: %v", err)
	}
	return string(body)
}

func kafkaListen(t *testing.T) (int, error) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	t.Cleanup(func() { _ = l.Close() })
	return l.Addr().(*net.TCPAddr).Port, nil
}
