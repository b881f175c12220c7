package spec

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// MaxPackets is the largest number of packets one spec may expand to
// (repetitions times the combinations of its ranges).
const MaxPackets = 65536

// Resolver turns names in specs (ports, hosts, endpoints) into addresses.
// The scenario runner implements it from the topology.
type Resolver interface {
	// MAC returns the Ethernet address of a named port or host.
	MAC(name string) (net.HardwareAddr, bool)
	// IP returns the IPv4 (v6 false) or IPv6 (v6 true) address of a named
	// port or host.
	IP(name string, v6 bool) (netip.Addr, bool)
}

// BuildOptions give Build the context a spec's defaults come from.
type BuildOptions struct {
	// From names the injection port. When set, the outermost Ethernet
	// source defaults to Resolver.MAC(From) and the outermost IPv4, IPv6 or
	// ARP sender address to Resolver.IP(From, v6).
	From string
	// DstMAC is the outermost Ethernet destination when the spec gives none
	// and none follows from the IP destination (see the package doc), for
	// example the MAC of the gateway behind the injection port.
	DstMAC net.HardwareAddr
	// Bindings supplies values for "$name" fields; an unbound name is an error.
	Bindings *Bindings
}

// Build returns the frames a spec stands for: Repeat times (at least once)
// every combination of its ranges, the last range varying fastest. Fields
// left out get defaults (see the package doc); lengths and checksums are
// computed unless given, so chksum=0x1234 writes a bad checksum on purpose.
// Names are resolved with r, which may be nil when the spec has none.
// Wildcards are an error: they only mean something in expectations.
func Build(s *Spec, r Resolver, opts BuildOptions) ([][]byte, error) {
	rs, err := s.Resolve(r)
	if err != nil {
		return nil, err
	}
	if err := rs.bind(opts.Bindings); err != nil {
		return nil, err
	}
	n, err := rs.Count()
	if err != nil {
		return nil, err
	}
	b := &builder{r: r, opts: opts}
	out := make([][]byte, 0, n)
	for range max(rs.Repeat, 1) {
		err := rs.expand(func(ls []clayer) error {
			frame, err := b.build(ls)
			if err != nil {
				return err
			}
			out = append(out, frame)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Count returns how many packets Build makes from s: Repeat (at least 1)
// times the product of the sizes of its ranges. It fails beyond MaxPackets.
func (s *Spec) Count() (int, error) {
	n := uint64(max(s.Repeat, 1))
	for _, l := range s.Layers {
		for _, f := range l.Fields {
			if f.Value.Kind != KindRange {
				continue
			}
			k := f.Value.Max - f.Value.Num + 1
			if k == 0 || n*k/k != n || n*k > MaxPackets {
				return 0, &Error{Col: f.Col, Layer: l.Name, Field: f.Name,
					Err: fmt.Errorf("spec expands to more than %d packets", MaxPackets)}
			}
			n *= k
		}
	}
	if n > MaxPackets {
		return 0, &Error{Err: fmt.Errorf("spec expands to more than %d packets", MaxPackets)}
	}
	return int(n), nil
}

// Resolve returns a copy of s in which every name is replaced by the
// address r gives for it: Resolver.MAC for Ethernet and ARP hardware
// fields, Resolver.IP for IP fields. The resolved values keep the name, so
// String still prints it. r may be nil when s has no names.
func (s *Spec) Resolve(r Resolver) (*Spec, error) {
	c := s.Clone()
	if err := c.check(); err != nil {
		return nil, err
	}
	for i := range c.Layers {
		l := &c.Layers[i]
		ld := layerByName[l.Name]
		for j := range l.Fields {
			f := &l.Fields[j]
			if f.Value.Kind != KindName {
				continue
			}
			name := f.Value.Name
			fail := func(format string, args ...any) error {
				return &Error{Col: f.Col, Layer: l.Name, Field: f.Name, Err: fmt.Errorf(format, args...)}
			}
			if r == nil {
				return nil, fail("name %q: no resolver to look it up", name)
			}
			switch d := ld.field(f.Name); d.kind {
			case fMAC:
				m, ok := r.MAC(name)
				if !ok {
					return nil, fail("unknown name %q (no MAC)", name)
				}
				if len(m) != 6 {
					return nil, fail("name %q: MAC %v is not 6 bytes", name, m)
				}
				f.Value = Value{Kind: KindMAC, MAC: bytes.Clone(m), Name: name}
			case fIPv4, fIPv6:
				v6 := d.kind == fIPv6
				a, ok := r.IP(name, v6)
				if !ok || (v6 && !a.Is6()) || (!v6 && !a.Is4()) {
					fam := "IPv4"
					if v6 {
						fam = "IPv6"
					}
					return nil, fail("unknown name %q (no %s address)", name, fam)
				}
				f.Value = Value{Kind: KindAddr, Addr: a, Name: name}
			default:
				return nil, fail("name %q in a field that takes no names", name)
			}
		}
	}
	return c, nil
}

// check validates a spec that may not come from Parse: canonical layer
// and field names, and values that suit their fields.
func (s *Spec) check() error {
	for _, l := range s.Layers {
		ld := layerByName[l.Name]
		if ld == nil || ld.name != l.Name {
			return &Error{Col: l.Col, Err: fmt.Errorf("unknown layer %q", l.Name)}
		}
		for _, f := range l.Fields {
			d := ld.field(f.Name)
			if d == nil || d.name != f.Name {
				return &Error{Col: f.Col, Layer: l.Name, Err: fmt.Errorf("unknown field %q", f.Name)}
			}
			v := f.Value
			switch v.Kind {
			case KindNum, KindAddr, KindMAC, KindBytes:
				if !fits(d, v) {
					return &Error{Col: f.Col, Layer: l.Name, Field: f.Name, Err: fmt.Errorf("%s value does not fit the field", v.Kind)}
				}
			case KindRange:
				if (d.kind != fNum && d.kind != fFlags) || v.Num > v.Max || v.Max > d.max() {
					return &Error{Col: f.Col, Layer: l.Name, Field: f.Name, Err: errors.New("bad range for the field")}
				}
			case KindValid:
				if !d.checksum {
					return &Error{Col: f.Col, Layer: l.Name, Field: f.Name, Err: errors.New("only checksums can be \"valid\"")}
				}
			}
		}
	}
	return nil
}

// bind replaces bindings by their values and rejects wildcards and other
// expectation-only values.
func (s *Spec) bind(b *Bindings) error {
	for i := range s.Layers {
		l := &s.Layers[i]
		ld := layerByName[l.Name]
		for j := range l.Fields {
			f := &l.Fields[j]
			d := ld.field(f.Name)
			fail := func(format string, args ...any) error {
				return &Error{Col: f.Col, Layer: l.Name, Field: f.Name, Err: fmt.Errorf(format, args...)}
			}
			switch f.Value.Kind {
			case KindAny:
				return fail("wildcard \"*\" in a packet to build (only expectations take it)")
			case KindValid:
				f.Value = Value{Kind: KindAny} // computed, like an absent checksum
			case KindBinding:
				v, ok := b.Lookup(f.Value.Name)
				if !ok {
					return fail("binding $%s is not bound", f.Value.Name)
				}
				if !fits(d, v) {
					return fail("binding $%s = %s does not fit the field", f.Value.Name, v.format(nil))
				}
				if !f.Value.inRange(v) {
					return fail("binding $%s = %s is outside %d-%d", f.Value.Name, v.format(nil), f.Value.Num, f.Value.Max)
				}
				f.Value = v
			}
		}
	}
	return nil
}

// fits reports whether a concrete value suits a field.
func fits(d *fieldDef, v Value) bool {
	switch d.kind {
	case fNum, fFlags:
		return v.Kind == KindNum && v.Num <= d.max()
	case fMAC:
		return v.Kind == KindMAC && len(v.MAC) == 6
	case fIPv4:
		return v.Kind == KindAddr && v.Addr.Is4()
	case fIPv6:
		return v.Kind == KindAddr && v.Addr.Is6()
	case fBytes:
		return v.Kind == KindBytes
	}
	return false
}

// clayer is a concrete layer: every given field has a concrete value.
type clayer struct {
	def  *layerDef
	col  int
	vals []Value // by index in def.fields
	set  []bool
	cols []int
}

func newCLayer(ld *layerDef, col int) clayer {
	n := len(ld.fields)
	return clayer{def: ld, col: col, vals: make([]Value, n), set: make([]bool, n), cols: make([]int, n)}
}

func (c *clayer) get(name string) (Value, bool) {
	i := c.def.fieldIndex(name)
	return c.vals[i], c.set[i]
}

func (c *clayer) has(name string) bool { return c.set[c.def.fieldIndex(name)] }

func (c *clayer) num(name string, dflt uint64) uint64 {
	if v, ok := c.get(name); ok {
		return v.Num
	}
	return dflt
}

func (c *clayer) put(name string, v Value) {
	i := c.def.fieldIndex(name)
	c.vals[i], c.set[i] = v, true
}

func (c *clayer) errf(field, format string, args ...any) error {
	col := c.col
	if field != "" {
		if i := c.def.fieldIndex(field); c.cols[i] > 0 {
			col = c.cols[i]
		}
	}
	return &Error{Col: col, Layer: c.def.name, Field: field, Err: fmt.Errorf(format, args...)}
}

// expand calls fn with the concrete layers of every combination of the
// spec's ranges, the last range varying fastest. KindAny values (computed
// checksums) are left unset.
func (s *Spec) expand(fn func([]clayer) error) error {
	type rng struct{ l, f int }
	var ranges []rng
	for i, l := range s.Layers {
		for j, f := range l.Fields {
			if f.Value.Kind == KindRange {
				ranges = append(ranges, rng{i, j})
			}
		}
	}
	cur := make([]uint64, len(ranges))
	for k, r := range ranges {
		cur[k] = s.Layers[r.l].Fields[r.f].Value.Num
	}
	for {
		ls := make([]clayer, len(s.Layers))
		k := 0
		for i, l := range s.Layers {
			ld := layerByName[l.Name]
			ls[i] = newCLayer(ld, l.Col)
			for j, f := range l.Fields {
				v := f.Value
				if k < len(ranges) && ranges[k] == (rng{i, j}) {
					v = Value{Kind: KindNum, Num: cur[k]}
					k++
				}
				if v.Kind == KindAny {
					continue
				}
				fi := ld.fieldIndex(f.Name)
				ls[i].vals[fi], ls[i].set[fi], ls[i].cols[fi] = v, true, f.Col
			}
		}
		if err := fn(ls); err != nil {
			return err
		}
		// Advance the mixed-radix counter, last range fastest.
		k = len(ranges) - 1
		for ; k >= 0; k-- {
			v := s.Layers[ranges[k].l].Fields[ranges[k].f].Value
			if cur[k] < v.Max {
				cur[k]++
				break
			}
			cur[k] = v.Num
		}
		if k < 0 {
			return nil
		}
	}
}

type builder struct {
	r    Resolver
	opts BuildOptions
}

func isL3(name string) bool { return name == "ipv4" || name == "ipv6" || name == "arp" }

// build fills in the defaults of one concrete packet and serializes it.
func (b *builder) build(ls []clayer) ([]byte, error) {
	if len(ls) > 0 && (isL3(ls[0].def.name) || ls[0].def.name == "vlan") {
		ls = append([]clayer{newCLayer(layerByName["ether"], ls[0].col)}, ls...)
	}
	for i := range ls {
		if ls[i].def.name == "padding" && i != len(ls)-1 {
			return nil, ls[i].errf("", "must be the last layer")
		}
	}
	if err := b.fill(ls); err != nil {
		return nil, err
	}
	return serialize(ls)
}

// outerL3 returns the index of the first IPv4, IPv6 or ARP layer that is
// not inside a tunnel or an ICMP error, or -1.
func outerL3(ls []clayer) int {
	for i := range ls {
		switch n := ls[i].def.name; {
		case isL3(n):
			return i
		case n == "vxlan" || n == "icmp" || n == "icmpv6":
			return -1
		}
	}
	return -1
}

// nextL3 returns the index of the layer after ether layer i, skipping VLAN
// tags, if it is IPv4, IPv6 or ARP; else -1.
func nextL3(ls []clayer, i int) int {
	for j := i + 1; j < len(ls); j++ {
		switch n := ls[j].def.name; {
		case n == "vlan":
			continue
		case isL3(n):
			return j
		}
		return -1
	}
	return -1
}

var broadcastMAC = net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// multicastMAC maps a broadcast or multicast IP destination to its
// Ethernet address (RFC 1112 section 6.4, RFC 2464 section 7).
func multicastMAC(a netip.Addr) (net.HardwareAddr, bool) {
	switch {
	case a == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return broadcastMAC, true
	case a.Is4() && a.IsMulticast():
		b := a.As4()
		return net.HardwareAddr{0x01, 0x00, 0x5e, b[1] & 0x7f, b[2], b[3]}, true
	case a.Is6() && a.IsMulticast():
		b := a.As16()
		return net.HardwareAddr{0x33, 0x33, b[12], b[13], b[14], b[15]}, true
	}
	return nil, false
}

func (b *builder) fromMAC() (net.HardwareAddr, bool) {
	if b.opts.From == "" || b.r == nil {
		return nil, false
	}
	m, ok := b.r.MAC(b.opts.From)
	return m, ok && len(m) == 6
}

func (b *builder) fromIP(v6 bool) (netip.Addr, bool) {
	if b.opts.From == "" || b.r == nil {
		return netip.Addr{}, false
	}
	a, ok := b.r.IP(b.opts.From, v6)
	return a, ok && a.Is6() == v6
}

// fill sets the context-dependent defaults: addresses from the injection
// port and from names, Ethernet destinations from ARP and IP destinations.
func (b *builder) fill(ls []clayer) error {
	outer := outerL3(ls)
	for i := range ls {
		c := &ls[i]
		switch c.def.name {
		case "ipv4", "ipv6":
			v6 := c.def.name == "ipv6"
			if !c.has("src") {
				a, ok := b.fromIP(v6)
				if i != outer || !ok {
					return c.errf("src", "no value (give src= or inject from a port with an address)")
				}
				c.put("src", Value{Kind: KindAddr, Addr: a, Name: b.opts.From})
			}
			if !c.has("dst") {
				return c.errf("dst", "no value")
			}
		case "arp":
			if !c.has("psrc") {
				a, ok := b.fromIP(false)
				if i != outer || !ok {
					return c.errf("psrc", "no value (give psrc= or inject from a port with an IPv4 address)")
				}
				c.put("psrc", Value{Kind: KindAddr, Addr: a, Name: b.opts.From})
			}
			if !c.has("pdst") {
				return c.errf("pdst", "no value")
			}
		}
	}
	for i := range ls {
		c := &ls[i]
		if c.def.name != "ether" {
			continue
		}
		l3 := nextL3(ls, i)
		if !c.has("src") {
			m, ok := b.fromMAC()
			if i != 0 || !ok {
				m, ok = b.l3MAC(ls, l3, "src")
			}
			if !ok {
				return c.errf("src", "no value (give src=, inject from a port with a MAC, or name the IP source)")
			}
			c.put("src", MAC(m))
		}
		if !c.has("dst") {
			m, ok := b.l3MAC(ls, l3, "dst")
			if !ok && i == 0 && len(b.opts.DstMAC) == 6 {
				m, ok = b.opts.DstMAC, true
			}
			if !ok {
				return c.errf("dst", "no value (give dst= or name the IP destination)")
			}
			c.put("dst", MAC(m))
		}
	}
	var lastSrc net.HardwareAddr
	for i := range ls {
		c := &ls[i]
		switch c.def.name {
		case "ether":
			v, _ := c.get("src")
			lastSrc = v.MAC
		case "arp":
			if !c.has("hwsrc") {
				if lastSrc == nil {
					return c.errf("hwsrc", "no value and no Ethernet layer to take it from")
				}
				c.put("hwsrc", MAC(lastSrc))
			}
		}
	}
	return nil
}

// l3MAC derives an Ethernet address from the layer-3 header at index j:
// for dst, ARP requests are broadcast, ARP replies go to hwdst, IP
// broadcast and multicast map to their group MACs; for both, an IP address
// given as a name resolves to that name's MAC; for src, an ARP hwsrc is used.
func (b *builder) l3MAC(ls []clayer, j int, which string) (net.HardwareAddr, bool) {
	if j < 0 {
		return nil, false
	}
	c := &ls[j]
	if c.def.name == "arp" {
		if which == "src" {
			v, ok := c.get("hwsrc")
			return v.MAC, ok
		}
		if c.num("op", 1) == 1 {
			return broadcastMAC, true
		}
		if v, ok := c.get("hwdst"); ok {
			return v.MAC, true
		}
		if v, _ := c.get("pdst"); v.Name != "" && b.r != nil {
			m, ok := b.r.MAC(v.Name)
			return m, ok && len(m) == 6
		}
		return nil, false
	}
	v, _ := c.get(which)
	if which == "dst" {
		if m, ok := multicastMAC(v.Addr); ok {
			return m, true
		}
	}
	if v.Name != "" && b.r != nil {
		m, ok := b.r.MAC(v.Name)
		return m, ok && len(m) == 6
	}
	return nil, false
}

// nextType returns the Ethernet type for the layer after index i.
func nextType(ls []clayer, i int) uint64 {
	if i+1 < len(ls) {
		switch ls[i+1].def.name {
		case "vlan":
			return etherTypeVLAN
		case "ipv4":
			return etherTypeIPv4
		case "ipv6":
			return etherTypeIPv6
		case "arp":
			return etherTypeARP
		}
	}
	return etherTypeDefault
}

// nextProto returns the IP protocol (IPv4) or next header (IPv6 and its
// extension headers) for the layer after index i.
func nextProto(ls []clayer, i int) uint64 {
	if i+1 < len(ls) {
		switch ls[i+1].def.name {
		case "tcp":
			return protoTCP
		case "udp":
			return protoUDP
		case "icmp":
			return protoICMP
		case "icmpv6":
			return protoICMPv6
		case "ipv4":
			return protoIPIP
		case "ipv6":
			return protoIPv6
		case "ipv6hbh":
			return protoHopByHop
		case "ipv6frag":
			return protoFragment
		}
	}
	if ls[i].def.name == "ipv4" {
		return 0 // scapy's IP() default
	}
	return protoNoNext
}

// step writes one layer in front of what the buffer holds.
type step func(buf gopacket.SerializeBuffer) error

// serialize writes the layers with gopacket's serializer, innermost first.
// Lengths and checksums the spec leaves out are computed: each layer sizes
// itself from the bytes already in the buffer, and gopacket computes the
// checksums (SerializeOptions.ComputeChecksums) unless one is given.
func serialize(ls []clayer) ([]byte, error) {
	steps := make([]step, len(ls))
	var netLayer gopacket.NetworkLayer
	padOwner := -1 // ether layer whose frame the trailing padding belongs to
	var pad []byte
	if n := len(ls); n > 0 && ls[n-1].def.name == "padding" {
		pad = payloadBytes(&ls[n-1])
		for i := n - 2; i >= 0; i-- {
			if ls[i].def.name == "ether" {
				padOwner = i
				break
			}
		}
	}
	for i := range ls {
		c := &ls[i]
		var err error
		switch c.def.name {
		case "ether":
			steps[i] = etherStep(c, nextType(ls, i))
		case "vlan":
			steps[i] = vlanStep(c, nextType(ls, i))
		case "arp":
			steps[i] = arpStep(c)
		case "ipv4":
			var ip *layers.IPv4
			ip, steps[i], err = ipv4Step(c, nextProto(ls, i))
			netLayer = ip
		case "ipv6":
			var ip *layers.IPv6
			ip, steps[i] = ipv6Step(c, nextProto(ls, i))
			netLayer = ip
		case "ipv6hbh":
			steps[i], err = hbhStep(c, nextProto(ls, i))
		case "ipv6frag":
			steps[i] = fragStep(c, nextProto(ls, i))
		case "tcp":
			steps[i], err = tcpStep(c, netLayer)
		case "udp":
			dport := uint64(53)
			if i+1 < len(ls) && ls[i+1].def.name == "vxlan" {
				dport = VXLANPort
			}
			steps[i], err = udpStep(c, netLayer, dport)
		case "icmp":
			steps[i] = icmpStep(c)
		case "icmpv6":
			steps[i], err = icmpv6Step(c, netLayer)
		case "vxlan":
			steps[i] = vxlanStep(c)
		case "raw":
			p := gopacket.Payload(payloadBytes(c))
			steps[i] = func(buf gopacket.SerializeBuffer) error {
				return p.SerializeTo(buf, gopacket.SerializeOptions{})
			}
		case "padding":
			steps[i] = func(gopacket.SerializeBuffer) error { return nil }
		default:
			err = c.errf("", "cannot build this layer")
		}
		if err != nil {
			return nil, err
		}
	}
	buf := gopacket.NewSerializeBuffer()
	for i := len(steps) - 1; i >= 0; i-- {
		if err := steps[i](buf); err != nil {
			var se *Error
			if errors.As(err, &se) {
				return nil, err
			}
			return nil, ls[i].errf("", "%w", err)
		}
		if i == padOwner {
			if err := appendBytes(buf, pad); err != nil {
				return nil, err
			}
		}
	}
	if pad != nil && padOwner < 0 {
		if err := appendBytes(buf, pad); err != nil {
			return nil, err
		}
	}
	return buf.Bytes(), nil
}

func appendBytes(buf gopacket.SerializeBuffer, p []byte) error {
	b, err := buf.AppendBytes(len(p))
	if err != nil {
		return err
	}
	copy(b, p)
	return nil
}

// payloadBytes returns the bytes of a raw or padding layer: load, or len
// bytes of load repeated (zeros without a load).
func payloadBytes(c *clayer) []byte {
	v, _ := c.get("load")
	n, ok := c.get("len")
	if !ok {
		return v.Bytes
	}
	out := make([]byte, n.Num)
	if len(v.Bytes) > 0 {
		for i := range out {
			out[i] = v.Bytes[i%len(v.Bytes)]
		}
	}
	return out
}

func addrSlice(c *clayer, name string) net.IP {
	v, _ := c.get(name)
	return net.IP(v.Addr.AsSlice())
}

func macOf(c *clayer, name string) net.HardwareAddr {
	v, _ := c.get(name)
	return v.MAC
}

// etherStep writes the Ethernet header itself: gopacket's Ethernet pads
// frames to 60 bytes, and spec frames are exactly as written (use a
// padding layer to pad).
func etherStep(c *clayer, dflt uint64) step {
	dst, src, typ := macOf(c, "dst"), macOf(c, "src"), c.num("type", dflt)
	return func(buf gopacket.SerializeBuffer) error {
		h, err := buf.PrependBytes(14)
		if err != nil {
			return err
		}
		copy(h[0:6], dst)
		copy(h[6:12], src)
		binary.BigEndian.PutUint16(h[12:], uint16(typ))
		return nil
	}
}

func vlanStep(c *clayer, dflt uint64) step {
	d := &layers.Dot1Q{
		Priority:       uint8(c.num("pcp", 0)),
		DropEligible:   c.num("dei", 0) == 1,
		VLANIdentifier: uint16(c.num("vid", 0)),
		Type:           layers.EthernetType(c.num("type", dflt)),
	}
	return func(buf gopacket.SerializeBuffer) error { return d.SerializeTo(buf, gopacket.SerializeOptions{}) }
}

func arpStep(c *clayer) step {
	hwdst := macOf(c, "hwdst")
	if hwdst == nil {
		hwdst = make(net.HardwareAddr, 6)
	}
	a := &layers.ARP{
		AddrType:          layers.LinkTypeEthernet,
		Protocol:          layers.EthernetTypeIPv4,
		HwAddressSize:     6,
		ProtAddressSize:   4,
		Operation:         uint16(c.num("op", 1)),
		SourceHwAddress:   macOf(c, "hwsrc"),
		SourceProtAddress: addrSlice(c, "psrc"),
		DstHwAddress:      hwdst,
		DstProtAddress:    addrSlice(c, "pdst"),
	}
	return func(buf gopacket.SerializeBuffer) error { return a.SerializeTo(buf, gopacket.SerializeOptions{}) }
}

func ipv4Step(c *clayer, proto uint64) (*layers.IPv4, step, error) {
	opts, _ := c.get("options")
	o := padOptions("ipv4", opts.Bytes)
	if len(o) > 40 {
		return nil, nil, c.errf("options", "%d bytes, max 40", len(opts.Bytes))
	}
	tos := c.num("tos", c.num("dscp", 0)<<2|c.num("ecn", 0))
	ip := &layers.IPv4{
		Version:    uint8(c.num("version", 4)),
		IHL:        uint8(c.num("ihl", uint64(5+len(o)/4))),
		TOS:        uint8(tos),
		Id:         uint16(c.num("id", 0)),
		Flags:      layers.IPv4Flag(c.num("flags", 0)),
		FragOffset: uint16(c.num("frag", 0)),
		TTL:        uint8(c.num("ttl", 64)),
		Protocol:   layers.IPProtocol(c.num("proto", proto)),
		SrcIP:      addrSlice(c, "src"),
		DstIP:      addrSlice(c, "dst"),
		Padding:    o,
	}
	lenSet := c.has("len")
	ip.Length = uint16(c.num("len", 0))
	sum, sumSet := c.get("chksum")
	return ip, func(buf gopacket.SerializeBuffer) error {
		if !lenSet {
			n := 20 + len(o) + len(buf.Bytes())
			if n > 0xffff {
				return fmt.Errorf("packet of %d bytes does not fit the 16-bit length", n)
			}
			ip.Length = uint16(n)
		}
		ip.Checksum = uint16(sum.Num)
		return ip.SerializeTo(buf, gopacket.SerializeOptions{ComputeChecksums: !sumSet})
	}, nil
}

func ipv6Step(c *clayer, nh uint64) (*layers.IPv6, step) {
	ip := &layers.IPv6{
		Version:      uint8(c.num("version", 6)),
		TrafficClass: uint8(c.num("tc", 0)),
		FlowLabel:    uint32(c.num("fl", 0)),
		NextHeader:   layers.IPProtocol(c.num("nh", nh)),
		HopLimit:     uint8(c.num("hlim", 64)),
		SrcIP:        addrSlice(c, "src"),
		DstIP:        addrSlice(c, "dst"),
	}
	lenSet := c.has("plen")
	ip.Length = uint16(c.num("plen", 0))
	return ip, func(buf gopacket.SerializeBuffer) error {
		if !lenSet {
			n := len(buf.Bytes())
			if n > 0xffff {
				return fmt.Errorf("payload of %d bytes does not fit the 16-bit length (no jumbograms)", n)
			}
			ip.Length = uint16(n)
		}
		return ip.SerializeTo(buf, gopacket.SerializeOptions{})
	}
}

// padOptions returns options as Build writes them: IPv4 and TCP options
// padded with zeros (End of Option List, RFC 791 and RFC 9293) to a
// multiple of 4 bytes, Hop-by-Hop options with Pad1 or PadN (RFC 8200
// section 4.2) so that the header is a multiple of 8 bytes.
func padOptions(layer string, o []byte) []byte {
	switch layer {
	case "ipv4", "tcp":
		if r := len(o) % 4; r != 0 {
			return append(bytes.Clone(o), make([]byte, 4-r)...)
		}
	case "ipv6hbh":
		switch r := (2 + len(o)) % 8; {
		case r == 7:
			return append(bytes.Clone(o), 0) // Pad1
		case r != 0:
			p := append(bytes.Clone(o), 1, byte(8-r-2)) // PadN
			return append(p, make([]byte, 8-r-2)...)
		}
	}
	return o
}

// hbhStep writes a Hop-by-Hop Options header (RFC 8200 section 4.3),
// padding the options to a multiple of 8 bytes with Pad1 or PadN.
func hbhStep(c *clayer, nh uint64) (step, error) {
	v, _ := c.get("options")
	o := padOptions("ipv6hbh", v.Bytes)
	if len(o)+2 > 2048 {
		return nil, c.errf("options", "%d bytes, max 2046", len(o))
	}
	next := c.num("nh", nh)
	return func(buf gopacket.SerializeBuffer) error {
		h, err := buf.PrependBytes(2 + len(o))
		if err != nil {
			return err
		}
		h[0] = byte(next)
		h[1] = byte((len(o)+2)/8 - 1)
		copy(h[2:], o)
		return nil
	}, nil
}

func fragStep(c *clayer, nh uint64) step {
	f := &layers.IPv6Fragment{
		NextHeader:     layers.IPProtocol(c.num("nh", nh)),
		Reserved1:      uint8(c.num("res1", 0)),
		FragmentOffset: uint16(c.num("offset", 0)),
		Reserved2:      uint8(c.num("res2", 0)),
		MoreFragments:  c.num("m", 0) == 1,
		Identification: uint32(c.num("id", 0)),
	}
	return func(buf gopacket.SerializeBuffer) error { return f.SerializeTo(buf, gopacket.SerializeOptions{}) }
}

// tcpOptions lays out the named TCP options the way Linux's
// tcp_options_write does for a SYN: MSS, then SACK-permitted and timestamps
// (sharing 4 bytes when both are present, else each after two NOPs), then
// NOP and window scale. RFC 9293 section 3.1, RFC 7323, RFC 2018.
func tcpOptions(c *clayer) []byte {
	var o []byte
	if v, ok := c.get("mss"); ok {
		o = append(o, 2, 4, byte(v.Num>>8), byte(v.Num))
	}
	sack := c.num("sackok", 0) == 1
	ts := c.has("tsval") || c.has("tsecr")
	switch {
	case ts:
		if sack {
			o = append(o, 4, 2)
		} else {
			o = append(o, 1, 1)
		}
		o = append(o, 8, 10)
		o = binary.BigEndian.AppendUint32(o, uint32(c.num("tsval", 0)))
		o = binary.BigEndian.AppendUint32(o, uint32(c.num("tsecr", 0)))
	case sack:
		o = append(o, 1, 1, 4, 2)
	}
	if v, ok := c.get("wscale"); ok {
		o = append(o, 1, 3, 3, byte(v.Num))
	}
	return o
}

func tcpStep(c *clayer, netLayer gopacket.NetworkLayer) (step, error) {
	o := tcpOptions(c)
	if v, ok := c.get("options"); ok {
		o = v.Bytes
	}
	o = padOptions("tcp", o)
	if len(o) > 40 {
		return nil, c.errf("options", "%d bytes, max 40", len(o))
	}
	flags := c.num("flags", 0x02)
	t := &layers.TCP{
		SrcPort:    layers.TCPPort(c.num("sport", 20)),
		DstPort:    layers.TCPPort(c.num("dport", 80)),
		Seq:        uint32(c.num("seq", 0)),
		Ack:        uint32(c.num("ack", 0)),
		DataOffset: uint8(c.num("dataofs", uint64(5+len(o)/4))),
		FIN:        flags&0x01 != 0, SYN: flags&0x02 != 0, RST: flags&0x04 != 0,
		PSH: flags&0x08 != 0, ACK: flags&0x10 != 0, URG: flags&0x20 != 0,
		ECE: flags&0x40 != 0, CWR: flags&0x80 != 0, NS: flags&0x100 != 0,
		Window:  uint16(c.num("window", 8192)),
		Urgent:  uint16(c.num("urgptr", 0)),
		Padding: o, // raw options: gopacket copies Padding after its (empty) option list
	}
	sum, sumSet := c.get("chksum")
	if !sumSet {
		if netLayer == nil {
			return nil, c.errf("chksum", "computing it needs an ipv4 or ipv6 layer before tcp (or give chksum=)")
		}
		if err := t.SetNetworkLayerForChecksum(netLayer); err != nil {
			return nil, c.errf("", "%w", err)
		}
	}
	t.Checksum = uint16(sum.Num)
	res := byte(c.num("reserved", 0))
	return func(buf gopacket.SerializeBuffer) error {
		if err := t.SerializeTo(buf, gopacket.SerializeOptions{ComputeChecksums: !sumSet}); err != nil {
			return err
		}
		if res != 0 { // gopacket has no field for the reserved bits (RFC 9293 section 3.1)
			h := buf.Bytes()
			old := binary.BigEndian.Uint16(h[12:])
			h[12] |= res << 1
			if !sumSet {
				binary.BigEndian.PutUint16(h[16:], update16(binary.BigEndian.Uint16(h[16:]), old, binary.BigEndian.Uint16(h[12:])))
			}
		}
		return nil
	}, nil
}

func udpStep(c *clayer, netLayer gopacket.NetworkLayer, dport uint64) (step, error) {
	u := &layers.UDP{
		SrcPort: layers.UDPPort(c.num("sport", 53)),
		DstPort: layers.UDPPort(c.num("dport", dport)),
	}
	sum, sumSet := c.get("chksum")
	if !sumSet {
		if netLayer == nil {
			return nil, c.errf("chksum", "computing it needs an ipv4 or ipv6 layer before udp (or give chksum=)")
		}
		if err := u.SetNetworkLayerForChecksum(netLayer); err != nil {
			return nil, c.errf("", "%w", err)
		}
	}
	u.Checksum = uint16(sum.Num)
	lenSet := c.has("len")
	u.Length = uint16(c.num("len", 0))
	return func(buf gopacket.SerializeBuffer) error {
		if !lenSet {
			n := 8 + len(buf.Bytes())
			if n > 0xffff {
				return fmt.Errorf("datagram of %d bytes does not fit the 16-bit length", n)
			}
			u.Length = uint16(n)
		}
		return u.SerializeTo(buf, gopacket.SerializeOptions{ComputeChecksums: !sumSet})
	}, nil
}

func icmpStep(c *clayer) step {
	i := &layers.ICMPv4{
		TypeCode: layers.CreateICMPv4TypeCode(uint8(c.num("type", icmpEchoRequest)), uint8(c.num("code", 0))),
		Id:       uint16(c.num("id", 0)),
		Seq:      uint16(c.num("seq", 0)),
	}
	sum, sumSet := c.get("chksum")
	i.Checksum = uint16(sum.Num)
	return func(buf gopacket.SerializeBuffer) error {
		return i.SerializeTo(buf, gopacket.SerializeOptions{ComputeChecksums: !sumSet})
	}
}

// icmpv6Fields lists the type-specific ICMPv6 fields each type takes
// (RFC 4443 sections 3 and 4, RFC 4861 sections 4.3 and 4.4). Types not
// listed take id and seq as the two halves of the 4 bytes after the checksum.
var icmpv6Fields = map[uint64][]string{
	icmp6PacketTooBig: {"mtu"},
	icmp6ParamProblem: {"ptr"},
	icmp6NeighborSol:  {"flags", "tgt", "lladdr"},
	icmp6NeighborAdv:  {"flags", "tgt", "lladdr"},
}

// icmpv6Body returns the message body after the 4-byte ICMPv6 header.
func icmpv6Body(c *clayer, typ uint64) ([]byte, error) {
	allowed, special := icmpv6Fields[typ]
	if !special {
		allowed = []string{"id", "seq"}
	}
	for _, f := range []string{"id", "seq", "mtu", "ptr", "flags", "tgt", "lladdr"} {
		if c.has(f) && !contains(allowed, f) {
			return nil, c.errf(f, "not a field of ICMPv6 type %s (it has %v)", layerByName["icmpv6"].field("type").formatNum(typ), allowed)
		}
	}
	var body []byte
	switch typ {
	case icmp6PacketTooBig:
		body = binary.BigEndian.AppendUint32(body, uint32(c.num("mtu", 1280)))
	case icmp6ParamProblem:
		body = binary.BigEndian.AppendUint32(body, uint32(c.num("ptr", 0)))
	case icmp6NeighborSol, icmp6NeighborAdv:
		body = binary.BigEndian.AppendUint32(body, uint32(c.num("flags", 0)))
		tgt, ok := c.get("tgt")
		if !ok {
			return nil, c.errf("tgt", "no value (neighbor discovery needs a target address)")
		}
		t := tgt.Addr.As16()
		body = append(body, t[:]...)
		if m, ok := c.get("lladdr"); ok {
			opt := byte(1) // Source Link-Layer Address (RFC 4861 section 4.6.1)
			if typ == icmp6NeighborAdv {
				opt = 2 // Target Link-Layer Address
			}
			body = append(body, opt, 1)
			body = append(body, m.MAC...)
		}
	default:
		body = binary.BigEndian.AppendUint16(body, uint16(c.num("id", 0)))
		body = binary.BigEndian.AppendUint16(body, uint16(c.num("seq", 0)))
	}
	return body, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func icmpv6Step(c *clayer, netLayer gopacket.NetworkLayer) (step, error) {
	typ := c.num("type", icmp6EchoRequest)
	body, err := icmpv6Body(c, typ)
	if err != nil {
		return nil, err
	}
	i := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(uint8(typ), uint8(c.num("code", 0)))}
	sum, sumSet := c.get("chksum")
	if !sumSet {
		if netLayer == nil {
			return nil, c.errf("chksum", "computing it needs an ipv6 layer before icmpv6 (or give chksum=)")
		}
		if err := i.SetNetworkLayerForChecksum(netLayer); err != nil {
			return nil, c.errf("", "%w", err)
		}
	}
	i.Checksum = uint16(sum.Num)
	return func(buf gopacket.SerializeBuffer) error {
		if err := appendFront(buf, body); err != nil {
			return err
		}
		return i.SerializeTo(buf, gopacket.SerializeOptions{ComputeChecksums: !sumSet})
	}, nil
}

func appendFront(buf gopacket.SerializeBuffer, p []byte) error {
	b, err := buf.PrependBytes(len(p))
	if err != nil {
		return err
	}
	copy(b, p)
	return nil
}

// vxlanStep writes the VXLAN header itself (RFC 7348 section 5, with the
// Group Policy fields of draft-smith-vxlan-group-policy): gopacket's VXLAN
// keeps only some flag bits, and specs may set any byte.
func vxlanStep(c *clayer) step {
	h := make([]byte, 8)
	h[0] = byte(c.num("flags", 0x08))
	h[1] = byte(c.num("gpflags", 0))
	binary.BigEndian.PutUint16(h[2:], uint16(c.num("gpid", 0)))
	binary.BigEndian.PutUint32(h[4:], uint32(c.num("vni", 0))<<8|uint32(c.num("reserved", 0)))
	return func(buf gopacket.SerializeBuffer) error { return appendFront(buf, h) }
}
