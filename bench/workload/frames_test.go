package workload

import (
	"net"
	"testing"

	"github.com/gopacket/gopacket/layers"

	"github.com/hnspath/hnspath/emulator/emutest"
)

// TestUDP4FrameMatchesGopacket decodes our frames with gopacket (an independent
// decoder) and recomputes their checksums with its serializer.
func TestUDP4FrameMatchesGopacket(t *testing.T) {
	u := udp4{dstMAC: mustMAC("02:00:00:00:00:01"), srcMAC: mustMAC("00:15:5d:aa:00:02"),
		src: addr4("172.16.0.2"), dst: addr4("10.0.0.10"), sport: 40000, dport: 53, id: 7, ttl: 0}
	tests := []struct {
		size, wantLen, wantPayload int
	}{
		{64, 60, 18},
		{65, 61, 19},
		{594, 590, 548},
		{1500, 1496, 1454},
		{1518, 1514, 1472},
		{40, 60, 18}, // below the minimum: still a 60-byte frame
	}
	for _, tt := range tests {
		var a arena
		b := a.udp4Frame(&u, tt.size)
		if len(b) != tt.wantLen {
			t.Errorf("size %d: frame of %d bytes, want %d", tt.size, len(b), tt.wantLen)
			continue
		}
		emutest.ChecksumsValid(t, b)
		d := emutest.Decode(t, b)
		if d.Eth == nil || d.IPv4 == nil || d.UDP == nil {
			t.Fatalf("size %d: gopacket decoded %v, want Ethernet/IPv4/UDP", tt.size, d.Packet)
		}
		if got := d.Eth.SrcMAC.String(); got != "00:15:5d:aa:00:02" {
			t.Errorf("size %d: source MAC %s, want 00:15:5d:aa:00:02", tt.size, got)
		}
		if got := d.Eth.DstMAC.String(); got != "02:00:00:00:00:01" {
			t.Errorf("size %d: destination MAC %s, want 02:00:00:00:00:01", tt.size, got)
		}
		if !d.IPv4.SrcIP.Equal(net.ParseIP("172.16.0.2")) || !d.IPv4.DstIP.Equal(net.ParseIP("10.0.0.10")) {
			t.Errorf("size %d: %v > %v, want 172.16.0.2 > 10.0.0.10", tt.size, d.IPv4.SrcIP, d.IPv4.DstIP)
		}
		if d.IPv4.TTL != 64 || d.IPv4.Id != 7 || d.IPv4.Protocol != layers.IPProtocolUDP || d.IPv4.Flags != 0 {
			t.Errorf("size %d: TTL %d ID %d proto %v flags %v, want 64, 7, UDP, none", tt.size, d.IPv4.TTL, d.IPv4.Id, d.IPv4.Protocol, d.IPv4.Flags)
		}
		if int(d.IPv4.Length) != tt.wantLen-14 {
			t.Errorf("size %d: IPv4 total length %d, want %d", tt.size, d.IPv4.Length, tt.wantLen-14)
		}
		if d.UDP.SrcPort != 40000 || d.UDP.DstPort != 53 || len(d.UDP.Payload) != tt.wantPayload {
			t.Errorf("size %d: UDP %d > %d with %d payload bytes, want 40000 > 53 with %d", tt.size, d.UDP.SrcPort, d.UDP.DstPort, len(d.UDP.Payload), tt.wantPayload)
		}
	}
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in      string
		want    Size
		wantErr bool
	}{
		{"64", 64, false},
		{"1500", 1500, false},
		{"1518", 1518, false},
		{"imix", IMIX, false},
		{"IMIX", IMIX, false},
		{"63", 0, true},
		{"1519", 0, true},
		{"", 0, true},
		{"64B", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseSize(tt.in)
		if (err != nil) != tt.wantErr || (err == nil && got != tt.want) {
			t.Errorf("ParseSize(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
	if got := IMIX.String(); got != "imix" {
		t.Errorf("IMIX.String() = %q, want imix", got)
	}
}

// TestIMIXCycle: any 12 consecutive packets hold the simple IMIX's 7:4:1 of
// 64, 594 and 1518-byte frames.
func TestIMIXCycle(t *testing.T) {
	for start := range 12 {
		count := map[int]int{}
		for p := start; p < start+12; p++ {
			count[IMIX.frameSize(p)]++
		}
		if count[64] != 7 || count[594] != 4 || count[1518] != 1 || len(count) != 3 {
			t.Fatalf("packets %d..%d: sizes %v, want 7×64, 4×594, 1×1518", start, start+11, count)
		}
	}
}

func TestParseMAC(t *testing.T) {
	for _, s := range []string{"00:15:5d:aa:00:02", "00-15-5D-AA-00-02"} {
		m, ok := parseMAC(s)
		if !ok || m != (macAddr{0x00, 0x15, 0x5d, 0xaa, 0x00, 0x02}) {
			t.Errorf("parseMAC(%q) = %v, %v", s, m, ok)
		}
	}
	for _, s := range []string{"", "00:15:5d:aa:00", "00:15:5d:aa:00:0g", "00.15.5d.aa.00.02"} {
		if _, ok := parseMAC(s); ok {
			t.Errorf("parseMAC(%q) ok, want an error", s)
		}
	}
}
