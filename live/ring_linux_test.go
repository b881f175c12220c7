package live

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// block builds a TPACKET_V3 block as the kernel lays it out
// (Documentation/networking/packet_mmap.rst): the block descriptor, then
// tpacket3_hdr + frame for each frame, each entry aligned to 16 bytes.
func block(frames ...[]byte) []byte {
	b := make([]byte, 4096)
	ne := binary.NativeEndian
	const first = 48
	ne.PutUint32(b[blockStatusOff:], tpStatusUser)
	ne.PutUint32(b[blockNumOff:], uint32(len(frames)))
	ne.PutUint32(b[blockFirstOff:], first)
	off := first
	for i, f := range frames {
		const mac = 66 // tpacket3_hdr is 48 bytes, then sockaddr_ll, aligned
		size := (mac + len(f) + 15) &^ 15
		h := b[off:]
		if i < len(frames)-1 {
			ne.PutUint32(h[pktNextOff:], uint32(size))
		}
		ne.PutUint32(h[pktSnaplenOff:], uint32(len(f)))
		ne.PutUint32(h[16:], uint32(len(f)))
		ne.PutUint16(h[pktMacOff:], mac)
		copy(h[mac:], f)
		off += size
	}
	return b
}

func TestFrames(t *testing.T) {
	f1 := bytes.Repeat([]byte{1}, 60)
	f2 := bytes.Repeat([]byte{2}, 1514)
	for _, tc := range []struct {
		name string
		b    []byte
		want [][]byte
	}{
		{"two frames", block(f1, f2), [][]byte{f1, f2}},
		{"one frame", block(f2), [][]byte{f2}},
		{"empty", block(), nil},
		{"snaplen past the block", func() []byte {
			b := block(f1)
			binary.NativeEndian.PutUint32(b[48+pktSnaplenOff:], 1<<20)
			return b
		}(), nil},
		{"first offset past the block", func() []byte {
			b := block(f1)
			binary.NativeEndian.PutUint32(b[blockFirstOff:], 1<<20)
			return b
		}(), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got [][]byte
			frames(tc.b, func(f []byte) { got = append(got, append([]byte(nil), f...)) })
			if len(got) != len(tc.want) {
				t.Fatalf("%d frames, want %d", len(got), len(tc.want))
			}
			for i := range got {
				if !bytes.Equal(got[i], tc.want[i]) {
					t.Errorf("frame %d: %d bytes %x..., want %d bytes", i, len(got[i]), got[i][:4], len(tc.want[i]))
				}
			}
		})
	}
}

// FuzzFrames: whatever the block holds, frames never reads outside it.
func FuzzFrames(f *testing.F) {
	f.Add(block(bytes.Repeat([]byte{1}, 60), bytes.Repeat([]byte{2}, 1514)))
	f.Add(block())
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) < 64 {
			return
		}
		frames(b, func(fr []byte) {
			if len(fr) > len(b)-pktMacOff {
				t.Fatalf("a %d-byte frame from a %d-byte block", len(fr), len(b))
			}
		})
	})
}
