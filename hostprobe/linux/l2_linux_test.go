package linux

import (
	"bytes"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// TestIPVlanMacvlanMAC checks the MAC a container child link shows on the wire: an ipvlan
// L2 child shares its parent's MAC (the Linux analogue of l2bridge's MAC rewrite), a
// macvlan bridge child has its own (transparent). The frames checked are the ones the
// container's kernel emits itself: its ARP request and the port unreachable it sends to
// a wire peer.
func TestIPVlanMacvlanMAC(t *testing.T) {
	tests := []struct {
		kind      string
		add       func(host *Namespace, ctr *Namespace) error
		sharesMAC bool
		wantKind  string
	}{
		{"ipvlan", func(h, c *Namespace) error { return h.AddIPVlan("eth0", "eth0", c) }, true, "ipvlan"},
		{"macvlan", func(h, c *Namespace) error { return h.AddMacvlan("eth0", "eth0", c) }, false, "macvlan"},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			l := newTestLab(t)
			host, ctr, wire := newNS(t, l, "host"), newNS(t, l, "ctr"), newNS(t, l, "wire")
			must(t, host.AddVeth("eth0", wire, "eth0"))
			if err := tt.add(host, ctr); errors.Is(err, ErrLinkKindUnsupported) {
				t.Skipf("this kernel cannot create %s links: %v", tt.kind, err)
			} else {
				must(t, err)
			}
			must(t, host.SetUp("eth0"))
			must(t, wire.AddAddr("eth0", pfx("10.1.0.1/24")))
			must(t, wire.SetUp("eth0"))
			must(t, ctr.AddAddr("eth0", pfx("10.1.0.5/24")))
			must(t, ctr.SetUp("eth0"))

			must(t, l.WaitReady(5*time.Second))
			parent, err := host.Link("eth0")
			must(t, err)
			child, err := ctr.Link("eth0")
			must(t, err)
			if child.Kind != tt.wantKind {
				t.Errorf("child kind: got %q, want %q", child.Kind, tt.wantKind)
			}
			if got := bytes.Equal(child.MAC, parent.MAC); got != tt.sharesMAC {
				t.Errorf("child MAC %v, parent MAC %v: got shared=%v, want %v", child.MAC, parent.MAC, got, tt.sharesMAC)
			}
			macWire := mac(t, wire, "eth0")

			c, err := l.NewCapturer(CapturePoint{wire, "eth0"}, CapturePoint{host, "eth0"})
			must(t, err)
			inj, err := wire.NewInjector("eth0")
			must(t, err)
			eth, ip := ethIPv4(macWire, child.MAC, "10.1.0.1", "10.1.0.5", layers.IPProtocolUDP)
			must(t, inj.Inject(serialize(t, eth, ip, &layers.UDP{SrcPort: 50000, DstPort: 7}, gopacket.Payload("x"))))
			fs := drain(t, c)

			srcMAC := func(t *testing.T, p gopacket.Packet) {
				t.Helper()
				if e := p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet); !bytes.Equal(e.SrcMAC, child.MAC) {
					t.Errorf("got eth src %v, want the child's %v", e.SrcMAC, child.MAC)
				}
			}
			arpReq := func(t *testing.T, p gopacket.Packet) {
				t.Helper()
				srcMAC(t, p)
				arp, _ := p.Layer(layers.LayerTypeARP).(*layers.ARP)
				if arp == nil || arp.Operation != layers.ARPRequest || !bytes.Equal(arp.SourceHwAddress, child.MAC) || !net.IP(arp.SourceProtAddress).Equal(ip4("10.1.0.5")) {
					t.Errorf("got %v, want ARP request from 10.1.0.5 at %v", describe(Frame{Data: p.Data()}), child.MAC)
				}
			}
			unreach := func(t *testing.T, p gopacket.Packet) {
				t.Helper()
				srcMAC(t, p)
				ip, _ := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
				ic, _ := p.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4)
				if ip == nil || ic == nil || !ip.SrcIP.Equal(ip4("10.1.0.5")) || ic.TypeCode.Type() != layers.ICMPv4TypeDestinationUnreachable {
					t.Errorf("got %v, want ICMP unreachable from 10.1.0.5", describe(Frame{Data: p.Data()}))
					return
				}
				checkChecksums(t, p)
			}
			arpRep := func(t *testing.T, p gopacket.Packet) {
				t.Helper()
				if e := p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet); !bytes.Equal(e.DstMAC, child.MAC) {
					t.Errorf("got eth dst %v, want the child's %v", e.DstMAC, child.MAC)
				}
			}
			// The parent sees the injected datagram come in and the container's answers go out;
			// the wire sees the answers come in (its own injected frame is not recorded).
			want := []step{{In, "udp from the wire", nil}, {Out, "arp request", arpReq}, {In, "arp reply", arpRep}, {Out, "port unreachable", unreach}}
			wantWire := []step{{In, "arp request", arpReq}, {Out, "arp reply", arpRep}, {In, "port unreachable", unreach}}
			expectSeq(t, "host/eth0", ipv4Frames(fs.On("host/eth0")), want)
			expectSeq(t, "wire/eth0", ipv4Frames(fs.On("wire/eth0")), wantWire)
		})
	}
}
