package vfp

import (
	"encoding/binary"
	"net/netip"
	"strconv"
	"strings"

	"github.com/hnspath/hnspath/emulator/checksum"
	"github.com/hnspath/hnspath/emulator/drop"
	"github.com/hnspath/hnspath/emulator/header"
	"github.com/hnspath/hnspath/emulator/packet"
)

// HeaderOp is what a header transposition does to one header group: the
// operations of VFP's header transpositions and of GFT, its NIC offload
// form (MODIFY, IGNORE, PUSH, POP; reference windows-behaviour.md §1.1).
type HeaderOp uint8

// Header operations.
const (
	OpIgnore HeaderOp = iota
	OpModify
	OpPush
	OpPop
)

var headerOpNames = [...]string{"Ignore", "Modify", "Push", "Pop"}

// String returns the operation's name.
func (o HeaderOp) String() string {
	if int(o) < len(headerOpNames) {
		return headerOpNames[o]
	}
	return "op?"
}

// modBits says which fields a modify writes.
type modBits uint8

const (
	modSrcMAC modBits = 1 << iota
	modDstMAC
	modSrcIP
	modDstIP
	modSrcPort
	modDstPort

	modMACs  = modSrcMAC | modDstMAC
	modIPs   = modSrcIP | modDstIP
	modPorts = modSrcPort | modDstPort
)

// modify writes fixed values into the outermost headers. It holds no
// pointers (addresses are ipAddr, not netip.Addr), so that layer flows
// and transpositions that embed it are small and the collector skips them.
type modify struct {
	set              modBits
	srcMAC, dstMAC   header.MAC
	srcIP, dstIP     ipAddr
	srcPort, dstPort uint16
}

// ipAddr is an IP address in 17 bytes without a pointer: its 16-byte
// form and its family (0 for the zero netip.Addr).
type ipAddr struct {
	b   [16]byte
	fam uint8 // 0, 4 or 6
}

func addrOf(a netip.Addr) ipAddr {
	switch {
	case a.Is4():
		return ipAddr{b: a.As16(), fam: 4}
	case a.Is6():
		return ipAddr{b: a.WithZone("").As16(), fam: 6}
	}
	return ipAddr{}
}

// addr returns the address as a netip.Addr. It does not allocate.
func (x *ipAddr) addr() netip.Addr {
	switch x.fam {
	case 4:
		return netip.AddrFrom4([4]byte(x.b[12:16]))
	case 6:
		return netip.AddrFrom16(x.b)
	}
	return netip.Addr{}
}

// then returns m followed by o (o's values win).
func (m modify) then(o *modify) modify {
	if o.set&modSrcMAC != 0 {
		m.srcMAC = o.srcMAC
	}
	if o.set&modDstMAC != 0 {
		m.dstMAC = o.dstMAC
	}
	if o.set&modSrcIP != 0 {
		m.srcIP = o.srcIP
	}
	if o.set&modDstIP != 0 {
		m.dstIP = o.dstIP
	}
	if o.set&modSrcPort != 0 {
		m.srcPort = o.srcPort
	}
	if o.set&modDstPort != 0 {
		m.dstPort = o.dstPort
	}
	m.set |= o.set
	return m
}

// apply writes the fields into the packet with the checksum-keeping
// setters of package packet. It does not allocate.
func (m *modify) apply(pp *packet.Parsed) {
	if m.set == 0 {
		return
	}
	// MACs are written as 6-byte arrays: the same as Parsed.SetSrcMAC and
	// SetDstMAC, without the memmove call their copy() compiles to.
	if m.set&modSrcMAC != 0 {
		*(*[6]byte)(pp.Bytes()[6:12]) = m.srcMAC
		pp.SrcMAC = m.srcMAC
	}
	if m.set&modDstMAC != 0 {
		*(*[6]byte)(pp.Bytes()[0:6]) = m.dstMAC
		pp.DstMAC = m.dstMAC
	}
	if !pp.IsIP() {
		return
	}
	if m.set&modSrcIP != 0 {
		if a := m.srcIP.addr(); pp.Src != a {
			pp.SetSrcIP(a)
		}
	}
	if m.set&modDstIP != 0 {
		if a := m.dstIP.addr(); pp.Dst != a {
			pp.SetDstIP(a)
		}
	}
	if pp.L4 == 0 {
		return
	}
	if m.set&modSrcPort != 0 && pp.SrcPort != m.srcPort {
		pp.SetSrcPort(m.srcPort)
	}
	if m.set&modDstPort != 0 && pp.DstPort != m.dstPort {
		pp.SetDstPort(m.dstPort)
	}
}

