package pcapio

import (
	"bytes"
	"encoding/binary"
	"io"
	"testing"
	"time"

	"github.com/gopacket/gopacket/pcapgo"
)

// TestNgEmpty checks that a capture without packets is one Section Header
// Block, with the section's options, that pcapgo and our Reader read as
// empty.
func TestNgEmpty(t *testing.T) {
	b := writeNg(t, nil)
	if len(b) < 28 || binary.LittleEndian.Uint32(b) != blockSHB || int(binary.LittleEndian.Uint32(b[4:])) != len(b) {
		t.Fatalf("empty capture is not one section header block: % x", b)
	}
	// Without WantMixedLinkType pcapgo wants a first interface.
	r, err := pcapgo.NewNgReader(bytes.NewReader(b), pcapgo.NgReaderOptions{WantMixedLinkType: true})
	if err != nil {
		t.Fatal(err)
	}
	if si := r.SectionInfo(); si.Application != "hnspath test" || si.Comment != "section" {
		t.Errorf("section info %+v, want application %q comment %q", si, "hnspath test", "section")
	}
	if _, _, err := r.ReadPacketData(); err != io.EOF {
		t.Errorf("pcapgo: %v, want EOF", err)
	}
	if got := readAll(t, b, "p"); len(got) != 0 {
		t.Errorf("read %d packets, want 0", len(got))
	}
}

// TestZeroTime checks that a packet without a time is written at 0 (1970),
// not at the time of writing (pcapgo's default for the zero Time).
func TestZeroTime(t *testing.T) {
	var buf bytes.Buffer
	pw, err := NewPcapWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if err := pw.Write(Packet{Data: frame(1, 60)}); err != nil {
		t.Fatal(err)
	}
	if err := pw.Flush(); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		file []byte
	}{
		{"pcapng", writeNg(t, []Packet{{Port: "a", Data: frame(1, 60)}})},
		{"pcap", buf.Bytes()},
	} {
		got := readAll(t, tt.file, "a")
		if len(got) != 1 || !got[0].Time.Equal(time.Unix(0, 0)) {
			t.Errorf("%s: read %+v, want one packet at %v", tt.name, got, time.Unix(0, 0))
		}
	}
}
