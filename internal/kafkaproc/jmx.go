package kafkaproc

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/kafkatune/kafkatune/internal/telemetry"
)

// RunningNetworkThreads counts the network processor threads the running
// broker has, from the JMX exporter (one IdlePercent series per
// processor). Unlike DescribeConfigs, which reports the configured value,
// this is what the broker actually runs.
func (b *Broker) RunningNetworkThreads(ctx context.Context) (int, error) {
	addr := b.JMXAddr()
	if addr == "" {
		return 0, errors.New("running network threads: JMX exporter disabled")
	}
	return countSeries(ctx, "http://"+addr+"/metrics", telemetry.BrokerNetworkProcessorIdle)
}

// countSeries scrapes url and counts the samples of metric name.
func countSeries(ctx context.Context, url, name string) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, fmt.Errorf("scrape %s: %w", url, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("scrape %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("scrape %s: status %s", url, resp.Status)
	}
	n := 0
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, name+"{") || strings.HasPrefix(line, name+" ") {
			n++
		}
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("scrape %s: %w", url, err)
	}
	return n, nil
}
