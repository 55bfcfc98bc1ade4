package stamp

import (
	"testing"
	"time"
)

// BenchmarkPutHeader stamps a 1 KiB message, as the producer does once per
// message.
func BenchmarkPutHeader(b *testing.B) {
	buf := make([]byte, 1024)
	h := Header{ProducerID: 0x1234_5678_9abc_def0, Intended: time.Now()}
	for b.Loop() {
		Put(buf, h)
		h.Seq++
	}
}

// BenchmarkDecodeHeader reads the stamp back, as the consumer does once per
// record.
func BenchmarkDecodeHeader(b *testing.B) {
	buf := Put(make([]byte, 1024), Header{ProducerID: 7, Seq: 42, Intended: time.Now()})
	var sink uint64
	for b.Loop() {
		h, err := Decode(buf)
		if err != nil {
			b.Fatal(err)
		}
		sink += h.Seq
	}
	_ = sink
}

// BenchmarkDecodeForeign is the cost of rejecting a record without a stamp
// (the error path allocates its message).
func BenchmarkDecodeForeign(b *testing.B) {
	buf := make([]byte, 1024)
	for b.Loop() {
		if _, err := Decode(buf); err == nil {
			b.Fatal("decoded a record without a stamp")
		}
	}
}
