package header_test

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/hnspath/hnspath/emulator/checksum"
	"github.com/hnspath/hnspath/emulator/emutest"
	"github.com/hnspath/hnspath/emulator/header"
)

func TestIPv4EncodeMatchesGopacket(t *testing.T) {
	b := make([]byte, 20)
	f := header.IPv4Fields{TOS: 0x10, TotalLength: 20, ID: 0xbeef, Flags: header.IPv4FlagDontFragment, TTL: 63, Protocol: 17,
		Src: [4]byte{10, 0, 0, 1}, Dst: [4]byte{198, 18, 0, 1}}
	header.IPv4(b).Encode(&f)
	want := emutest.Serialize(t, &layers.IPv4{Version: 4, IHL: 5, TOS: 0x10, Id: 0xbeef, Flags: layers.IPv4DontFragment, TTL: 63,
		Protocol: 17, SrcIP: emutest.IP("10.0.0.1"), DstIP: emutest.IP("198.18.0.1")})
	if !bytes.Equal(b, want) {
		t.Fatalf("Encode = % x\nwant     % x", b, want)
	}
	if !header.IPv4(b).IsChecksumValid() {
		t.Fatalf("checksum invalid")
	}
}

func TestVXLANEncodeMatchesGopacket(t *testing.T) {
	b := make([]byte, 8)
	header.VXLAN(b).Encode(4096)
	var vx layers.VXLAN
	if err := vx.DecodeFromBytes(b, gopacket.NilDecodeFeedback); err != nil {
		t.Fatal(err)
	}
	if !vx.ValidIDFlag || vx.VNI != 4096 {
		t.Fatalf("gopacket sees I=%v VNI=%d, want true 4096", vx.ValidIDFlag, vx.VNI)
	}
	if got := header.VXLAN(b).VNI(); got != 4096 {
		t.Fatalf("VNI = %d", got)
	}
	if header.VXLANOverhead != 50 || header.VXLANOverheadIPv6 != 70 {
		t.Fatalf("overheads %d %d, want 50 70", header.VXLANOverhead, header.VXLANOverheadIPv6)
	}
}

func TestARPEncode(t *testing.T) {
	b := make([]byte, header.ARPSize)
	sha := header.MAC{0, 0x15, 0x5d, 1, 2, 3}
	header.ARP(b).Encode(header.ARPReply, sha, netip.MustParseAddr("172.16.0.1"), header.MAC{1}, netip.MustParseAddr("172.16.0.2"))
	var a layers.ARP
	if err := a.DecodeFromBytes(b, gopacket.NilDecodeFeedback); err != nil {
		t.Fatal(err)
	}
	if a.Operation != 2 || !bytes.Equal(a.SourceHwAddress, sha[:]) || !bytes.Equal(a.DstProtAddress, []byte{172, 16, 0, 2}) {
		t.Fatalf("gopacket decoded %+v", a)
	}
	if !header.ARP(b).IsValid() {
		t.Fatal("IsValid false")
	}
}

func TestMSSClampOddOffset(t *testing.T) {
	// A SYN whose MSS option sits at an odd offset (after one NOP).
	tcp := &layers.TCP{SrcPort: 1, DstPort: 2, SYN: true, Window: 10, Options: []layers.TCPOption{
		{OptionType: layers.TCPOptionKindNop, OptionLength: 1},
		{OptionType: layers.TCPOptionKindMSS, OptionLength: 4, OptionData: []byte{0x05, 0xb4}},
	}}
	ip := emutest.IPv4("10.0.0.1", "10.0.0.2", layers.IPProtocolTCP, 64)
	frame := emutest.Serialize(t, emutest.Eth("00:00:00:00:00:01", "00:00:00:00:00:02", layers.EthernetTypeIPv4), ip, tcp)
	seg := header.TCP(frame[34:])
	mss, off, ok := seg.MSS()
	if !ok || mss != 1460 || off%2 != 1 {
		t.Fatalf("MSS = %d at %d ok %v, want 1460 at an odd offset", mss, off, ok)
	}
	if !seg.ClampMSSWithChecksumUpdate(1410) {
		t.Fatal("clamp did nothing")
	}
	if mss, _, _ := seg.MSS(); mss != 1410 {
		t.Fatalf("MSS after clamp = %d", mss)
	}
	emutest.ChecksumsValid(t, frame)
	if seg.ClampMSSWithChecksumUpdate(1500) {
		t.Fatal("clamp raised the MSS")
	}
}

func TestIPv6TransportWalk(t *testing.T) {
	ip := emutest.IPv6("fd00::1", "fd00::2", layers.IPProtocolIPv6Fragment, 64)
	frag := &layers.IPv6Fragment{NextHeader: layers.IPProtocolUDP, FragmentOffset: 0, MoreFragments: true, Identification: 7}
	b := emutest.Serialize(t, ip, frag, &layers.UDP{SrcPort: 1, DstPort: 2}, gopacket.Payload([]byte("abcd")))
	tr, ok := header.IPv6(b).Transport()
	if !ok || tr.Protocol != 17 || tr.Offset != 48 || !tr.Fragment || !tr.MoreFragments {
		t.Fatalf("Transport = %+v ok %v, want UDP at 48, fragment", tr, ok)
	}
	// Truncate inside the fragment header.
	binary.BigEndian.PutUint16(b[4:], 4)
	if _, ok := header.IPv6(b[:44]).Transport(); ok {
		t.Fatalf("truncated chain accepted")
	}
}

