package perfbench

import (
	"context"
	"fmt"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

// adminTimeout bounds one Admin API call.
const adminTimeout = 30 * time.Second

// admin creates and deletes the benchmark's topics and watches consumer
// groups, through the Admin API.
type admin struct {
	c *kafka.AdminClient
}

func newAdmin(bootstrap string) (*admin, error) {
	c, err := kafka.NewAdminClient(&kafka.ConfigMap{"bootstrap.servers": bootstrap})
	if err != nil {
		return nil, fmt.Errorf("create admin client: %w", err)
	}
	return &admin{c: c}, nil
}

func (a *admin) close() { a.c.Close() }

// createTopic creates topic with the given partitions, replication 1.
func (a *admin) createTopic(ctx context.Context, topic string, partitions int) error {
	ctx, cancel := context.WithTimeout(ctx, adminTimeout)
	defer cancel()
	res, err := a.c.CreateTopics(ctx, []kafka.TopicSpecification{{
		Topic: topic, NumPartitions: partitions, ReplicationFactor: 1,
	}}, kafka.SetAdminOperationTimeout(adminTimeout-time.Second))
	if err != nil {
		return fmt.Errorf("create topic %s: %w", topic, err)
	}
	for _, r := range res {
		if r.Error.Code() != kafka.ErrNoError {
			return fmt.Errorf("create topic %s: %w", topic, r.Error)
		}
	}
	return nil
}

// deleteTopic deletes topic, so that the runs do not fill the disk.
func (a *admin) deleteTopic(ctx context.Context, topic string) error {
	ctx, cancel := context.WithTimeout(ctx, adminTimeout)
	defer cancel()
	res, err := a.c.DeleteTopics(ctx, []string{topic},
		kafka.SetAdminOperationTimeout(adminTimeout-time.Second))
	if err != nil {
		return fmt.Errorf("delete topic %s: %w", topic, err)
	}
	for _, r := range res {
		if r.Error.Code() != kafka.ErrNoError {
			return fmt.Errorf("delete topic %s: %w", topic, r.Error)
		}
	}
	return nil
}

// waitGroupAssigned waits until group is stable and its members hold all
// partitions partitions of its topic.
func (a *admin) waitGroupAssigned(ctx context.Context, group string, partitions int) error {
	ctx, cancel := context.WithTimeout(ctx, adminTimeout)
	defer cancel()
	var last string
	for {
		res, err := a.c.DescribeConsumerGroups(ctx, []string{group})
		if err == nil && len(res.ConsumerGroupDescriptions) == 1 {
			d := res.ConsumerGroupDescriptions[0]
			n := 0
			for _, m := range d.Members {
				n += len(m.Assignment.TopicPartitions)
			}
			if d.State == kafka.ConsumerGroupStateStable && n == partitions {
				return nil
			}
			last = fmt.Sprintf("state %s, %d of %d partitions assigned", d.State, n, partitions)
		} else if err != nil {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("consumer group %s not assigned (%s): %w", group, last, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}
