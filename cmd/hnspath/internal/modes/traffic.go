package modes

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/hnspath/hnspath/internal/input"
	"github.com/hnspath/hnspath/pcapio"
)

// Traffic is the user's traffic: Ethernet frames with the traffic's own
// addresses, in order.
type Traffic struct {
	// Source names where it came from (a capture file, a flows file, or
	// "inline flows").
	Source string
	// Frames are the packets; Index is 1-based.
	Frames []Frame
}

// Frame is one packet of the traffic.
type Frame struct {
	Index int
	// TimeNS is its time relative to the first packet.
	TimeNS int64
	Data   []byte
}

// maxFrames bounds a capture's size: the comparison replays every packet
// five times with tracing on.
const maxFrames = 100000

// LoadCapture reads a pcap or pcapng file.
func LoadCapture(path string) (*Traffic, error) {
	r, err := pcapio.Open(path, "")
	if err != nil {
		return nil, err
	}
	defer r.Close()
	t := &Traffic{Source: path}
	var t0 int64
	for {
		p, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if len(t.Frames) == maxFrames {
			return nil, fmt.Errorf("%s: more than %d packets; cut the capture (editcap -r)", path, maxFrames)
		}
		ns := p.Time.UnixNano()
		if len(t.Frames) == 0 {
			t0 = ns
		}
		t.Frames = append(t.Frames, Frame{Index: p.Index, TimeNS: max(ns-t0, 0), Data: bytes.Clone(p.Data)})
	}
	if len(t.Frames) == 0 {
		return nil, fmt.Errorf("%s: no packets", path)
	}
	return t, nil
}

// FlowLine is one line of a flows description.
type FlowLine struct {
	Line  int
	Proto string // tcp, udp, icmp
	Src   Side
	Dst   Side
	// Direction, when given, must match the one the roles give.
	Direction string
	// Size is the IP length of a data packet (tcp: one extra data segment
	// and its ACK; udp and icmp: the request's size).
	Size int
	// NoReply leaves out the answers.
	NoReply bool
	// IPv6 asks for the parties' IPv6 addresses.
	IPv6 bool
}

// Side is one end of a flow line: a workload name or an address, and a
// port.
type Side struct {
	Name string
	Addr netip.Addr
	Port uint16
}