func TestMACParse(t *testing.T) {
	for _, s := range []string{"00-15-5D-52-C0-00", "00:15:5d:52:c0:00"} {
		m, ok := header.ParseMAC(s)
		if !ok || m.String() != "00:15:5d:52:c0:00" {
			t.Errorf("ParseMAC(%q) = %v %v", s, m, ok)
		}
	}
	if _, ok := header.ParseMAC("00:15:5d:52:c0"); ok {
		t.Error("short MAC accepted")
	}
}

func TestUDPLengthUpdate(t *testing.T) {
	frame := emutest.UDP4(t, "00:00:00:00:00:01", "00:00:00:00:00:02", "10.0.0.1", "10.0.0.2", 1, 2, []byte("abcdef"))
	u := header.UDP(frame[34:])
	// Shorten by 2: drop the last 2 payload bytes and fix lengths.
	old := u.Length()
	u.UpdateChecksumLength(old, old-2)
	u.SetLength(old - 2)
	ip := header.IPv4(frame[14:])
	ip.SetTotalLengthWithChecksumUpdate(ip.TotalLength() - 2)
	seg := frame[34 : 34+int(old-2)]
	// Remove the dropped bytes from the sum: recompute independently.
	pseudo := checksum.PseudoHeader(17, ip.SrcBytes(), ip.DstBytes(), uint32(old-2))
	want := header.UDP(seg).CalculateChecksum(pseudo)
	// Incremental covers only the length fields; the removed data bytes "ef"
	// must be taken out too.
	c := checksum.UpdateBytes(u.Checksum(), []byte("ef"), []byte{0, 0})
	if c != want {
		t.Fatalf("incremental = %#04x, want %#04x", c, want)
	}
}

// TestDecTTLMatchesRecompute: the inlined TTL decrement leaves the same
// checksum as a full RFC 1071 recompute, for every TTL (0 wraps to 255)
// on random headers whose checksum was right.
func TestDecTTLMatchesRecompute(t *testing.T) {
	b := make([]byte, 20)
	seed := uint32(1)
	for i := 0; i < 256*200; i++ {
		for j := range b {
			seed = seed*1664525 + 1013904223
			b[j] = byte(seed >> 24)
		}
		b[0] = 0x45
		b[8] = byte(i)
		ip := header.IPv4(b)
		ip.SetChecksum(0)
		ip.SetChecksum(^checksum.Checksum(b, 0))
		got := ip.DecTTLWithChecksumUpdate()
		if want := byte(i) - 1; got != want || ip.TTL() != want {
			t.Fatalf("TTL %d: got %d (field %d), want %d", i&0xff, got, ip.TTL(), want)
		}
		c := ip.Checksum()
		ip.SetChecksum(0)
		if want := ^checksum.Checksum(b, 0); c != want {
			t.Fatalf("TTL %d -> %d: checksum %#04x, full recompute %#04x", i&0xff, ip.TTL(), c, want)
		}
	}
}

// TestARPRequestFrame: the request gopacket decodes is a broadcast ARP
// request from (sha, spa) for tpa; ARPReplySender reads a reply back and
// refuses a request or a reply from another address.
func TestARPRequestFrame(t *testing.T) {
	sha := header.MAC{0, 0x15, 0x5d, 1, 2, 3}
	spa, tpa := netip.MustParseAddr("172.16.0.2"), netip.MustParseAddr("172.16.0.1")
	b := header.ARPRequestFrame(sha, spa, tpa)
	d := emutest.Decode(t, b)
	if d.ARP == nil || d.Eth.DstMAC.String() != "ff:ff:ff:ff:ff:ff" || d.Eth.SrcMAC.String() != "00:15:5d:01:02:03" {
		t.Fatalf("gopacket decoded %v", d.Packet)
	}
	if d.ARP.Operation != layers.ARPRequest || !bytes.Equal(d.ARP.SourceHwAddress, sha[:]) ||
		!bytes.Equal(d.ARP.SourceProtAddress, []byte{172, 16, 0, 2}) || !bytes.Equal(d.ARP.DstProtAddress, []byte{172, 16, 0, 1}) ||
		!bytes.Equal(d.ARP.DstHwAddress, make([]byte, 6)) {
		t.Fatalf("ARP = %+v", d.ARP)
	}
	if _, ok := header.ARPReplySender(b, spa); ok {
		t.Fatal("ARPReplySender accepted a request")
	}
	reply := make([]byte, len(b))
	header.Ethernet(reply).Encode(sha, header.MAC{2, 0, 0, 0, 0, 1}, header.EtherTypeARP)
	header.ARP(reply[header.EthernetMinimumSize:]).Encode(header.ARPReply, header.MAC{2, 0, 0, 0, 0, 1}, tpa, sha, spa)
	if m, ok := header.ARPReplySender(reply, tpa); !ok || m != (header.MAC{2, 0, 0, 0, 0, 1}) {
		t.Fatalf("ARPReplySender = %v %v, want 02:00:00:00:00:01", m, ok)
	}
	if _, ok := header.ARPReplySender(reply, spa); ok {
		t.Fatal("ARPReplySender accepted a reply from another address")
	}
}

