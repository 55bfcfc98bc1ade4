// Package stamp encodes and decodes the header every kafkatune message
// carries: who produced it, its place in that producer's sequence and the
// time it was meant to be sent. The consumer measures end-to-end latency
// from that intended time, so a stalled broker shows up as latency instead of
// vanishing (coordinated omission).
package stamp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// Magic marks a kafkatune message; Version is the header layout.
const (
	Magic   uint32 = 0x4b544e31 // "KTN1"
	Version uint8  = 1
)

// HeaderSize is the encoded size of a Header in bytes. Messages are at least
// this long; the rest is padding up to the configured message size.
const HeaderSize = 4 + 1 + 8 + 8 + 8

// ErrForeign is returned for a record that is not a kafkatune message (too
// short, wrong magic or version): something else wrote to the topic, or the
// record is corrupt.
var ErrForeign = errors.New("not a kafkatune message")

// Header is the decoded stamp.
type Header struct {
	// ProducerID identifies one producer process run.
	ProducerID uint64
	// Seq is the producer's sequence number, starting at 0.
	Seq uint64
	// Intended is the send time the schedule assigned to this message.
	Intended time.Time
}

// Put writes h into the first HeaderSize bytes of buf and returns buf. It
// panics if buf is shorter than HeaderSize, a programming error.
func Put(buf []byte, h Header) []byte {
	_ = buf[HeaderSize-1]
	binary.BigEndian.PutUint32(buf[0:4], Magic)
	buf[4] = Version
	binary.BigEndian.PutUint64(buf[5:13], h.ProducerID)
	binary.BigEndian.PutUint64(buf[13:21], h.Seq)
	binary.BigEndian.PutUint64(buf[21:29], uint64(h.Intended.UnixNano()))
	return buf
}

// Decode reads the header at the start of b. It never panics: anything that
// is not a kafkatune message gives an error wrapping ErrForeign.
func Decode(b []byte) (Header, error) {
	if len(b) < HeaderSize {
		return Header{}, fmt.Errorf("%w: %d bytes, need at least %d", ErrForeign, len(b), HeaderSize)
	}
	if m := binary.BigEndian.Uint32(b[0:4]); m != Magic {
		return Header{}, fmt.Errorf("%w: magic %#x", ErrForeign, m)
	}
	if v := b[4]; v != Version {
		return Header{}, fmt.Errorf("%w: header version %d, want %d", ErrForeign, v, Version)
	}
	return Header{
		ProducerID: binary.BigEndian.Uint64(b[5:13]),
		Seq:        binary.BigEndian.Uint64(b[13:21]),
		Intended:   time.Unix(0, int64(binary.BigEndian.Uint64(b[21:29]))),
	}, nil
}