// ParseFlows parses flows, one per line (or separated by ';'):
//
//	PROTO SRC -> DST [inbound|outbound|east-west|local] [size=N] [noreply] [ipv6]
//
// PROTO is tcp, udp or icmp; SRC and DST are a workload name or an address,
// with ":PORT" for tcp and udp ("web:80", "198.18.0.10:40000",
// "[2001:db8::1]:443"). The destination port is required; a missing source
// port is 40000 + the line's number. '#' starts a comment. Each flow becomes
// packets: tcp a handshake (SYN, SYN-ACK, ACK) plus, with size, a data
// segment of that IP length and its ACK; udp a datagram and its answer; icmp
// an echo request and its reply (noreply drops the answers).
func ParseFlows(file, text string) ([]FlowLine, error) {
	var out []FlowLine
	var errs Errors
	lines := strings.Split(text, "\n")
	if !strings.Contains(text, "\n") {
		lines = strings.Split(text, ";")
	}
	for i, raw := range lines {
		line := raw
		if c := strings.IndexByte(line, '#'); c >= 0 {
			line = line[:c]
		}
		for _, part := range strings.Split(line, ";") {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			fl, field, err := parseFlowLine(part)
			if err != nil {
				errs = append(errs, &InputError{File: file, Line: i + 1, Field: field, Err: err})
				continue
			}
			fl.Line = i + 1
			out = append(out, fl)
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	if len(out) == 0 {
		return nil, Errors{{File: file, Line: 1, Err: errors.New("no flows")}}
	}
	return out, nil
}

func parseFlowLine(s string) (FlowLine, string, error) {
	f := strings.Fields(s)
	if len(f) < 4 || f[2] != "->" {
		return FlowLine{}, "", fmt.Errorf("flow %q: want PROTO SRC -> DST [options]", s)
	}
	fl := FlowLine{Proto: strings.ToLower(f[0])}
	switch fl.Proto {
	case "tcp", "udp", "icmp":
	default:
		return FlowLine{}, "proto", fmt.Errorf("protocol %q: want tcp, udp or icmp", f[0])
	}
	var err error
	if fl.Src, err = parseSide(f[1], fl.Proto); err != nil {
		return FlowLine{}, "src", err
	}
	if fl.Dst, err = parseSide(f[3], fl.Proto); err != nil {
		return FlowLine{}, "dst", err
	}
	if fl.Proto != "icmp" && fl.Dst.Port == 0 {
		return FlowLine{}, "dst", fmt.Errorf("%q: a %s destination needs a port (NAME:PORT)", f[3], fl.Proto)
	}
	for _, o := range f[4:] {
		k, v, hasV := strings.Cut(o, "=")
		switch {
		case k == "inbound" || k == "outbound" || k == "east-west" || k == "local":
			fl.Direction = k
		case k == "noreply" && !hasV:
			fl.NoReply = true
		case k == "ipv6" && !hasV:
			fl.IPv6 = true
		case k == "size" && hasV:
			n, err := strconv.Atoi(v)
			if err != nil || n < 28 || n > 9000 {
				return FlowLine{}, "size", fmt.Errorf("size %q: want an IP length from 28 to 9000", v)
			}
			fl.Size = n
		default:
			return FlowLine{}, "options", fmt.Errorf("option %q: want inbound, outbound, east-west, local, size=N, noreply or ipv6", o)
		}
	}
	for _, a := range []Side{fl.Src, fl.Dst} {
		if a.Addr.Is6() {
			fl.IPv6 = true
		}
	}
	return fl, "", nil
}

func parseSide(s, proto string) (Side, error) {
	host, port := s, ""
	if strings.HasPrefix(s, "[") {
		h, p, err := net.SplitHostPort(s)
		if err != nil {
			return Side{}, fmt.Errorf("%q: %w", s, err)
		}
		host, port = h, p
	} else if i := strings.LastIndexByte(s, ':'); i >= 0 && strings.Count(s, ":") == 1 {
		host, port = s[:i], s[i+1:]
	}
	var sd Side
	if a, err := netip.ParseAddr(host); err == nil {
		sd.Addr = a.Unmap()
	} else if nameRE.MatchString(host) {
		sd.Name = host
	} else {
		return Side{}, fmt.Errorf("%q: want a workload name or an address", host)
	}
	if port != "" {
		if proto == "icmp" {
			return Side{}, fmt.Errorf("%q: icmp has no ports", s)
		}
		n, err := parsePort(port)
		if err != nil {
			return Side{}, fmt.Errorf("%q: %w", s, err)
		}
		sd.Port = n
	}
	return sd, nil
}

// synthetic address ranges for parties the workload gives no address of a
// family: endpoints 172.17.0.0/16 (Docker's default bridge), peers
// 192.0.2.0/24 (RFC 5737); IPv6 from fd00:17::/64 and 2001:db8:2::/64.
var (
	synthEP4   = netip.MustParsePrefix("172.17.0.0/16")
	synthEP6   = netip.MustParsePrefix("fd00:17::/64")
	synthPeer4 = netip.MustParsePrefix("192.0.2.0/24")
	synthPeer6 = netip.MustParsePrefix("2001:db8:2::/64")
)

// FlowsTraffic turns flow lines into frames, with the workload's addresses
// (and made-up ones where the workload gives a name without an address of
// the family, which are added to the workload).
func FlowsTraffic(source string, wl *Workload, lines []FlowLine) (*Traffic, error) {
	t := &Traffic{Source: source}
	used := map[netip.Addr]bool{}
	for _, e := range wl.endpoints() {
		for _, a := range e.Addrs {
			used[a] = true
		}
	}
	for _, p := range wl.Peers {
		for _, a := range p.Addrs {
			used[a] = true
		}
	}
	next := map[netip.Prefix]int{}
	alloc := func(p netip.Prefix) netip.Addr {
		for {
			next[p]++
			a := nth(p, 1+next[p])
			if !used[a] {
				used[a] = true
				return a
			}
		}
	}
	addrOf := func(sd Side, v6 bool, line int) (netip.Addr, error) {
		if sd.Addr.IsValid() {
			if sd.Addr.Is6() != v6 {
				return netip.Addr{}, fmt.Errorf("line %d: %s and the other side are of different IP families", line, sd.Addr)
			}
			return sd.Addr, nil
		}
		for _, e := range wl.endpoints() {
			if e.Name != sd.Name {
				continue
			}
			for _, a := range e.Addrs {
				if a.Is6() == v6 {
					return a, nil
				}
			}
			a := alloc(map[bool]netip.Prefix{false: synthEP4, true: synthEP6}[v6])
			e.Addrs = append(e.Addrs, a)
			return a, nil
		}
		for _, p := range wl.Peers {
			if p.Name != sd.Name {
				continue
			}
			for _, a := range p.Addrs {
				if a.Is6() == v6 {
					return a, nil
				}
			}
			a := alloc(map[bool]netip.Prefix{false: synthPeer4, true: synthPeer6}[v6])
			p.Addrs = append(p.Addrs, a)
			return a, nil
		}
		return netip.Addr{}, fmt.Errorf("line %d: %q is not a name of the workload (%s)", line, sd.Name, wl.File)
	}
	var now int64
	var errs Errors
	for _, fl := range lines {
		src, err := addrOf(fl.Src, fl.IPv6, fl.Line)
		if err == nil {
			var dst netip.Addr
			dst, err = addrOf(fl.Dst, fl.IPv6, fl.Line)
			if err == nil {
				sport := fl.Src.Port
				if sport == 0 {
					sport = uint16(40000 + fl.Line)
				}
				var frames [][]byte
				frames, err = flowFrames(fl, src, dst, sport)
				for _, fr := range frames {
					now += 1_000_000 // 1 ms apart
					t.Frames = append(t.Frames, Frame{Index: len(t.Frames) + 1, TimeNS: now, Data: fr})
				}
			}
		}
		if err != nil {
			errs = append(errs, &InputError{File: source, Line: fl.Line, Err: err})
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return t, nil
}

// Placeholder MACs of synthesised frames; every mode rewrites them.
var (
	macA = net.HardwareAddr{0x02, 0, 0, 0, 0xaa, 1}
	macB = net.HardwareAddr{0x02, 0, 0, 0, 0xbb, 1}
)

// flowFrames builds the packets of one flow line.
func flowFrames(fl FlowLine, src, dst netip.Addr, sport uint16) ([][]byte, error) {
	dport := fl.Dst.Port
	type step struct {
		fwd     bool
		flags   string
		payload int
	}
	var steps []step
	hdr := 20
	if fl.IPv6 {
		hdr = 40
	}
	switch fl.Proto {
	case "tcp":
		steps = []step{{true, "S", 0}, {false, "SA", 0}, {true, "A", 0}}
		if fl.Size > 0 {
			n := fl.Size - hdr - 20
			if n < 0 {
				return nil, fmt.Errorf("size %d is below the headers' %d bytes", fl.Size, hdr+20)
			}
			steps = append(steps, step{true, "PA", n}, step{false, "A", 0})
		}
	case "udp":
		n := 32
		if fl.Size > 0 {
			n = fl.Size - hdr - 8
		}
		if n < 0 {
			return nil, fmt.Errorf("size %d is below the headers' %d bytes", fl.Size, hdr+8)
		}
		steps = []step{{true, "", n}, {false, "", 32}}
	case "icmp":
		n := 56 // ping's default
		if fl.Size > 0 {
			n = fl.Size - hdr - 8
		}
		if n < 0 {
			return nil, fmt.Errorf("size %d is below the headers' %d bytes", fl.Size, hdr+8)
		}
		steps = []step{{true, "", n}, {false, "", n}}
	}
	if fl.NoReply {
		var keep []step
		for _, s := range steps {
			if s.fwd {
				keep = append(keep, s)
			}
		}
		steps = keep
	}
	var out [][]byte
	seqA, seqB := uint32(1000), uint32(5000)
	for _, s := range steps {
		a, b, pa, pb, ma, mb := src, dst, sport, dport, macA, macB
		if !s.fwd {
			a, b, pa, pb, ma, mb = dst, src, dport, sport, macB, macA
		}
		var l4 []gopacket.SerializableLayer
		payload := gopacket.Payload(bytes.Repeat([]byte{'x'}, s.payload))
		switch fl.Proto {
		case "tcp":
			t := &layers.TCP{SrcPort: layers.TCPPort(pa), DstPort: layers.TCPPort(pb), Window: 64240}
			for _, c := range s.flags {
				switch c {
				case 'S':
					t.SYN = true
				case 'A':
					t.ACK = true
				case 'P':
					t.PSH = true
				}
			}
			if s.fwd {
				t.Seq, t.Ack = seqA, seqB
				if t.SYN {
					seqA++
				}
				seqA += uint32(s.payload)
			} else {
				t.Seq, t.Ack = seqB, seqA
				if t.SYN {
					seqB++
				}
			}
			if !t.ACK {
				t.Ack = 0
			}
			l4 = []gopacket.SerializableLayer{t}
		case "udp":
			l4 = []gopacket.SerializableLayer{&layers.UDP{SrcPort: layers.UDPPort(pa), DstPort: layers.UDPPort(pb)}}
		case "icmp":
			id := uint16(0x4000 + fl.Line)
			if fl.IPv6 {
				typ := uint8(layers.ICMPv6TypeEchoRequest)
				if !s.fwd {
					typ = layers.ICMPv6TypeEchoReply
				}
				l4 = []gopacket.SerializableLayer{&layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(typ, 0)}, &layers.ICMPv6Echo{Identifier: id, SeqNumber: 1}}
			} else {
				typ := uint8(layers.ICMPv4TypeEchoRequest)
				if !s.fwd {
					typ = layers.ICMPv4TypeEchoReply
				}
				l4 = []gopacket.SerializableLayer{&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(typ, 0), Id: id, Seq: 1}}
			}
		}
		fr, err := serialize(ma, mb, a, b, l4, payload, 64, 0)
		if err != nil {
			return nil, err
		}
		out = append(out, fr)
	}
	return out, nil
}

// serialize builds an Ethernet frame around l4 (with lengths and
// checksums computed).
func serialize(srcMAC, dstMAC net.HardwareAddr, src, dst netip.Addr, l4 []gopacket.SerializableLayer, payload gopacket.Payload, ttl uint8, id uint16) ([]byte, error) {
	eth := &layers.Ethernet{SrcMAC: srcMAC, DstMAC: dstMAC, EthernetType: layers.EthernetTypeIPv4}
	var ip gopacket.NetworkLayer
	var ipl gopacket.SerializableLayer
	proto := layers.IPProtocolTCP
	switch l4[0].(type) {
	case *layers.UDP:
		proto = layers.IPProtocolUDP
	case *layers.ICMPv4:
		proto = layers.IPProtocolICMPv4
	case *layers.ICMPv6:
		proto = layers.IPProtocolICMPv6
	}
	if src.Is6() {
		eth.EthernetType = layers.EthernetTypeIPv6
		v6 := &layers.IPv6{Version: 6, HopLimit: ttl, NextHeader: proto, SrcIP: src.AsSlice(), DstIP: dst.AsSlice()}
		ip, ipl = v6, v6
	} else {
		v4 := &layers.IPv4{Version: 4, IHL: 5, TTL: ttl, Id: id, Protocol: proto, SrcIP: src.AsSlice(), DstIP: dst.AsSlice()}
		ip, ipl = v4, v4
	}
	for _, l := range l4 {
		switch t := l.(type) {
		case *layers.TCP:
			t.SetNetworkLayerForChecksum(ip)
		case *layers.UDP:
			t.SetNetworkLayerForChecksum(ip)
		case *layers.ICMPv6:
			t.SetNetworkLayerForChecksum(ip)
		}
	}
	all := append([]gopacket.SerializableLayer{eth, ipl}, l4...)
	all = append(all, payload)
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, all...); err != nil {
		return nil, fmt.Errorf("build frame: %w", err)
	}
	return bytes.Clone(buf.Bytes()), nil
}

// ReadFlows reads flows from a file, or takes arg itself as the flows when
// no such file exists.
func ReadFlows(arg string) (source, text string, err error) {
	if st, err := os.Stat(arg); err == nil && !st.IsDir() {
		b, err := input.ReadFile(arg, 0)
		if err != nil {
			return "", "", err
		}
		return arg, string(b), nil
	}
	if strings.Contains(arg, "->") {
		return "inline flows", arg, nil
	}
	return "", "", fmt.Errorf("flows %q: no such file, and not a flow (PROTO SRC -> DST)", arg)
}