// inverse returns the modify that undoes m on the reply of a flow whose
// tuple and MACs were t, srcMAC, dstMAC before m.
func (m *modify) inverse(t *packet.Tuple, srcMAC, dstMAC header.MAC) modify {
	var r modify
	if m.set&modSrcIP != 0 {
		r.set |= modDstIP
		r.dstIP = addrOf(t.SrcAddr())
	}
	if m.set&modDstIP != 0 {
		r.set |= modSrcIP
		r.srcIP = addrOf(t.DstAddr())
	}
	if m.set&modSrcPort != 0 {
		r.set |= modDstPort
		r.dstPort = t.SrcPort
	}
	if m.set&modDstPort != 0 {
		r.set |= modSrcPort
		r.srcPort = t.DstPort
	}
	if m.set&modSrcMAC != 0 {
		r.set |= modDstMAC
		r.dstMAC = srcMAC
	}
	if m.set&modDstMAC != 0 {
		// The reply comes from the address the request was sent to and
		// goes back to whoever sent the request (an LB NAT that sent the
		// request to a DIP's MAC answers the client's router, not itself).
		r.set |= modSrcMAC | modDstMAC
		r.srcMAC = dstMAC
		if m.set&modSrcMAC == 0 {
			r.dstMAC = srcMAC
		}
	}
	return r
}

func (m *modify) describe(b *strings.Builder) {
	sep := ""
	w := func(k, v string) {
		b.WriteString(sep)
		b.WriteString(k)
		b.WriteString(" ")
		b.WriteString(v)
		sep = ", "
	}
	if m.set&modSrcMAC != 0 {
		w("src MAC", m.srcMAC.WindowsString())
	}
	if m.set&modDstMAC != 0 {
		w("dst MAC", m.dstMAC.WindowsString())
	}
	if m.set&modSrcIP != 0 {
		w("src IP", m.srcIP.addr().String())
	}
	if m.set&modDstIP != 0 {
		w("dst IP", m.dstIP.addr().String())
	}
	if m.set&modSrcPort != 0 {
		w("src port", strconv.Itoa(int(m.srcPort)))
	}
	if m.set&modDstPort != 0 {
		w("dst port", strconv.Itoa(int(m.dstPort)))
	}
}

// encapTemplate is a VXLAN outer header stack with every per-flow value
// resolved (the entropy source port included), and the 50 header bytes
// prebuilt: per packet only the lengths, the IPv4 ID and checksum change.
type encapTemplate struct {
	srcMAC, dstMAC header.MAC
	src, dst       [4]byte
	ttl            uint8
	df             bool
	sport, dport   uint16
	vni            uint32
	mtu            int
	hdr            [header.VXLANOverhead]byte
	ipSum          uint16 // sum of the IPv4 header with length, ID and checksum zero
}

// Offsets in the prebuilt outer headers.
const (
	outerIP     = header.EthernetMinimumSize
	outerIPLenO = outerIP + 2
	outerIPIDO  = outerIP + 4
	outerIPSumO = outerIP + 10
	outerUDP    = outerIP + header.IPv4MinimumSize
	outerUDPLen = outerUDP + 4
	outerVXLAN  = outerUDP + header.UDPSize
)

// build fills hdr and ipSum from the fields.
func (t *encapTemplate) build() {
	b := t.hdr[:]
	header.Ethernet(b).Encode(t.dstMAC, t.srcMAC, header.EtherTypeIPv4)
	var flags uint16
	if t.df {
		flags = header.IPv4FlagDontFragment
	}
	f := header.IPv4Fields{Flags: flags, TTL: t.ttl, Protocol: header.ProtoUDP, Src: t.src, Dst: t.dst}
	ip := header.IPv4(b[outerIP:])
	ip.Encode(&f)
	ip.SetChecksum(0)
	t.ipSum = checksum.Checksum(b[outerIP:outerUDP], 0)
	header.UDP(b[outerUDP:]).Encode(t.sport, t.dport, 0)
	header.VXLAN(b[outerVXLAN:]).Encode(t.vni)
}

