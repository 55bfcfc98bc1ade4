package rollback

import (
	"fmt"

	"github.com/kafkatune/kafkatune/internal/tuner"
)

// DecisionRollback is the ledger decision of a rollback record.
const DecisionRollback = "rollback"

// TunerRecorder writes each rollback to the tuner's ledger and metrics:
// one ledger line, tuner.Metrics.Rollback, and the current setting moved
// to the good one. Ledger and Metrics may each be nil.
type TunerRecorder struct {
	Ledger  *tuner.Ledger
	Metrics *tuner.Metrics
	// Run is the ledger run id the records carry (the tuning run in
	// progress, or empty).
	Run string
}

// RecordRollback records r.
func (t TunerRecorder) RecordRollback(r Rollback) error {
	if t.Metrics != nil {
		t.Metrics.Rollback()
		t.Metrics.SetCurrent(r.Good, r.At)
	}
	if t.Ledger == nil {
		return nil
	}
	if err := t.Ledger.Append(LedgerRecord(t.Run, r)); err != nil {
		return fmt.Errorf("record rollback: %w", err)
	}
	return nil
}

// LedgerRecord returns the ledger line of r: the knob fields hold the bad
// setting, Best the good one the broker runs now, Decision is
// DecisionRollback, Reason says why, and Error carries a failure's cause.
// Trial is 0: a rollback is not a trial.
func LedgerRecord(run string, r Rollback) tuner.Record {
	why := string(r.Reason)
	if r.Alert != nil {
		why = fmt.Sprintf("%s: %s started %s, %s after the change",
			r.Reason, r.Alert.Name, r.Alert.StartsAt.UTC().Format("2006-01-02T15:04:05Z"),
			r.Alert.StartsAt.Sub(r.ChangedAt).Round(1e9))
	}
	if !r.BannedUntil.IsZero() {
		why += fmt.Sprintf("; banned until %s", r.BannedUntil.UTC().Format("2006-01-02T15:04:05Z"))
	}
	return tuner.Record{
		Run:            run,
		Time:           r.At,
		HeapMB:         r.Bad.HeapMB,
		NetworkThreads: r.Bad.NetworkThreads,
		IOThreads:      r.Bad.IOThreads,
		Decision:       DecisionRollback,
		Reason:         why,
		Error:          r.Cause,
		Best:           r.Good.String(),
	}
}
