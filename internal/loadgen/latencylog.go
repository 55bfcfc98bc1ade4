package loadgen

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/kafkatune/kafkatune/internal/stamp"
)

// latencyLog appends one line per message, "<receive unix ns> <latency
// ns>", to a file. It is called from the consumer's poll loop only.
type latencyLog struct {
	f   *os.File
	w   *bufio.Writer
	buf []byte
	err error
}

func openLatencyLog(path string) (*latencyLog, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("latency log: %w", err)
	}
	return &latencyLog{f: f, w: bufio.NewWriterSize(f, 64*1024)}, nil
}

func (l *latencyLog) record(h stamp.Header, received time.Time) {
	if l.err != nil {
		return
	}
	l.buf = strconv.AppendInt(l.buf[:0], received.UnixNano(), 10)
	l.buf = append(l.buf, ' ')
	l.buf = strconv.AppendInt(l.buf, int64(received.Sub(h.Intended)), 10)
	l.buf = append(l.buf, '\n')
	_, l.err = l.w.Write(l.buf)
}

// close flushes and closes the file and returns the first error met.
func (l *latencyLog) close() error {
	err := l.err
	if ferr := l.w.Flush(); err == nil {
		err = ferr
	}
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("latency log: %w", err)
	}
	return nil
}