type stepOp uint8

const (
	opModify   stepOp = iota // write fields of the outermost headers
	opPop                    // remove the VXLAN outer headers
	opPush                   // add VXLAN outer headers
	opMSSDelta               // lower a SYN's MSS option by mss
	opMSSClamp               // lower a SYN's MSS option to at most mss
)

// htStep is one operation of a header transposition. Steps run in order;
// each sees the packet as the previous left it.
type htStep struct {
	op   stepOp
	mss  uint16
	mod  modify
	push encapTemplate
}

// maxSteps bounds a composed transposition; a flow whose layers need more
// is not cached (every packet takes the slow path).
const maxSteps = 8

// htBuilder composes the layers' actions into one transposition: adjacent
// modifies merge into one, as VFP's flow compiler folds the layers' header
// actions into a single HT per unified flow.
type htBuilder struct {
	steps    [maxSteps]htStep
	n        int
	overflow bool
}

func (b *htBuilder) reset() { b.n, b.overflow = 0, false }

func (b *htBuilder) add(s htStep) {
	if s.op == opModify && b.n > 0 && b.steps[b.n-1].op == opModify {
		b.steps[b.n-1].mod = b.steps[b.n-1].mod.then(&s.mod)
		return
	}
	if b.n == maxSteps {
		b.overflow = true
		return
	}
	b.steps[b.n] = s
	b.n++
}

func (b *htBuilder) addModify(m *modify) {
	if m.set != 0 {
		b.add(htStep{op: opModify, mod: *m})
	}
}

// applyHT runs a cached transposition on a packet; pp follows the packet
// (re-decoded after a push or pop). It does not allocate.
func (p *Port) applyHT(steps []htStep, buf *packet.Buffer, pp *packet.Parsed) drop.Reason {
	for i := range steps {
		s := &steps[i]
		switch s.op {
		case opModify:
			s.mod.apply(pp)
		case opPop:
			if !p.popVXLAN(buf, pp) {
				return drop.VFPInvalid
			}
		case opPush:
			if r := p.push(buf, pp, &s.push, true); r != drop.None {
				return r
			}
		case opMSSDelta:
			mssDelta(pp, s.mss)
		case opMSSClamp:
			pp.ClampMSS(s.mss)
		}
	}
	return drop.None
}

// outerIPLen returns the outer IPv4 total length a frame of n bytes gets
// once encapsulated: IPv4 20 + UDP 8 + VXLAN 8 + the inner frame.
func outerIPLen(n int) int {
	return header.IPv4MinimumSize + header.UDPSize + header.VXLANSize + n
}

// push encapsulates the frame in buf into the headroom (no copy): outer
// Ethernet, IPv4, UDP (checksum 0, RFC 7348 section 5: "SHOULD be
// transmitted as zero"), VXLAN with the I flag. With checkMTU it first
// drops frames whose outer datagram would exceed the template's MTU.
func (p *Port) push(buf *packet.Buffer, pp *packet.Parsed, t *encapTemplate, checkMTU bool) drop.Reason {
	inner := buf.Len()
	ipLen := outerIPLen(inner)
	if ipLen > 0xffff || (checkMTU && t.mtu > 0 && ipLen > t.mtu) {
		return drop.MTUMismatch
	}
	b, ok := buf.Push(header.VXLANOverhead)
	if !ok {
		return drop.FrameTooBig
	}
	*(*[header.VXLANOverhead]byte)(b) = t.hdr
	var id uint16
	if !t.df {
		// With DF set the datagram is atomic and its ID has no meaning
		// (RFC 6864 section 4.1); it stays 0.
		p.ipID++
		id = p.ipID
	}
	binary.BigEndian.PutUint16(b[outerIPLenO:], uint16(ipLen))
	binary.BigEndian.PutUint16(b[outerIPIDO:], id)
	binary.BigEndian.PutUint16(b[outerIPSumO:], ^checksum.Combine(checksum.Combine(t.ipSum, uint16(ipLen)), id))
	binary.BigEndian.PutUint16(b[outerUDPLen:], uint16(header.UDPSize+header.VXLANSize+inner))
	pp.Decode(buf.Bytes())
	return drop.None
}

