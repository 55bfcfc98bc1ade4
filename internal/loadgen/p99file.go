package loadgen

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/kafkatune/kafkatune/internal/status"
)

// readP99 reads the end-to-end P99 in milliseconds that the bridge
// publishes in dir. A missing file, "no data", or a file older than
// staleAfter (the bridge has stopped) give no value: the controller holds.
func readP99(log *slog.Logger, dir string, now time.Time, staleAfter time.Duration) (float64, bool) {
	fi, err := os.Stat(filepath.Join(dir, status.LatencyFile))
	if err != nil {
		log.Debug("no latency file", "err", err)
		return 0, false
	}
	if age := now.Sub(fi.ModTime()); age > staleAfter {
		log.Debug("latency file is stale", "age", age.Round(time.Second))
		return 0, false
	}
	v, err := status.ReadLatency(dir)
	switch {
	case errors.Is(err, status.ErrNoData):
		log.Debug("latency file holds no data")
		return 0, false
	case err != nil:
		log.Warn("cannot read latency file", "err", err)
		return 0, false
	}
	return v, true
}
