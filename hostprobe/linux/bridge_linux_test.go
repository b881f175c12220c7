package linux

import (
	"bytes"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// TestMACRewrite builds l2bridge's MAC rewrite with bridge-family rules instead of
// ipvlan: a container with its own MAC behind a bridge whose uplink goes to a wire peer.
// On the wire, every frame of the container (its ARP included) must carry the host's MAC;
// frames the wire sends to the host's MAC for the container's IP must reach it.
func TestMACRewrite(t *testing.T) {
	l := newTestLab(t)
	host, ctr, wire := newNS(t, l, "host"), newNS(t, l, "ctr"), newNS(t, l, "wire")
	must(t, host.AddBridge("br0"))
	must(t, host.AddVeth("up", wire, "eth0"))
	must(t, host.AddVeth("vc", ctr, "eth0"))
	must(t, host.SetMaster("up", "br0"))
	must(t, host.SetMaster("vc", "br0"))
	hostMAC := mustMAC("02:48:00:00:00:01")
	must(t, host.SetMAC("br0", hostMAC))
	must(t, host.SetUp("br0", "up", "vc"))
	must(t, ctr.AddAddr("eth0", pfx("10.1.0.5/24")))
	must(t, ctr.SetUp("eth0"))
	must(t, wire.AddAddr("eth0", pfx("10.1.0.1/24")))
	must(t, wire.SetUp("eth0"))
	must(t, l.WaitReady(5*time.Second))
	ctrMAC, wireMAC := mac(t, ctr, "eth0"), mac(t, wire, "eth0")

	for _, r := range []MACRewrite{
		// Egress: ARP first (it also rewrites the sender inside ARP), then everything else.
		{Name: "egress-arp", Stage: BridgeEgress, Port: "up", EtherType: EtherTypeARP, SrcMAC: ctrMAC, SetSrcMAC: hostMAC, SetARPSenderMAC: hostMAC},
		{Name: "egress", Stage: BridgeEgress, Port: "up", SrcMAC: ctrMAC, SetSrcMAC: hostMAC},
		// Ingress: frames for the host's MAC that are for the container's IP.
		{Name: "ingress-ip", Stage: BridgeIngress, Port: "up", EtherType: EtherTypeIPv4, DstMAC: hostMAC, DstIP: addr("10.1.0.5"), SetDstMAC: ctrMAC},
		{Name: "ingress-arp", Stage: BridgeIngress, Port: "up", EtherType: EtherTypeARP, DstMAC: hostMAC, DstIP: addr("10.1.0.5"), SetDstMAC: ctrMAC, SetARPTargetMAC: ctrMAC},
	} {
		must(t, host.AddMACRewrite(r))
	}

	c, err := l.NewCapturer(CapturePoint{wire, "eth0"}, CapturePoint{ctr, "eth0"})
	must(t, err)
	inj, err := wire.NewInjector("eth0")
	must(t, err)
	eth, ip := ethIPv4(wireMAC, hostMAC, "10.1.0.1", "10.1.0.5", layers.IPProtocolUDP)
	must(t, inj.Inject(serialize(t, eth, ip, &layers.UDP{SrcPort: 50000, DstPort: 7}, gopacket.Payload("x"))))
	fs := drain(t, c)

	ethIs := func(src, dst net.HardwareAddr) func(*testing.T, gopacket.Packet) {
		return func(t *testing.T, p gopacket.Packet) {
			t.Helper()
			e := p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
			if src != nil && !bytes.Equal(e.SrcMAC, src) || dst != nil && !bytes.Equal(e.DstMAC, dst) {
				t.Errorf("got eth %v -> %v, want %v -> %v", e.SrcMAC, e.DstMAC, src, dst)
			}
			if arp, ok := p.Layer(layers.LayerTypeARP).(*layers.ARP); ok {
				// The ARP payload must agree with the Ethernet header.
				if arp.Operation == layers.ARPRequest && src != nil && !bytes.Equal(arp.SourceHwAddress, src) {
					t.Errorf("arp request: got sha %v, want %v", net.HardwareAddr(arp.SourceHwAddress), src)
				}
				if arp.Operation == layers.ARPReply && dst != nil && !bytes.Equal(arp.DstHwAddress, dst) {
					t.Errorf("arp reply: got tha %v, want %v", net.HardwareAddr(arp.DstHwAddress), dst)
				}
			}
			if p.Layer(layers.LayerTypeIPv4) != nil {
				checkChecksums(t, p)
			}
		}
	}
	bcast := mustMAC("ff:ff:ff:ff:ff:ff")
	expectSeq(t, "wire/eth0", ipv4Frames(fs.On("wire/eth0")), []step{
		{In, "container's arp request, as the host", ethIs(hostMAC, bcast)},
		{Out, "arp reply to the host's MAC", ethIs(wireMAC, hostMAC)},
		{In, "port unreachable, as the host", ethIs(hostMAC, wireMAC)},
	})
	expectSeq(t, "ctr/eth0", ipv4Frames(fs.On("ctr/eth0")), []step{
		{In, "datagram, steered to the container", ethIs(wireMAC, ctrMAC)},
		{Out, "arp request", ethIs(ctrMAC, bcast)},
		{In, "arp reply, steered to the container", ethIs(wireMAC, ctrMAC)},
		{Out, "port unreachable", ethIs(ctrMAC, wireMAC)},
	})
	for name, want := range map[string]uint64{"egress-arp": 1, "egress": 1, "ingress-ip": 1, "ingress-arp": 1} {
		if got, err := host.Counter(name); err != nil || got.Packets != want {
			t.Errorf("counter %s: got %+v, %v; want %d packets", name, got, err, want)
		}
	}
}

// TestMACRewriteErrors checks that malformed rewrites are rejected with an error naming
// the field.
func TestMACRewriteErrors(t *testing.T) {
	m := mustMAC("02:00:00:00:00:01")
	tests := []struct {
		name    string
		r       MACRewrite
		wantErr string
	}{
		{"no stage", MACRewrite{SetSrcMAC: m}, "stage bridge-stage(0): unknown"},
		{"nothing to do", MACRewrite{Stage: BridgeEgress}, "nothing to rewrite"},
		{"short mac", MACRewrite{Stage: BridgeEgress, SetSrcMAC: m[:3]}, "set src mac"},
		{"arp without ether type", MACRewrite{Stage: BridgeEgress, SetARPSenderMAC: m}, "arp rewrites need ether type 0x0806"},
		{"dst ip without ether type", MACRewrite{Stage: BridgeIngress, DstIP: addr("10.0.0.1"), SetDstMAC: m}, "does not go with ether type"},
		{"v6 ip on ipv4", MACRewrite{Stage: BridgeIngress, EtherType: EtherTypeIPv4, DstIP: addr("fd00::1"), SetDstMAC: m}, "does not go with ether type"},
		{"bad port", MACRewrite{Stage: BridgeIngress, Port: "x/y", SetDstMAC: m}, "port: interface name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := macRewriteExprs(tt.r)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("got %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}
