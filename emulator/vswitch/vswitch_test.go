package vswitch

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/hnspath/hnspath/emulator/drop"
	"github.com/hnspath/hnspath/emulator/header"
	"github.com/hnspath/hnspath/emulator/packet"
)

var (
	hostMAC  = header.MAC{0x00, 0x15, 0x5d, 0, 0, 4}
	podA     = header.MAC{0x0e, 0x2a, 10, 244, 1, 2}
	podB     = header.MAC{0x0e, 0x2a, 10, 244, 1, 3}
	podOther = header.MAC{0x0e, 0x2a, 10, 245, 1, 2}
	peerMAC  = header.MAC{0x00, 0x15, 0x5d, 0, 0, 6}
)

// overlaySwitch is an external switch with the management OS's vNIC, two
// overlay vNICs in VSID 4096 and one in VSID 5000, as HNS programs an
// Overlay network.
func overlaySwitch(t *testing.T) (s *Switch, ext, host, a, b, other PortID) {
	t.Helper()
	s = New("vxlan0", External)
	add := func(p Port) PortID {
		id, err := s.AddPort(p)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	ext = add(Port{Name: "eth0", Kind: PortExternal})
	host = add(Port{Name: "vEthernet (vxlan0)", Kind: PortHostVNIC, MAC: hostMAC})
	a = add(Port{Name: "pod-a", Kind: PortVM, MAC: podA})
	b = add(Port{Name: "pod-b", Kind: PortVM, MAC: podB})
	other = add(Port{Name: "pod-other", Kind: PortVM, MAC: podOther})
	s.EnableVFPForwarding(hostMAC)
	s.AddProviderAddress(netip.MustParseAddr("10.0.0.4"), header.VXLANPort)
	s.MapVNI(4096, netip.MustParseAddr("10.244.1.2"), a)
	s.MapVNI(4096, netip.MustParseAddr("10.244.1.3"), b)
	s.MapVNI(5000, netip.MustParseAddr("10.245.1.2"), other)
	return
}

// frame builds an Ethernet frame with an IPv4 (UDP) or IPv6 (no next
// header) packet, or an ARP request when etherType is ARP.
func frame(dst, src header.MAC, etherType uint16) []byte {
	switch etherType {
	case header.EtherTypeARP:
		f := header.ARPRequestFrame(src, netip.MustParseAddr("10.0.0.6"), netip.MustParseAddr("10.0.0.99"))
		header.Ethernet(f).SetDstMAC(dst)
		return f
	case header.EtherTypeIPv6:
		f := make([]byte, header.EthernetMinimumSize+40)
		header.Ethernet(f).Encode(dst, src, etherType)
		ip := f[header.EthernetMinimumSize:]
		ip[0], ip[6], ip[7] = 0x60, 59, 64 // version 6, no next header, hop limit 64
		ip[8], ip[9], ip[23] = 0xfe, 0x80, 2
		ip[24], ip[25], ip[39] = 0xff, 0x02, 1
		return f
	}
	f := make([]byte, header.EthernetMinimumSize+header.IPv4MinimumSize+8)
	header.Ethernet(f).Encode(dst, src, header.EtherTypeIPv4)
	header.IPv4(f[header.EthernetMinimumSize:]).Encode(&header.IPv4Fields{TotalLength: 28, TTL: 64, Protocol: header.ProtoUDP,
		Src: [4]byte{10, 0, 0, 6}, Dst: [4]byte{255, 255, 255, 255}})
	return f
}

// TestOverlayIsolation checks that an overlay vNIC's virtual subnet and the
// underlay do not meet in the switch: floods stay within a VSID, unicast
// does not cross, and what leaves for the wire from a vNIC is only what VFP
// rewrote (Microsoft Learn, "network drivers and topologies": each overlay
// network has its own subnet, VXLAN provides the isolation; overlay has no
// IPv6).
func TestOverlayIsolation(t *testing.T) {
	s, ext, host, a, b, other := overlaySwitch(t)
	names := func(ids []PortID) []string {
		var out []string
		for _, id := range ids {
			out = append(out, s.Port(id).Name)
		}
		return out
	}
	floods := []struct {
		name string
		in   PortID
		want []string
	}{
		{"underlay broadcast reaches no pod", ext, []string{"vEthernet (vxlan0)"}},
		{"management OS broadcast reaches no pod", host, []string{"eth0"}},
		{"pod broadcast stays in its VSID", a, []string{"pod-b"}},
		{"a VSID alone floods to nobody", other, nil},
	}
	for _, tt := range floods {
		t.Run(tt.name, func(t *testing.T) {
			got := names(s.FloodTargets(tt.in, nil))
			if !slices.Equal(got, tt.want) {
				t.Errorf("FloodTargets = %v, want %v", got, tt.want)
			}
		})
	}

	unicast := []struct {
		name      string
		in        PortID
		f         []byte
		wantPort  PortID
		wantFlood bool
		want      drop.Reason
	}{
		{"underlay to a pod MAC", ext, frame(podA, peerMAC, header.EtherTypeIPv4), None, false, drop.VSIDMismatch},
		{"pod to a pod of another VSID", a, frame(podOther, podA, header.EtherTypeIPv4), None, false, drop.VSIDMismatch},
		{"pod to a pod of its VSID", a, frame(podB, podA, header.EtherTypeIPv4), b, false, drop.None},
		{"management OS to a local pod (HostRoute)", host, frame(podA, hostMAC, header.EtherTypeIPv4), a, false, drop.None},
		{"pod to the host vNIC", a, frame(hostMAC, podA, header.EtherTypeIPv4), host, false, drop.None},
		{"pod frame VFP did not rewrite to the wire", a, frame(peerMAC, podA, header.EtherTypeIPv4), None, false, drop.VSIDMismatch},
		{"pod frame VFP rewrote (encap or NAT) to the wire", a, frame(peerMAC, hostMAC, header.EtherTypeIPv4), ext, false, drop.None},
		{"pod IPv6 unicast", a, frame(peerMAC, podA, header.EtherTypeIPv6), None, false, drop.IPv6Unsupported},
		{"pod ARP broadcast floods", a, frame(header.BroadcastMAC, podA, header.EtherTypeARP), None, true, drop.None},
	}
	for _, tt := range unicast {
		t.Run(tt.name, func(t *testing.T) {
			var p packet.Parsed
			p.Decode(tt.f)
			d := s.Forward(tt.in, &p)
			if d.Reason != tt.want || d.Flood != tt.wantFlood || (d.Reason == drop.None && !d.Flood && d.Port != tt.wantPort) {
				t.Errorf("Forward = %+v, want port %d flood %v reason %v", d, tt.wantPort, tt.wantFlood, tt.want)
			}
		})
	}
}
