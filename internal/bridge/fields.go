package bridge

import (
	"github.com/kafkatune/kafkatune/internal/status"
	"github.com/kafkatune/kafkatune/internal/telemetry"
)

// secondsToMs converts the latency queries' seconds to the snapshot's
// milliseconds.
const secondsToMs = 1000

// snapshotField says where a query's answer goes in the snapshot and by
// what it is multiplied on the way.
type snapshotField struct {
	field func(*status.Snapshot) **float64
	scale float64
}

// snapshotFields maps every query of telemetry.BridgeQueries to its field;
// a test checks that none is missing.
var snapshotFields = map[string]snapshotField{
	telemetry.QueryP50: {func(s *status.Snapshot) **float64 { return &s.P50LatencyMs }, secondsToMs},
	telemetry.QueryP95: {func(s *status.Snapshot) **float64 { return &s.P95LatencyMs }, secondsToMs},
	telemetry.QueryP99: {func(s *status.Snapshot) **float64 { return &s.P99LatencyMs }, secondsToMs},
	telemetry.QueryProduceP99: {
		func(s *status.Snapshot) **float64 { return &s.ProduceP99Ms }, secondsToMs},
	telemetry.QueryProducerTgt: {
		func(s *status.Snapshot) **float64 { return &s.ProducerTargetRate }, 1},
	telemetry.QueryProducerRate: {
		func(s *status.Snapshot) **float64 { return &s.ProducerActualRate }, 1},
	telemetry.QueryConsumerRate: {
		func(s *status.Snapshot) **float64 { return &s.ConsumerActualRate }, 1},
	telemetry.QueryErrorRate: {
		func(s *status.Snapshot) **float64 { return &s.ProducerErrorRate }, 1},
	telemetry.QueryConsumerLag: {
		func(s *status.Snapshot) **float64 { return &s.ConsumerLag }, 1},
	telemetry.QuerySequenceGaps: {
		func(s *status.Snapshot) **float64 { return &s.SequenceGapRate }, 1},
	telemetry.QueryDuplicateRate: {
		func(s *status.Snapshot) **float64 { return &s.DuplicateRate }, 1},
}

// scaled returns v times k, or nil for nil.
func scaled(v *float64, k float64) *float64 {
	if v == nil {
		return nil
	}
	return status.Float(*v * k)
}