// popVXLAN removes the outer Ethernet, IP, UDP and VXLAN headers (a
// reslice) and decodes the inner frame; it reports whether that frame is
// valid. The inner frame was already decoded to build the flow key: when
// the bytes are the very same (same start and length), that decoding is
// reused instead of decoding again.
func (p *Port) popVXLAN(buf *packet.Buffer, pp *packet.Parsed) bool {
	if pp.L4 == 0 {
		return false
	}
	n := pp.L4 + header.UDPSize + header.VXLANSize
	if n > buf.Len() || !buf.Pull(n) {
		return false
	}
	fb := buf.Bytes()
	if ib := p.inner.Bytes(); p.innerOK && len(ib) == len(fb) && len(fb) > 0 && &ib[0] == &fb[0] {
		*pp = p.inner
	} else {
		pp.Decode(fb)
	}
	p.innerOK = false
	return pp.Valid()
}

// minMSS is the MSS a delta never goes below: the default MSS of RFC 9293
// section 3.7.1 (536 = 576 - 40).
const minMSS = 536

// mssDelta lowers the MSS option of a TCP SYN by d, not below minMSS.
func mssDelta(pp *packet.Parsed, d uint16) {
	if d == 0 || pp.IPProto != header.ProtoTCP || pp.L4 == 0 || pp.TCPFlags&header.TCPFlagSYN == 0 {
		return
	}
	m, _, ok := pp.TCP().MSS()
	if !ok || m <= minMSS {
		return
	}
	target := uint16(minMSS)
	if m > d && m-d > minMSS {
		target = m - d
	}
	pp.ClampMSS(target)
}

// Transposition is the composed header transposition of a unified flow,
// summarised per header group.
type Transposition struct {
	Ethernet, IP, L4, Encap HeaderOp
	// Actions describes the steps in order, e.g.
	// "modify(src IP 10.0.0.4, src port 1024); push VXLAN(VNI 4096 ...)".
	Actions string
}

func summarize(steps []htStep) Transposition {
	var t Transposition
	var b strings.Builder
	up := func(op *HeaderOp, v HeaderOp) {
		if *op == OpIgnore || v == OpPush || v == OpPop {
			*op = v
		}
	}
	for i := range steps {
		s := &steps[i]
		if i > 0 {
			b.WriteString("; ")
		}
		switch s.op {
		case opModify:
			if s.mod.set&modMACs != 0 {
				up(&t.Ethernet, OpModify)
			}
			if s.mod.set&modIPs != 0 {
				up(&t.IP, OpModify)
			}
			if s.mod.set&modPorts != 0 {
				up(&t.L4, OpModify)
			}
			b.WriteString("modify(")
			s.mod.describe(&b)
			b.WriteString(")")
		case opPop:
			t.Ethernet, t.IP, t.L4, t.Encap = OpPop, OpPop, OpPop, OpPop
			b.WriteString("pop VXLAN")
		case opPush:
			t.Ethernet, t.IP, t.L4, t.Encap = OpPush, OpPush, OpPush, OpPush
			e := &s.push
			b.WriteString("push VXLAN(VNI " + strconv.Itoa(int(e.vni)) + ", " + e.srcMAC.WindowsString() + " -> " + e.dstMAC.WindowsString() +
				", " + netip.AddrFrom4(e.src).String() + " -> " + netip.AddrFrom4(e.dst).String() +
				", UDP " + strconv.Itoa(int(e.sport)) + " -> " + strconv.Itoa(int(e.dport)) + ", TTL " + strconv.Itoa(int(e.ttl)))
			if e.df {
				b.WriteString(", DF")
			}
			if e.mtu > 0 {
				b.WriteString(", MTU " + strconv.Itoa(e.mtu))
			}
			b.WriteString(")")
		case opMSSDelta:
			up(&t.L4, OpModify)
			b.WriteString("MSS -" + strconv.Itoa(int(s.mss)))
		case opMSSClamp:
			up(&t.L4, OpModify)
			b.WriteString("MSS <= " + strconv.Itoa(int(s.mss)))
		}
	}
	t.Actions = b.String()
	return t
}
