package emutest

import (
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// VXLAN4 builds a VXLAN frame with gopacket: outer Ethernet, IPv4 (TTL 64,
// DF), UDP from sport to dport (checksum computed) and a VXLAN header with
// the I flag and vni, around the inner frame.
func VXLAN4(t testing.TB, srcMAC, dstMAC, srcPA, dstPA string, sport, dport uint16, vni uint32, inner []byte) []byte {
	t.Helper()
	return Serialize(t, Eth(srcMAC, dstMAC, layers.EthernetTypeIPv4), IPv4(srcPA, dstPA, layers.IPProtocolUDP, 64),
		&layers.UDP{SrcPort: layers.UDPPort(sport), DstPort: layers.UDPPort(dport)},
		&layers.VXLAN{ValidIDFlag: true, VNI: vni}, gopacket.Payload(inner))
}

// VXLANOuter is the outer part of a VXLAN frame decoded with gopacket layer
// by layer (docs/style.md: one parser would let the inner headers overwrite the
// outer ones), with the inner frame's bytes.
type VXLANOuter struct {
	Eth   layers.Ethernet
	IPv4  layers.IPv4
	UDP   layers.UDP
	VXLAN layers.VXLAN
	Inner []byte
}

// DecodeVXLAN4 decodes an Ethernet/IPv4/UDP/VXLAN frame layer by layer and
// fails the test if any layer does not decode.
func DecodeVXLAN4(t testing.TB, frame []byte) *VXLANOuter {
	t.Helper()
	var o VXLANOuter
	df := gopacket.NilDecodeFeedback
	if err := o.Eth.DecodeFromBytes(frame, df); err != nil {
		t.Fatalf("outer Ethernet: %v", err)
	}
	if o.Eth.EthernetType != layers.EthernetTypeIPv4 {
		t.Fatalf("outer EtherType = %v, want IPv4", o.Eth.EthernetType)
	}
	if err := o.IPv4.DecodeFromBytes(o.Eth.Payload, df); err != nil {
		t.Fatalf("outer IPv4: %v", err)
	}
	if o.IPv4.Protocol != layers.IPProtocolUDP {
		t.Fatalf("outer protocol = %v, want UDP", o.IPv4.Protocol)
	}
	if err := o.UDP.DecodeFromBytes(o.IPv4.Payload, df); err != nil {
		t.Fatalf("outer UDP: %v", err)
	}
	if err := o.VXLAN.DecodeFromBytes(o.UDP.Payload, df); err != nil {
		t.Fatalf("VXLAN: %v", err)
	}
	o.Inner = o.VXLAN.Payload
	return &o
}
