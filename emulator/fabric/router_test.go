package fabric_test

import (
	"bytes"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/hnspath/hnspath/emulator/drop"
	"github.com/hnspath/hnspath/emulator/emutest"
	"github.com/hnspath/hnspath/emulator/fabric"
)

// TestRouterICMPErrors checks that the underlay router reports the packets
// it drops to their source as a router does (RFC 1812 §5.3.1 time
// exceeded, §5.2.7.1 net unreachable), from its address on the source's
// subnet (§4.3.2.4), quoting the whole datagram when it fits in 576 bytes
// (§4.3.2.3); decoded by gopacket.
func TestRouterICMPErrors(t *testing.T) {
	tests := []struct {
		name     string
		dst      string
		ttl      uint8
		typeCode layers.ICMPv4TypeCode
		reason   drop.Reason
	}{
		{"TTL expires", "198.18.0.10", 1, layers.CreateICMPv4TypeCode(layers.ICMPv4TypeTimeExceeded, 0), drop.TTLExceeded},
		{"no route", "203.0.113.5", 64, layers.CreateICMPv4TypeCode(layers.ICMPv4TypeDestinationUnreachable, 0), drop.NoRoute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newNAT(t, fabric.Options{})
			ip := emutest.IPv4("10.0.0.99", tt.dst, layers.IPProtocolUDP, tt.ttl)
			udp := &layers.UDP{SrcPort: 40000, DstPort: 9000}
			udp.SetNetworkLayerForChecksum(ip)
			in := emutest.Serialize(t, emutest.Eth(macClient, macRouter, layers.EthernetTypeIPv4), ip, udp, gopacket.Payload("routed?"))
			var res fabric.Outcome
			f.Inject(port(t, f, "client"), in, 0, &res)
			d := only(t, f, &res, "client")
			if d.IPv4 == nil || d.ICMP == nil {
				t.Fatalf("client got %v, want an ICMP error", d.Packet)
			}
			if d.IPv4.SrcIP.String() != "10.0.0.1" || d.IPv4.DstIP.String() != "10.0.0.99" {
				t.Errorf("error %s -> %s, want 10.0.0.1 -> 10.0.0.99", d.IPv4.SrcIP, d.IPv4.DstIP)
			}
			if d.ICMP.TypeCode != tt.typeCode {
				t.Errorf("ICMP %v, want %v", d.ICMP.TypeCode, tt.typeCode)
			}
			if want := in[14 : 14+(int(in[16])<<8|int(in[17]))]; !bytes.Equal(d.ICMP.Payload, want) {
				t.Errorf("quote\n %x\nwant the whole datagram\n %x", d.ICMP.Payload, want)
			}
			if len(res.Drops) != 1 || res.Drops[0].Reason != tt.reason {
				t.Errorf("drops %+v, want one %v", res.Drops, tt.reason)
			}
		})
	}
}
