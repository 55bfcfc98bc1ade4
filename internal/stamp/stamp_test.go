package stamp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
	"time"
)

func TestPutDecodeRoundTrip(t *testing.T) {
	want := Header{ProducerID: 0xdeadbeefcafef00d, Seq: 1 << 40, Intended: time.Unix(1_700_000_000, 123456789)}
	buf := Put(make([]byte, 100), want)
	got, err := Decode(buf)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if got.ProducerID != want.ProducerID || got.Seq != want.Seq || !got.Intended.Equal(want.Intended) {
		t.Errorf("Decode = %+v, want %+v", got, want)
	}
}

func TestDecodeForeign(t *testing.T) {
	valid := Put(make([]byte, HeaderSize), Header{ProducerID: 1, Seq: 2, Intended: time.Unix(3, 0)})
	wrongVersion := bytes.Clone(valid)
	wrongVersion[4] = Version + 1
	tests := map[string][]byte{
		"nil":           nil,
		"empty":         {},
		"one short":     valid[:HeaderSize-1],
		"text":          []byte("hello, this is not a kafkatune message at all"),
		"wrong magic":   append([]byte("KTN2"), valid[4:]...),
		"wrong version": wrongVersion,
	}
	for name, b := range tests {
		t.Run(name, func(t *testing.T) {
			h, err := Decode(b)
			if !errors.Is(err, ErrForeign) {
				t.Errorf("error = %v, want ErrForeign", err)
			}
			if h != (Header{}) {
				t.Errorf("header = %+v, want zero with an error", h)
			}
		})
	}
}

// FuzzDecode feeds arbitrary records to Decode, as anything may be written
// to the topic: it must never panic, anything it rejects wraps ErrForeign,
// and anything it accepts carries the magic and version and encodes back
// to the same header bytes.
func FuzzDecode(f *testing.F) {
	valid := Put(make([]byte, 64), Header{ProducerID: 7, Seq: 42, Intended: time.Unix(1_700_000_000, 5)})
	f.Add(valid)
	f.Add(valid[:HeaderSize])
	f.Add(valid[:HeaderSize-1])
	f.Add([]byte{})
	f.Add([]byte("KTN1"))
	f.Add([]byte(`{"not":"ours"}`))
	negative := bytes.Clone(valid)
	binary.BigEndian.PutUint64(negative[21:29], 1<<63) // the earliest time
	f.Add(negative)
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := Decode(b)
		if err != nil {
			if !errors.Is(err, ErrForeign) {
				t.Fatalf("error %v does not wrap ErrForeign", err)
			}
			if h != (Header{}) {
				t.Fatalf("header %+v returned with an error", h)
			}
			return
		}
		if len(b) < HeaderSize || binary.BigEndian.Uint32(b) != Magic || b[4] != Version {
			t.Fatalf("accepted %x: too short or wrong magic or version", b)
		}
		again := Put(make([]byte, HeaderSize), h)
		if !bytes.Equal(again, b[:HeaderSize]) {
			t.Fatalf("header %+v encodes to %x, read from %x", h, again, b[:HeaderSize])
		}
	})
}
