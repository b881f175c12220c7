package header_test

import (
	"testing"

	"github.com/hnspath/hnspath/emulator/header"
)

// FuzzViews feeds random bytes to every view: after IsValid, no accessor may
// panic, and setters that keep checksums keep them right.
func FuzzViews(f *testing.F) {
	f.Add([]byte("\x45\x00\x00\x1c\x00\x00\x40\x00\x40\x11\x00\x00\x0a\x00\x00\x01\x0a\x00\x00\x02\x00\x01\x00\x02\x00\x08\x00\x00"))
	f.Add([]byte("\x60\x00\x00\x00\x00\x08\x00\x40" + string(make([]byte, 32)) + "\x11\x00\x00\x00\x00\x00\x00\x00"))
	f.Add(make([]byte, 60))
	f.Fuzz(func(t *testing.T, b []byte) {
		if e := header.Ethernet(b); e.IsValid() {
			_, _, _ = e.DstMAC(), e.SrcMAC(), e.EtherType()
		}
		if v := header.VLAN(b); v.IsValid() {
			_, _, _ = v.VID(), v.PCP(), v.EtherType()
		}
		if a := header.ARP(b); a.IsValid() {
			_, _, _, _, _ = a.Op(), a.SenderMAC(), a.SenderIP(), a.TargetMAC(), a.TargetIP()
		}
		if ip := header.IPv4(b); ip.IsValid() {
			_, _, _ = ip.Options(), ip.Payload(), ip.FragmentOffset()
			valid := ip.IsChecksumValid()
			ip.SetTTLWithChecksumUpdate(ip.TTL() ^ 0x5a)
			ip.SetSrcAddrWithChecksumUpdate([4]byte{198, 18, 1, 2})
			ip.SetIDWithChecksumUpdate(ip.ID() + 1)
			if valid && !ip.IsChecksumValid() {
				t.Fatalf("IPv4 checksum broken by incremental setters")
			}
		}
		if ip := header.IPv6(b); ip.IsValid() {
			tr, ok := ip.Transport()
			if ok && (tr.Offset < header.IPv6MinimumSize || tr.Offset > len(b)) {
				t.Fatalf("transport offset %d out of range", tr.Offset)
			}
		}
		if tc := header.TCP(b); tc.IsValid() {
			_, _ = tc.Options(), tc.Payload()
			tc.MSS()
			tc.ClampMSSWithChecksumUpdate(536)
		}
		if u := header.UDP(b); u.IsValid() {
			_, _ = u.Payload(), u.Length()
		}
		if m := header.ICMPv4(b); m.IsValid() {
			_, _, _ = m.Payload(), m.IsQuery(), m.IsError()
		}
		if m := header.ICMPv6(b); m.IsValid() {
			_, _ = m.Payload(), m.IsError()
		}
		if x := header.VXLAN(b); x.IsValid() {
			_, _ = x.VNI(), x.Inner()
		}
	})
}
