package spec

import (
	"bytes"
	"encoding/binary"
	"net"
	"net/netip"
	"slices"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// DecodeOptions configure Decode and Match.
type DecodeOptions struct {
	// VXLANPorts are UDP destination ports, besides 4789, whose payload is
	// decoded as VXLAN (e.g. 8472, the Linux kernel's default).
	VXLANPorts []uint16
}

func (o *DecodeOptions) isVXLAN(port uint16) bool {
	return port == VXLANPort || slices.Contains(o.VXLANPorts, port)
}

// Decode returns the spec of a frame: the layers gopacket decodes, with
// every field that matters and none that Build would compute the same way
// (lengths, checksums, types and zero-valued fields are left out when
// they are what Build would write). Build(Decode(frame)) gives back frame
// byte for byte: bytes that no layer explains become a raw() layer, and a
// layer that would not rebuild exactly is replaced by raw() from its start.
//
// VXLAN is decoded layer by layer: the outer headers up to VXLAN, then the
// inner frame with its own gopacket structs, so inner headers never
// overwrite outer ones. Decode does not modify or keep frame.
func Decode(frame []byte, opts DecodeOptions) *Spec {
	d := decodeFull(frame, opts)
	for k := len(d.layers); k >= 0; k-- {
		s := d.assemble(frame, k)
		if s == nil || !rebuilds(s, frame) {
			continue
		}
		return minimize(s, frame)
	}
	// Unreachable: raw(load=frame) always rebuilds.
	return &Spec{Layers: []Layer{rawLayer("raw", frame)}}
}

// rebuilds reports whether s builds to exactly frame.
func rebuilds(s *Spec, frame []byte) bool {
	out, err := Build(s, nil, BuildOptions{})
	return err == nil && len(out) == 1 && bytes.Equal(out[0], frame)
}

// minimize drops every field marked omit that Build would compute to the
// same bytes. It first guesses (computed fields, fields at their default,
// empty options), then tries layer by layer and field by field, and only
// keeps changes that still rebuild to frame.
func minimize(s *Spec, frame []byte) *Spec {
	guess := s.Clone()
	for i := range guess.Layers {
		l := &guess.Layers[i]
		ld := layerByName[l.Name]
		l.Fields = slices.DeleteFunc(l.Fields, func(f Field) bool {
			d := ld.field(f.Name)
			switch {
			case !d.omit:
				return false
			case d.computed:
				return true
			case f.Value.Kind == KindBytes:
				return bytes.Equal(padOptions(l.Name, nil), f.Value.Bytes)
			}
			return f.Value.Kind == KindNum && f.Value.Num == d.def
		})
	}
	if rebuilds(guess, frame) {
		return guess
	}
	cur := s.Clone()
	for i := range cur.Layers {
		ld := layerByName[cur.Layers[i].Name]
		old := cur.Layers[i].Fields
		cur.Layers[i].Fields = slices.DeleteFunc(slices.Clone(old), func(f Field) bool { return ld.field(f.Name).omit })
		if rebuilds(cur, frame) {
			continue
		}
		cur.Layers[i].Fields = old
		for j := 0; j < len(cur.Layers[i].Fields); {
			f := cur.Layers[i].Fields[j]
			if !ld.field(f.Name).omit {
				j++
				continue
			}
			old := cur.Layers[i].Fields
			cur.Layers[i].Fields = slices.Delete(slices.Clone(old), j, j+1)
			if rebuilds(cur, frame) {
				continue
			}
			cur.Layers[i].Fields = old
			j++
		}
	}
	return cur
}

// rawLayer returns a raw or padding layer for p: len=N when all zero,
// quoted text when printable, else hex.
func rawLayer(name string, p []byte) Layer {
	if len(p) > 0 && allZero(p) {
		return Layer{Name: name, Fields: []Field{{Name: "len", Value: Num(uint64(len(p)))}}}
	}
	v := Bytes(bytes.Clone(p))
	v.Text = printable(p)
	return Layer{Name: name, Fields: []Field{{Name: "load", Value: v}}}
}

func allZero(p []byte) bool {
	for _, c := range p {
		if c != 0 {
			return false
		}
	}
	return true
}

// printable reports whether p reads well as a quoted string: printable
// ASCII and line breaks or tabs only.
func printable(p []byte) bool {
	if len(p) == 0 {
		return false
	}
	for _, c := range p {
		if (c < 0x20 || c > 0x7e) && c != '\r' && c != '\n' && c != '\t' {
			return false
		}
	}
	return true
}

// dlayer is a decoded layer with every field.
type dlayer struct {
	name    string
	fields  []Field // all fields; Build of these gives the layer's bytes back
	derived []Field // further views of the same bytes, for Match only
	off     int     // offset of the layer in the frame
	end     int     // end of the bytes this layer and those after it were decoded from
	sum     int8    // checksum: 0 none, 1 valid, -1 invalid
}

func (l *dlayer) get(name string) (Value, bool) {
	for _, f := range l.fields {
		if f.Name == name {
			return f.Value, true
		}
	}
	for _, f := range l.derived {
		if f.Name == name {
			return f.Value, true
		}
	}
	return Value{}, false
}

// pad is Ethernet padding after a layer-3 packet: bytes [off, end) that
// belong to the frame of the ether layer at index owner.
type pad struct{ owner, off, end int }

// decoded is a frame decoded as far as it goes.
type decoded struct {
	layers []dlayer
	pads   []pad
}

// ipctx is what a transport checksum needs from the IP header before it.
type ipctx struct {
	src, dst netip.Addr
}

type decoder struct {
	b    []byte
	opts DecodeOptions
	out  decoded
}

// decodeFull decodes every layer of a frame with all fields.
func decodeFull(frame []byte, opts DecodeOptions) decoded {
	d := &decoder{b: frame, opts: opts}
	d.ether(0, len(frame))
	return d.out
}

// assemble returns the spec made of the first k decoded layers and raw()
// for the rest of the frame, plus padding; nil if that cannot be written
// as a spec (padding that does not belong to the innermost Ethernet frame).
func (d *decoded) assemble(frame []byte, k int) *Spec {
	var rel []pad
	for _, p := range d.pads {
		if p.owner < k {
			rel = append(rel, p)
		}
	}
	lastEther := -1
	for i := range k {
		if d.layers[i].name == "ether" {
			lastEther = i
		}
	}
	if len(rel) > 1 || len(rel) == 1 && rel[0].owner != lastEther {
		return nil
	}
	s := &Spec{}
	for i := range k {
		s.Layers = append(s.Layers, canonical(&d.layers[i]))
	}
	if k < len(d.layers) {
		end := len(frame)
		if len(rel) == 1 {
			end = rel[0].off
		}
		if off := d.layers[k].off; off < end {
			s.Layers = append(s.Layers, rawLayer("raw", frame[off:end]))
		}
	}
	if len(rel) == 1 {
		s.Layers = append(s.Layers, rawLayer("padding", frame[rel[0].off:rel[0].end]))
	}
	if len(s.Layers) == 0 {
		s.Layers = []Layer{rawLayer("raw", frame)}
	}
	return s
}

// canonical returns a decoded layer in the form Decode prints: payloads as
// len=N, text or hex (rawLayer), TCP options by name when Build lays the
// named options out to the same bytes.
func canonical(l *dlayer) Layer {
	switch l.name {
	case "raw", "padding":
		v, _ := l.get("load")
		return rawLayer(l.name, v.Bytes)
	case "tcp":
		opts, _ := l.get("options")
		if named := tcpNamedOptions(opts.Bytes); len(named) > 0 && !dupNames(named) {
			c := newCLayer(layerByName["tcp"], 0)
			for _, f := range named {
				c.put(f.Name, f.Value)
			}
			o := tcpOptions(&c)
			o = append(o, make([]byte, (4-len(o)%4)%4)...)
			if bytes.Equal(o, opts.Bytes) {
				fs := slices.DeleteFunc(slices.Clone(l.fields), func(f Field) bool { return f.Name == "options" })
				return Layer{Name: l.name, Fields: append(fs, named...)}
			}
		}
	}
	return Layer{Name: l.name, Fields: slices.Clone(l.fields)}
}

func dupNames(fs []Field) bool {
	seen := map[string]bool{}
	for _, f := range fs {
		if seen[f.Name] {
			return true
		}
		seen[f.Name] = true
	}
	return false
}

func (d *decoder) add(l dlayer) int {
	d.out.layers = append(d.out.layers, l)
	return len(d.out.layers) - 1
}

func (d *decoder) lastEther() int {
	for i := len(d.out.layers) - 1; i >= 0; i-- {
		if d.out.layers[i].name == "ether" {
			return i
		}
	}
	return -1
}

func field(name string, v Value) Field { return Field{Name: name, Value: v} }

func addrOf(ip net.IP) Value {
	a, _ := netip.AddrFromSlice(ip)
	return Addr(a)
}

func macOfBytes(b []byte) Value { return MAC(net.HardwareAddr(bytes.Clone(b))) }

func (d *decoder) raw(off, end int) {
	if off >= end {
		return
	}
	d.add(*rawDLayer("raw", d.b, off, end))
}

// rawDLayer returns a raw or padding layer for b[off:end].
func rawDLayer(name string, b []byte, off, end int) *dlayer {
	p := b[off:end]
	v := Bytes(p)
	v.Text = printable(p)
	return &dlayer{name: name, off: off, end: end,
		fields:  []Field{field("load", v)},
		derived: []Field{field("len", Num(uint64(len(p))))}}
}

// maxLayers bounds the layers Decode looks at (tunnels in tunnels);
// the rest of a frame is raw.
const maxLayers = 24

func (d *decoder) ether(off, end int) {
	var eth layers.Ethernet
	if end-off < 14 || len(d.out.layers) >= maxLayers || eth.DecodeFromBytes(d.b[off:end], gopacket.NilDecodeFeedback) != nil {
		d.raw(off, end)
		return
	}
	// The type is read from the bytes: gopacket turns values below 0x600
	// (802.3 lengths) into EthernetTypeLLC.
	typ := binary.BigEndian.Uint16(d.b[off+12:])
	d.add(dlayer{name: "ether", off: off, end: end, fields: []Field{
		field("dst", macOfBytes(eth.DstMAC)),
		field("src", macOfBytes(eth.SrcMAC)),
		field("type", Num(uint64(typ))),
	}})
	d.etherType(typ, off+14, end)
}

func (d *decoder) etherType(typ uint16, off, end int) {
	switch typ {
	case etherTypeVLAN, etherTypeQinQ:
		d.vlan(off, end)
	case etherTypeIPv4:
		d.ipv4(off, end, false)
	case etherTypeIPv6:
		d.ipv6(off, end, false)
	case etherTypeARP:
		d.arp(off, end)
	default:
		d.raw(off, end)
	}
}

func (d *decoder) vlan(off, end int) {
	var q layers.Dot1Q
	if q.DecodeFromBytes(d.b[off:end], gopacket.NilDecodeFeedback) != nil {
		d.raw(off, end)
		return
	}
	typ := binary.BigEndian.Uint16(d.b[off+2:])
	var dei uint64
	if q.DropEligible {
		dei = 1
	}
	d.add(dlayer{name: "vlan", off: off, end: end, fields: []Field{
		field("vid", Num(uint64(q.VLANIdentifier))),
		field("pcp", Num(uint64(q.Priority))),
		field("dei", Num(dei)),
		field("type", Num(uint64(typ))),
	}})
	d.etherType(typ, off+4, end)
}

func (d *decoder) arp(off, end int) {
	var a layers.ARP
	if a.DecodeFromBytes(d.b[off:end], gopacket.NilDecodeFeedback) != nil ||
		a.AddrType != layers.LinkTypeEthernet || a.Protocol != layers.EthernetTypeIPv4 ||
		a.HwAddressSize != 6 || a.ProtAddressSize != 4 {
		d.raw(off, end)
		return
	}
	d.add(dlayer{name: "arp", off: off, end: end, fields: []Field{
		field("op", Num(uint64(a.Operation))),
		field("hwsrc", macOfBytes(a.SourceHwAddress)),
		field("psrc", addrOf(a.SourceProtAddress)),
		field("hwdst", macOfBytes(a.DstHwAddress)),
		field("pdst", addrOf(a.DstProtAddress)),
	}})
	if off+28 < end {
		d.out.pads = append(d.out.pads, pad{owner: d.lastEther(), off: off + 28, end: end})
	}
}

// ipv4 decodes an IPv4 header. An embedded packet (inside an ICMP error)
// keeps all the bytes there are as its payload, whatever its length says;
// otherwise bytes after the packet are Ethernet padding.
func (d *decoder) ipv4(off, end int, embedded bool) {
	var ip layers.IPv4
	if ip.DecodeFromBytes(d.b[off:end], gopacket.NilDecodeFeedback) != nil || ip.Version != 4 {
		d.raw(off, end)
		return
	}
	h := d.b[off:]
	hl := int(ip.IHL) * 4
	length := int(binary.BigEndian.Uint16(h[2:]))
	ipEnd := end
	if !embedded && length >= hl && off+length < end {
		ipEnd = off + length
		d.out.pads = append(d.out.pads, pad{owner: d.lastEther(), off: ipEnd, end: end})
	}
	var s int8 = -1
	if fold(sum(0, h[:hl])) == 0xffff {
		s = 1
	}
	src, dst := addrOf(ip.SrcIP), addrOf(ip.DstIP)
	d.add(dlayer{name: "ipv4", off: off, end: ipEnd, sum: s, fields: []Field{
		field("src", src),
		field("dst", dst),
		field("ttl", Num(uint64(ip.TTL))),
		field("version", Num(4)),
		field("ihl", Num(uint64(ip.IHL))),
		field("tos", Num(uint64(ip.TOS))),
		field("len", Num(uint64(length))),
		field("id", Num(uint64(ip.Id))),
		field("flags", Num(uint64(ip.Flags))),
		field("frag", Num(uint64(ip.FragOffset))),
		field("proto", Num(uint64(ip.Protocol))),
		field("chksum", Num(uint64(ip.Checksum))),
		field("options", Bytes(bytes.Clone(h[20:hl]))),
	}, derived: []Field{
		field("dscp", Num(uint64(ip.TOS>>2))),
		field("ecn", Num(uint64(ip.TOS&3))),
	}})
	if ip.FragOffset != 0 {
		d.raw(off+hl, ipEnd) // a later fragment: no transport header
		return
	}
	d.ipPayload(uint8(ip.Protocol), off+hl, ipEnd, ipctx{src.Addr, dst.Addr})
}

func (d *decoder) ipPayload(proto uint8, off, end int, ctx ipctx) {
	if len(d.out.layers) >= maxLayers {
		d.raw(off, end)
		return
	}
	switch proto {
	case protoTCP:
		d.tcp(off, end, ctx)
	case protoUDP:
		d.udp(off, end, ctx)
	case protoICMP:
		d.icmp(off, end)
	case protoICMPv6:
		d.icmpv6(off, end, ctx)
	case protoIPIP:
		d.ipv4(off, end, true)
	case protoIPv6:
		d.ipv6(off, end, true)
	case protoHopByHop:
		if ctx.src.Is6() {
			d.hbh(off, end, ctx)
			return
		}
		d.raw(off, end)
	case protoFragment:
		if ctx.src.Is6() {
			d.frag(off, end, ctx)
			return
		}
		d.raw(off, end)
	default:
		d.raw(off, end)
	}
}

func (d *decoder) ipv6(off, end int, embedded bool) {
	if end-off < 40 || d.b[off]>>4 != 6 {
		d.raw(off, end)
		return
	}
	// gopacket's IPv6 also consumes a Hop-by-Hop header, which here is a
	// layer of its own: decode a copy that says "no next header".
	var ip layers.IPv6
	data := slices.Clone(d.b[off:end])
	data[6] = protoNoNext
	if ip.DecodeFromBytes(data, gopacket.NilDecodeFeedback) != nil {
		d.raw(off, end)
		return
	}
	h := d.b[off:]
	plen := int(binary.BigEndian.Uint16(h[4:]))
	nh := h[6]
	ipEnd := end
	if !embedded && off+40+plen < end {
		ipEnd = off + 40 + plen
		d.out.pads = append(d.out.pads, pad{owner: d.lastEther(), off: ipEnd, end: end})
	}
	src, dst := addrOf(ip.SrcIP), addrOf(ip.DstIP)
	d.add(dlayer{name: "ipv6", off: off, end: ipEnd, fields: []Field{
		field("src", src),
		field("dst", dst),
		field("hlim", Num(uint64(ip.HopLimit))),
		field("version", Num(6)),
		field("tc", Num(uint64(ip.TrafficClass))),
		field("fl", Num(uint64(ip.FlowLabel))),
		field("plen", Num(uint64(plen))),
		field("nh", Num(uint64(nh))),
	}})
	d.ipPayload(nh, off+40, ipEnd, ipctx{src.Addr, dst.Addr})
}

// hbh decodes a Hop-by-Hop Options header (RFC 8200 section 4.3).
func (d *decoder) hbh(off, end int, ctx ipctx) {
	if end-off < 8 || off+(int(d.b[off+1])+1)*8 > end {
		d.raw(off, end)
		return
	}
	n := (int(d.b[off+1]) + 1) * 8
	nh := d.b[off]
	d.add(dlayer{name: "ipv6hbh", off: off, end: end, fields: []Field{
		field("nh", Num(uint64(nh))),
		field("options", Bytes(bytes.Clone(d.b[off+2:off+n]))),
	}})
	d.ipPayload(nh, off+n, end, ctx)
}

func (d *decoder) frag(off, end int, ctx ipctx) {
	var f layers.IPv6Fragment
	if f.DecodeFromBytes(d.b[off:end], gopacket.NilDecodeFeedback) != nil {
		d.raw(off, end)
		return
	}
	var m uint64
	if f.MoreFragments {
		m = 1
	}
	d.add(dlayer{name: "ipv6frag", off: off, end: end, fields: []Field{
		field("offset", Num(uint64(f.FragmentOffset))),
		field("m", Num(m)),
		field("id", Num(uint64(f.Identification))),
		field("nh", Num(uint64(f.NextHeader))),
		field("res1", Num(uint64(f.Reserved1))),
		field("res2", Num(uint64(f.Reserved2))),
	}})
	if f.FragmentOffset != 0 {
		d.raw(off+8, end)
		return
	}
	d.ipPayload(uint8(f.NextHeader), off+8, end, ctx)
}

// l4sum returns 1 when a transport checksum over b (pseudo-header
// included) is right, else -1.
func l4sum(ctx ipctx, proto uint8, b []byte) int8 {
	if !ctx.src.IsValid() {
		return -1
	}
	if fold(sum(pseudoSum(ctx.src, ctx.dst, proto, len(b)), b)) == 0xffff {
		return 1
	}
	return -1
}

func (d *decoder) tcp(off, end int, ctx ipctx) {
	var t layers.TCP
	if t.DecodeFromBytes(d.b[off:end], gopacket.NilDecodeFeedback) != nil {
		d.raw(off, end)
		return
	}
	h := d.b[off:]
	hl := int(t.DataOffset) * 4
	flags := uint64(h[12]&1)<<8 | uint64(h[13])
	opts := h[20:hl]
	d.add(dlayer{name: "tcp", off: off, end: end, sum: l4sum(ctx, protoTCP, d.b[off:end]), fields: []Field{
		field("sport", Num(uint64(t.SrcPort))),
		field("dport", Num(uint64(t.DstPort))),
		field("flags", Num(flags)),
		field("seq", Num(uint64(t.Seq))),
		field("ack", Num(uint64(t.Ack))),
		field("window", Num(uint64(t.Window))),
		field("dataofs", Num(uint64(t.DataOffset))),
		field("reserved", Num(uint64(h[12]>>1&7))),
		field("urgptr", Num(uint64(t.Urgent))),
		field("chksum", Num(uint64(t.Checksum))),
		field("options", Bytes(bytes.Clone(opts))),
	}, derived: tcpNamedOptions(opts)})
	d.raw(off+hl, end)
}

// tcpNamedOptions returns the MSS, window scale, SACK-permitted and
// timestamp options found in raw TCP options (RFC 9293 section 3.2).
func tcpNamedOptions(o []byte) []Field {
	var fs []Field
	for len(o) > 0 {
		kind := o[0]
		if kind == 0 {
			break
		}
		if kind == 1 {
			o = o[1:]
			continue
		}
		if len(o) < 2 || int(o[1]) < 2 || int(o[1]) > len(o) {
			break
		}
		v := o[2:o[1]]
		switch {
		case kind == 2 && len(v) == 2:
			fs = append(fs, field("mss", Num(uint64(binary.BigEndian.Uint16(v)))))
		case kind == 3 && len(v) == 1:
			fs = append(fs, field("wscale", Num(uint64(v[0]))))
		case kind == 4 && len(v) == 0:
			fs = append(fs, field("sackok", Num(1)))
		case kind == 8 && len(v) == 8:
			fs = append(fs, field("tsval", Num(uint64(binary.BigEndian.Uint32(v)))),
				field("tsecr", Num(uint64(binary.BigEndian.Uint32(v[4:])))))
		}
		o = o[o[1]:]
	}
	return fs
}

func (d *decoder) udp(off, end int, ctx ipctx) {
	var u layers.UDP
	if u.DecodeFromBytes(d.b[off:end], gopacket.NilDecodeFeedback) != nil {
		d.raw(off, end)
		return
	}
	s := l4sum(ctx, protoUDP, d.b[off:end])
	if u.Checksum == 0 && ctx.src.Is4() {
		s = 1 // no checksum (RFC 768)
	}
	d.add(dlayer{name: "udp", off: off, end: end, sum: s, fields: []Field{
		field("sport", Num(uint64(u.SrcPort))),
		field("dport", Num(uint64(u.DstPort))),
		field("len", Num(uint64(u.Length))),
		field("chksum", Num(uint64(u.Checksum))),
	}})
	pend := off + 8 + len(u.Payload)
	if d.opts.isVXLAN(uint16(u.DstPort)) && pend-off-8 >= 8 {
		d.vxlan(off+8, pend)
		return
	}
	d.raw(off+8, end)
}

// vxlan decodes the VXLAN header (RFC 7348 section 5) and then the inner
// frame as a frame of its own.
func (d *decoder) vxlan(off, end int) {
	h := d.b[off:]
	d.add(dlayer{name: "vxlan", off: off, end: end, fields: []Field{
		field("vni", Num(uint64(binary.BigEndian.Uint32(h[4:])>>8))),
		field("flags", Num(uint64(h[0]))),
		field("gpflags", Num(uint64(h[1]))),
		field("gpid", Num(uint64(binary.BigEndian.Uint16(h[2:])))),
		field("reserved", Num(uint64(h[7]))),
	}})
	d.ether(off+8, end)
}

// icmpError reports whether an ICMP type carries the start of the packet
// that caused it (RFC 792).
func icmpError(t uint8) bool {
	switch t {
	case icmpDestUnreach, icmpSourceQuench, icmpRedirect, icmpTimeExceeded, icmpParamProblem:
		return true
	}
	return false
}

func (d *decoder) icmp(off, end int) {
	var i layers.ICMPv4
	if i.DecodeFromBytes(d.b[off:end], gopacket.NilDecodeFeedback) != nil {
		d.raw(off, end)
		return
	}
	var s int8 = -1
	if fold(sum(0, d.b[off:end])) == 0xffff {
		s = 1
	}
	d.add(dlayer{name: "icmp", off: off, end: end, sum: s, fields: []Field{
		field("type", Num(uint64(i.TypeCode.Type()))),
		field("code", Num(uint64(i.TypeCode.Code()))),
		field("id", Num(uint64(i.Id))),
		field("seq", Num(uint64(i.Seq))),
		field("chksum", Num(uint64(i.Checksum))),
	}})
	if icmpError(i.TypeCode.Type()) {
		d.ipv4(off+8, end, true)
		return
	}
	d.raw(off+8, end)
}

func (d *decoder) icmpv6(off, end int, ctx ipctx) {
	var i layers.ICMPv6
	if i.DecodeFromBytes(d.b[off:end], gopacket.NilDecodeFeedback) != nil || end-off < 8 {
		d.raw(off, end)
		return
	}
	typ := i.TypeCode.Type()
	body := d.b[off+4 : end]
	fs := []Field{
		field("type", Num(uint64(typ))),
		field("code", Num(uint64(i.TypeCode.Code()))),
	}
	next := off + 8
	switch typ {
	case icmp6PacketTooBig:
		fs = append(fs, field("mtu", Num(uint64(binary.BigEndian.Uint32(body)))))
	case icmp6ParamProblem:
		fs = append(fs, field("ptr", Num(uint64(binary.BigEndian.Uint32(body)))))
	case icmp6NeighborSol, icmp6NeighborAdv:
		if len(body) < 20 {
			d.raw(off, end)
			return
		}
		tgt, _ := netip.AddrFromSlice(body[4:20])
		fs = append(fs, field("flags", Num(uint64(binary.BigEndian.Uint32(body)))), field("tgt", Addr(tgt)))
		next = off + 24
		opt := byte(1)
		if typ == icmp6NeighborAdv {
			opt = 2
		}
		if o := d.b[next:end]; len(o) == 8 && o[0] == opt && o[1] == 1 {
			fs = append(fs, field("lladdr", macOfBytes(o[2:8])))
			next = end
		}
	default:
		fs = append(fs, field("id", Num(uint64(binary.BigEndian.Uint16(body)))),
			field("seq", Num(uint64(binary.BigEndian.Uint16(body[2:])))))
	}
	fs = append(fs, field("chksum", Num(uint64(i.Checksum))))
	d.add(dlayer{name: "icmpv6", off: off, end: end, sum: l4sum(ctx, protoICMPv6, d.b[off:end]), fields: fs})
	if typ < 128 { // error messages carry the invoking packet (RFC 4443 section 2.1)
		d.ipv6(next, end, true)
		return
	}
	d.raw(next, end)
}
