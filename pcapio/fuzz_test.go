package pcapio

import (
	"bytes"
	"io"
	"os"
	"reflect"
	"testing"

	"github.com/gopacket/gopacket/pcapgo"
)

// FuzzReadPcap reads arbitrary bytes as pcap: no panics, and agreement
// with gopacket's pcapgo.Reader on every packet both read.
func FuzzReadPcap(f *testing.F) {
	var buf bytes.Buffer
	w, _ := NewPcapWriter(&buf)
	for _, p := range samplePackets()[:3] {
		w.Write(p)
	}
	w.Flush()
	f.Add(buf.Bytes())
	f.Add([]byte("\xd4\xc3\xb2\xa1\x02\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\xff\xff\x00\x00\x01\x00\x00\x00" +
		"\x10\x00\x00\x00\x40\xe2\x01\x00\x0e\x00\x00\x00\x0e\x00\x00\x00\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x99\x08\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := NewReader(bytes.NewReader(b), "fuzz", "p")
		if err != nil || r.Format() != FormatPcap {
			return
		}
		pg, pgErr := pcapgo.NewReader(bytes.NewReader(b))
		micro := b[0] == 0xd4 || b[0] == 0xa1 && b[2] == 0xc3
		off := 24 // of the next record header
		for i := 1; i <= 1000; i++ {
			// pcapgo multiplies microseconds by 1000 in 32 bits: only compare
			// times that do not overflow there.
			timeOK := off+16 <= len(b) && (!micro || r.order.Uint32(b[off+4:]) < 1<<32/1000)
			if off+16 <= len(b) {
				off += 16 + int(r.order.Uint32(b[off+8:]))
			}
			p, err := r.Next()
			var data []byte
			var pgOK bool
			if pgErr == nil {
				d, ci, e := pg.ReadPacketData()
				if e == nil {
					data, pgOK = d, true
					if err != nil {
						t.Fatalf("packet %d: pcapgo reads it, we fail: %v", i, err)
					}
					if !bytes.Equal(p.Data, data) || ci.Length != max(p.OrigLen, len(p.Data)) {
						t.Fatalf("packet %d: we read %x (%d), pcapgo %x (%d)", i, p.Data, p.OrigLen, data, ci.Length)
					}
					if timeOK && !ci.Timestamp.Equal(p.Time) {
						t.Fatalf("packet %d: time %v, pcapgo %v", i, p.Time, ci.Timestamp)
					}
				}
				pgErr = e
			}
			if err != nil {
				return
			}
			if p.Index != i || p.Port != "p" || (pgOK && len(data) != len(p.Data)) {
				t.Fatalf("packet %d: index %d port %q", i, p.Index, p.Port)
			}
		}
	})
}

// FuzzReadPcapng reads arbitrary bytes as pcapng: no panics, packets
// numbered in order, and what was read writes and reads back the same.
func FuzzReadPcapng(f *testing.F) {
	f.Add(writeNg(f, samplePackets()))
	for _, name := range []string{"test005", "test009", "test010", "test016", "test101", "test901", "test902"} {
		for _, dir := range []string{"le", "be"} {
			b, err := os.ReadFile("testdata/pcapng-test-generator/" + dir + "/" + name + ".pcapng")
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := NewReader(bytes.NewReader(b), "fuzz", "p")
		if err != nil || r.Format() != FormatPcapng {
			return
		}
		var got []Packet
		for i := 1; i <= 1000; i++ {
			p, err := r.Next()
			if err != nil {
				if err != io.EOF && p.Data != nil {
					t.Fatalf("packet with an error: %+v", p)
				}
				break
			}
			if p.Index != i {
				t.Fatalf("packet %d has index %d", i, p.Index)
			}
			if _, err := unixNano(p.Time); err != nil || p.Port == "" {
				continue // not writable
			}
			p.Data = bytes.Clone(p.Data)
			if p.Verdict != nil {
				v := *p.Verdict
				v.Data = bytes.Clone(v.Data)
				if v.Type == VerdictLinuxTC || v.Type == VerdictLinuxXDP {
					v.Data = nil
				}
				p.Verdict = &v
			}
			p.Index = len(got) + 1
			if p.Time.IsZero() {
				p.Time = p.Time.UTC()
			}
			got = append(got, p)
		}
		if len(got) == 0 {
			return
		}
		var buf bytes.Buffer
		w, err := NewNgWriter(&buf, NgOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range got {
			if err := w.Write(p); err != nil {
				return // e.g. a comment too long to write
			}
		}
		w.Flush()
		again := readAll(t, buf.Bytes(), "p")
		for i := range got {
			if got[i].Time.IsZero() {
				got[i].Time = again[i].Time // the zero Time is written as 1970
			}
		}
		if !reflect.DeepEqual(again, got) {
			t.Fatalf("rewritten:\n got  %+v\n want %+v", again, got)
		}
	})
}
