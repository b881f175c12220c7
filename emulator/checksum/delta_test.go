package checksum

import (
	"encoding/binary"
	"math/rand"
	"testing"
)

// full returns the checksum field of b with the field at off computed from
// scratch (RFC 1071, with slowChecksum as the reference): the complement
// of the sum of b with the field zeroed, plus initial (a pseudo-header).
func full(b []byte, off int, initial uint16) uint16 {
	c := append([]byte(nil), b...)
	c[off], c[off+1] = 0, 0
	return ^slowChecksum(c, initial)
}

// TestDeltaMatchesRecompute rewrites an address and a port the way a NAT
// session does (one Delta, computed once, applied to each packet) and
// checks the checksums against a full recompute: an IPv4 header's (the
// address), and a TCP-like segment's (the address through its
// pseudo-header, and the port in the segment).
func TestDeltaMatchesRecompute(t *testing.T) {
	rng := rand.New(rand.NewSource(1624))
	addr := func() (a [4]byte) { binary.BigEndian.PutUint32(a[:], rng.Uint32()); return a }
	for i := 0; i < 20000; i++ {
		oldA, newA := addr(), addr()
		oldP, newP := uint16(rng.Uint32()), uint16(rng.Uint32())
		if i%7 == 0 { // the extremes of one's complement: 0 and 0xFFFF words
			oldA, newA, oldP, newP = [4]byte{0xff, 0xff, 0, 0}, [4]byte{0, 0, 0xff, 0xff}, 0xffff, 0
		}
		dIP := Delta32(oldA, newA)
		dL4 := dIP.Add(Delta16(oldP, newP))

		// An IPv4 header (20 bytes, checksum at 10, source address at 12).
		ip := make([]byte, 20)
		rng.Read(ip)
		ip[0] = 0x45
		copy(ip[12:16], oldA[:])
		binary.BigEndian.PutUint16(ip[10:], full(ip, 10, 0))
		hc := binary.BigEndian.Uint16(ip[10:])
		copy(ip[12:16], newA[:])
		if got, want := dIP.Apply(hc), full(ip, 10, 0); got != want {
			t.Fatalf("case %d: IPv4 checksum by delta %#04x, recomputed %#04x", i, got, want)
		}

		// A segment (checksum at 16, port at 0) under a pseudo-header that
		// holds the address.
		seg := make([]byte, 20+rng.Intn(40))
		rng.Read(seg)
		other := addr()
		pseudo := func(a [4]byte) uint16 { return PseudoHeader(6, a[:], other[:], uint32(len(seg))) }
		binary.BigEndian.PutUint16(seg[0:], oldP)
		binary.BigEndian.PutUint16(seg[16:], full(seg, 16, pseudo(oldA)))
		hc = binary.BigEndian.Uint16(seg[16:])
		binary.BigEndian.PutUint16(seg[0:], newP)
		if got, want := dL4.Apply(hc), full(seg, 16, pseudo(newA)); got != want {
			t.Fatalf("case %d: segment checksum by delta %#04x, recomputed %#04x", i, got, want)
		}
		// And the same as updating field by field.
		if got, want := dL4.Apply(hc), Update16(UpdateBytes(hc, oldA[:], newA[:]), oldP, newP); got != want {
			t.Fatalf("case %d: delta %#04x, field by field %#04x", i, got, want)
		}
	}
}

// TestDeltaIdentities: no change is the zero Delta or its one's complement
// twin, and applying a change and its reverse gives the checksum back.
func TestDeltaIdentities(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for i := 0; i < 10000; i++ {
		var a, b [4]byte
		binary.BigEndian.PutUint32(a[:], rng.Uint32())
		binary.BigEndian.PutUint32(b[:], rng.Uint32())
		if d := Delta32(a, a); d != 0xffff && d != 0 {
			t.Fatalf("Delta32(a, a) = %#04x, want a one's complement zero", d)
		}
		hc := uint16(rng.Uint32())
		if hc == 0xffff { // the sum 0 no real header has
			continue
		}
		back := Delta32(b, a).Apply(Delta32(a, b).Apply(hc))
		if back != hc && !(back == 0 && hc == 0xffff) {
			t.Fatalf("there and back: %#04x, want %#04x", back, hc)
		}
	}
}

func BenchmarkDeltaApply(b *testing.B) {
	d := Delta32([4]byte{172, 16, 0, 2}, [4]byte{10, 0, 0, 4})
	hc := uint16(0x1234)
	for i := 0; i < b.N; i++ {
		hc = d.Apply(hc)
	}
	sinkU16 = hc
}

var sinkU16 uint16
