package vfpctrl

import (
	"net/netip"
	"strconv"

	"github.com/hnspath/hnspath/emulator/header"
	"github.com/hnspath/hnspath/emulator/packet"
	"github.com/hnspath/hnspath/emulator/vfp"
)

// macString formats a MAC the way Windows does: 00-15-5D-0A-0B-0C.
func macString(m header.MAC) string {
	const hex = "0123456789ABCDEF"
	var b [17]byte
	for i, c := range m {
		if i > 0 {
			b[i*3-1] = '-'
		}
		b[i*3] = hex[c>>4]
		b[i*3+1] = hex[c&0xf]
	}
	return string(b[:])
}

func familyOK(a netip.Addr, v6 bool) bool {
	if !a.IsValid() || a.Is4In6() {
		return false
	}
	return a.Is6() == v6
}

func famName(v6 bool) string {
	if v6 {
		return "IPv6"
	}
	return "IPv4"
}

// tupleString formats a tuple as "6 10.0.0.1:1000 -> 10.0.0.2:80".
func tupleString(t packet.Tuple) string {
	s, d := t.SrcAddr(), t.DstAddr()
	return strconv.Itoa(int(t.Proto)) + " " + netip.AddrPortFrom(s, t.SrcPort).String() + " -> " + netip.AddrPortFrom(d, t.DstPort).String()
}

// distNames are the distributions' names in value order.
var distNames = func() []string {
	var out []string
	for d := vfp.DistributePerConnection; d <= vfp.DistributeSourceIP; d++ {
		out = append(out, d.String())
	}
	return out
}()
