package checksum

import (
	"encoding/binary"
	"math/rand"
	"testing"
)

// slowChecksum is the RFC 1071 reference loop, one 16-bit word at a time.
func slowChecksum(b []byte, initial uint16) uint16 {
	s := uint32(initial)
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return uint16(s)
}

func TestChecksumRFC1071Example(t *testing.T) {
	// RFC 1071 section 3: bytes 00 01 f2 03 f4 f5 f6 f7 sum to ddf2.
	b := []byte{0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7}
	if got := Checksum(b, 0); got != 0xddf2 {
		t.Fatalf("Checksum = %#04x, want 0xddf2", got)
	}
}

func TestChecksumMatchesSlow(t *testing.T) {
	r := rand.New(rand.NewSource(42))
	for n := 0; n < 200; n++ {
		b := make([]byte, n)
		r.Read(b)
		init := uint16(r.Intn(0x10000))
		if got, want := Checksum(b, init), slowChecksum(b, init); got != want {
			t.Fatalf("len %d: Checksum = %#04x, want %#04x", n, got, want)
		}
	}
}

// TestIncrementalMatchesFull checks RFC 1624 updates against a full recompute
// on random IPv4-header-sized buffers.
func TestIncrementalMatchesFull(t *testing.T) {
	r := rand.New(rand.NewSource(42))
	b := make([]byte, 20)
	for i := 0; i < 200000; i++ {
		r.Read(b)
		binary.BigEndian.PutUint16(b[10:], 0)
		binary.BigEndian.PutUint16(b[10:], ^Checksum(b, 0))
		hc := binary.BigEndian.Uint16(b[10:])
		switch i % 4 {
		case 0: // 16-bit word at offset 4
			old := binary.BigEndian.Uint16(b[4:])
			nw := uint16(r.Intn(0x10000))
			binary.BigEndian.PutUint16(b[4:], nw)
			hc = Update16(hc, old, nw)
		case 1: // 32-bit address at offset 12
			old := binary.BigEndian.Uint32(b[12:])
			nw := r.Uint32()
			binary.BigEndian.PutUint32(b[12:], nw)
			hc = Update32(hc, old, nw)
		case 2: // bytes at offset 16
			old := append([]byte(nil), b[16:20]...)
			r.Read(b[16:20])
			hc = UpdateBytes(hc, old, b[16:20])
		case 3: // TTL, high byte of word 4
			old := b[8]
			nw := uint8(r.Intn(256))
			b[8] = nw
			hc = Update8(hc, old, nw, true)
		}
		binary.BigEndian.PutUint16(b[10:], 0)
		want := ^Checksum(b, 0)
		allZero := true
		for _, c := range b {
			if c != 0 {
				allZero = false
			}
		}
		if hc != want && !allZero {
			t.Fatalf("iteration %d: incremental = %#04x, full = %#04x", i, hc, want)
		}
	}
}

func TestPseudoHeader(t *testing.T) {
	src := []byte{192, 0, 2, 1}
	dst := []byte{198, 51, 100, 2}
	want := slowChecksum([]byte{192, 0, 2, 1, 198, 51, 100, 2, 0, 17, 0, 12}, 0)
	if got := PseudoHeader(17, src, dst, 12); got != want {
		t.Fatalf("PseudoHeader = %#04x, want %#04x", got, want)
	}
}

func BenchmarkChecksum(b *testing.B) {
	for _, n := range []int{20, 64, 1500} {
		buf := make([]byte, n)
		rand.New(rand.NewSource(42)).Read(buf)
		b.Run(itoa(n), func(b *testing.B) {
			b.SetBytes(int64(n))
			for b.Loop() {
				sink = Checksum(buf, 0)
			}
		})
	}
}

var sink uint16

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var d []byte
	for ; n > 0; n /= 10 {
		d = append([]byte{byte('0' + n%10)}, d...)
	}
	return string(d)
}

// TestValid20MatchesSlow: Valid20 agrees with the RFC 1071 reference loop
// on random headers, on headers whose checksum field was set right, and
// after one bit of a right header flips.
func TestValid20MatchesSlow(t *testing.T) {
	r := rand.New(rand.NewSource(7))
	b := make([]byte, 20)
	for i := 0; i < 20000; i++ {
		r.Read(b)
		if i%2 == 0 {
			b[10], b[11] = 0, 0
			binary.BigEndian.PutUint16(b[10:], ^slowChecksum(b, 0))
			if i%4 == 0 {
				b[r.Intn(20)] ^= 1 << r.Intn(8)
			}
		}
		if got, want := Valid20(b), slowChecksum(b, 0) == 0xffff; got != want {
			t.Fatalf("% x: Valid20 = %v, reference %v", b, got, want)
		}
	}
}