// TestExportedOffsets: the offsets other packages rewrite at hold, in
// frames gopacket serializes, the fields gopacket wrote there.
func TestExportedOffsets(t *testing.T) {
	ser := func(ls ...gopacket.SerializableLayer) []byte {
		buf := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, SrcIP: []byte{172, 16, 0, 2}, DstIP: []byte{198, 18, 0, 9}}
	u16 := func(b []byte, off int) uint16 { return binary.BigEndian.Uint16(b[off:]) }

	ip.Protocol = layers.IPProtocolTCP
	tcp := &layers.TCP{SrcPort: 40000, DstPort: 443, Seq: 1, ACK: true, Window: 512}
	if err := tcp.SetNetworkLayerForChecksum(ip); err != nil {
		t.Fatal(err)
	}
	b := ser(ip, tcp)
	var gip layers.IPv4
	if err := gip.DecodeFromBytes(b, gopacket.NilDecodeFeedback); err != nil {
		t.Fatal(err)
	}
	if got := u16(b, header.IPv4ChecksumOffset); got != gip.Checksum {
		t.Errorf("IPv4 checksum at %d = %#04x, gopacket %#04x", header.IPv4ChecksumOffset, got, gip.Checksum)
	}
	if got := netip.AddrFrom4([4]byte(b[header.IPv4SrcAddrOffset:])); got.String() != "172.16.0.2" {
		t.Errorf("IPv4 source at %d = %v", header.IPv4SrcAddrOffset, got)
	}
	if got := netip.AddrFrom4([4]byte(b[header.IPv4DstAddrOffset:])); got.String() != "198.18.0.9" {
		t.Errorf("IPv4 destination at %d = %v", header.IPv4DstAddrOffset, got)
	}
	var gtcp layers.TCP
	if err := gtcp.DecodeFromBytes(b[20:], gopacket.NilDecodeFeedback); err != nil {
		t.Fatal(err)
	}
	l4 := b[20:]
	if u16(l4, header.TCPSrcPortOffset) != 40000 || u16(l4, header.TCPDstPortOffset) != 443 || u16(l4, header.TCPChecksumOffset) != gtcp.Checksum {
		t.Errorf("TCP ports/checksum at %d/%d/%d = %d %d %#04x, want 40000 443 %#04x", header.TCPSrcPortOffset, header.TCPDstPortOffset,
			header.TCPChecksumOffset, u16(l4, header.TCPSrcPortOffset), u16(l4, header.TCPDstPortOffset), u16(l4, header.TCPChecksumOffset), gtcp.Checksum)
	}

	ip.Protocol = layers.IPProtocolUDP
	udp := &layers.UDP{SrcPort: 5353, DstPort: 53}
	if err := udp.SetNetworkLayerForChecksum(ip); err != nil {
		t.Fatal(err)
	}
	l4 = ser(ip, udp, gopacket.Payload("hello"))[20:]
	var gudp layers.UDP
	if err := gudp.DecodeFromBytes(l4, gopacket.NilDecodeFeedback); err != nil {
		t.Fatal(err)
	}
	if u16(l4, header.UDPSrcPortOffset) != 5353 || u16(l4, header.UDPDstPortOffset) != 53 || u16(l4, header.UDPChecksumOffset) != gudp.Checksum || gudp.Checksum == 0 {
		t.Errorf("UDP ports/checksum = %d %d %#04x, want 5353 53 %#04x", u16(l4, header.UDPSrcPortOffset), u16(l4, header.UDPDstPortOffset),
			u16(l4, header.UDPChecksumOffset), gudp.Checksum)
	}

	ip.Protocol = layers.IPProtocolICMPv4
	icmp := &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(layers.ICMPv4TypeEchoRequest, 0), Id: 0x1234, Seq: 7}
	l4 = ser(ip, icmp)[20:]
	var gicmp layers.ICMPv4
	if err := gicmp.DecodeFromBytes(l4, gopacket.NilDecodeFeedback); err != nil {
		t.Fatal(err)
	}
	if u16(l4, header.ICMPIdentOffset) != 0x1234 || u16(l4, header.ICMPChecksumOffset) != gicmp.Checksum {
		t.Errorf("ICMP ident/checksum = %#04x %#04x, want 0x1234 %#04x", u16(l4, header.ICMPIdentOffset), u16(l4, header.ICMPChecksumOffset), gicmp.Checksum)
	}
}
