package kafkaproc

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// heapFromCmdline reads the maximum heap in MiB from the command line of
// process pid.
func heapFromCmdline(pid int) (int, error) {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		return 0, fmt.Errorf("read command line of pid %d: %w", pid, err)
	}
	return maxHeapMB(strings.Split(string(bytes.TrimRight(raw, "\x00")), "\x00"))
}

// maxHeapMB returns the last -Xmx of a JVM argument list in MiB.
func maxHeapMB(args []string) (int, error) {
	size, found := "", false
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "-Xmx"); ok {
			size, found = v, true
		}
	}
	if !found {
		return 0, fmt.Errorf("no -Xmx in the JVM's arguments")
	}
	return parseSizeMB(size)
}

// parseSizeMB parses a JVM size (512m, 1g, 262144k, 268435456) into MiB.
func parseSizeMB(s string) (int, error) {
	if s == "" {
		return 0, fmt.Errorf("empty JVM size")
	}
	mult := int64(1)
	switch s[len(s)-1] {
	case 'k', 'K':
		mult = 1 << 10
	case 'm', 'M':
		mult = 1 << 20
	case 'g', 'G':
		mult = 1 << 30
	case 't', 'T':
		mult = 1 << 40
	}
	digits := s
	if mult != 1 {
		digits = s[:len(s)-1]
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("JVM size %q: want a positive number with an optional k, m, g or t suffix", s)
	}
	return int(n * mult >> 20), nil
}

// newClusterID returns a random KRaft cluster id: 16 bytes in URL-safe
// base64 without padding, never starting with '-' (it would read as a
// command-line flag).
func newClusterID() (string, error) {
	for {
		var b [16]byte
		if _, err := rand.Read(b[:]); err != nil {
			return "", fmt.Errorf("cluster id: %w", err)
		}
		id := base64.RawURLEncoding.EncodeToString(b[:])
		if id[0] != '-' {
			return id, nil
		}
	}
}
