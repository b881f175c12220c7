// Package spec implements packet specs: scapy-like layer stacks that
// scenario files use for the packets they inject and expect.
//
//	ether(dst=host1) / ipv4(src=10.0.0.99, dst=10.0.0.10) / tcp(sport=40000, dport=8082, flags=S)
//	ipv4(dst=172.16.0.2, ttl=63) / tcp(sport=$p, dport=80, flags=SA, chksum=valid)
//	ether(src=client) / ipv4(dst=10.0.0.10) / udp(sport=5000-5009, dport=53) / raw(len=32) x 2
//
// Parse turns text into a Spec, String prints it back in canonical form,
// Build turns a Spec into frames (with gopacket's serializer), Decode turns
// a frame into a Spec (with gopacket's decoders), and Match checks a frame
// against an expected Spec. SideBySide shows a failed match.
//
// # Grammar
//
//	spec   = layer { "/" layer } [ "x" count ]
//	layer  = name [ "(" [ field { "," field } ] ")" ]
//	field  = name "=" value
//
// Layer and field names are case-insensitive; aliases are accepted and
// String prints canonical names. Whitespace is free between tokens. Errors
// give the column: "col 17: ipv4: unknown field \"tll\"".
//
// Values, interpreted by the field they are given to:
//
//	64, 0x40          numbers (leading zeros are decimal)
//	8000-8010         a range: one packet per value (Build), any value in it (Match)
//	echo-request, S   symbols: ICMP types, ARP ops, Ethernet types, IP protocols, flags
//	10.0.0.1, fd00::1 IPv4 and IPv6 addresses
//	02:00:00:00:00:01 MAC addresses (also 02-00-00-00-00-01)
//	host1, host1/web  names, turned into addresses by a Resolver
//	0x0a0b, hex"0a 0b", "GET /\r\n"   byte strings (Go string escapes)
//	*                 any value (expectations only)
//	$p                a binding (see Match)
//	valid             chksum=valid: the checksum must be right (expectations)
//
// A trailing "x N" repeats the packet N times (at most MaxRepeat). Ranges
// combine as a cross product, the last one varying fastest; a spec may make
// at most MaxPackets packets.
//
// # Layers and fields
//
// Field names follow scapy where scapy has the field; chksum is also
// accepted as checksum.
//
//	ether(dst, src, type)                    aliases eth, ethernet
//	vlan(vid|id|vlan, pcp|prio, dei, type)   802.1Q tag; alias dot1q
//	arp(op=who-has|is-at|N, hwsrc, psrc, hwdst, pdst)   Ethernet/IPv4 ARP only
//	ipv4(src, dst, ttl, version, ihl, tos | dscp, ecn, len, id,
//	     flags=DF|MF|evil (combine with +), frag, proto, chksum, options=bytes)   alias ip
//	ipv6(src, dst, hlim|ttl, version, tc, fl, plen, nh)
//	ipv6hbh(nh, options=bytes)               Hop-by-Hop options, padded to 8n with Pad1/PadN
//	ipv6frag(offset|frag, m, id, nh, res1, res2)
//	tcp(sport, dport, flags=letters of FSRPAUECN, seq, ack, window, dataofs,
//	    reserved, urgptr|urgp, chksum, options=bytes | mss, wscale, sackok=1, tsval, tsecr)
//	udp(sport, dport, len, chksum)
//	icmp(type, code, id, seq|mtu, chksum)    alias icmpv4
//	icmpv6(type, code, id, seq, mtu, ptr, flags=RSO, tgt, lladdr, chksum)
//	vxlan(vni, flags, gpflags, gpid, reserved)
//	raw(load=bytes, len=N)                   alias payload
//	padding(load=bytes, len=N)               Ethernet padding; alias pad; last layer only
//
// What follows a layer is its payload: after vxlan comes the inner frame
// (ether first); after an ICMP or ICMPv6 error (dest-unreach,
// time-exceeded, ...) comes the packet that caused it; raw is the rest of
// the bytes. For raw and padding, len=N alone gives N zero bytes and with
// load repeats the load to N bytes.
//
// ICMPv6 fields after the checksum depend on the type (RFC 4443, RFC 4861):
// packet-too-big has mtu, parameter-problem ptr, neighbor-solicitation and
// neighbor-advertisement flags (R, S, O), tgt and lladdr (a source or
// target link-layer address option); every other type has id and seq as
// the two halves of those 4 bytes. The named TCP options are laid out as
// Linux lays out a SYN's: MSS, SACK-permitted, timestamps, window scale.
//
// # Defaults (Build)
//
// A spec whose first layer is vlan, arp, ipv4 or ipv6 gets an ether() in
// front. Fields left out get:
//
//   - lengths (ipv4 ihl and len, ipv6 plen, udp len, tcp dataofs) computed;
//     checksums computed by gopacket (UDP's 0 is written as 0xffff). Given
//     values are kept, so chksum=0x1234 or udp chksum=0 write exactly that;
//   - types from the next layer: ether/vlan type (0x9000 before anything
//     else, as in scapy), ipv4 proto (0 before anything else), ipv6 and
//     extension header nh (59, no next header, before anything else);
//   - ipv4 ttl and ipv6 hlim 64, ipv4 id 0, flags and tos 0, ipv4 version 4;
//   - tcp sport 20, dport 80, flags S, window 8192, seq and ack 0 (scapy);
//     udp sport 53, dport 53, or 4789 in front of vxlan;
//   - icmp and icmpv6 type echo-request, code, id and seq 0; vxlan flags
//     0x08 (the I flag), vni 0; arp op who-has, hwdst 00:00:00:00:00:00,
//     hwsrc the Ethernet source;
//   - IP and ARP sender addresses of the outermost packet: the injection
//     port's address, Resolver.IP(BuildOptions.From). Destinations have no
//     default;
//   - Ethernet source: for the outermost frame, the injection port's MAC
//     (Resolver.MAC(From)); else the MAC of the IP source if it was given
//     as a name, or the ARP hwsrc;
//   - Ethernet destination: broadcast for an ARP request, hwdst for an ARP
//     reply, the group MAC for IP broadcast and multicast destinations
//     (01:00:5e:... and 33:33:...), the MAC of the IP destination if it
//     was given as a name; for the outermost frame, BuildOptions.DstMAC.
//
// A missing value with no default is an error naming the field. Frames are
// not padded to 60 bytes: add padding(len=N) to pad.
//
// # Decode
//
// Decode prints every field that matters and leaves out the ones Build
// would write the same way, so that Build(Decode(frame)) == frame byte for
// byte: a bad checksum or length shows up as an explicit field, bytes no
// layer explains as raw(), trailing Ethernet padding as padding(). VXLAN is
// recognised on UDP destination port 4789 and on DecodeOptions.VXLANPorts.
//
// # Match
//
// Match checks only the fields an expected spec gives, with wildcards,
// ranges, bindings and chksum=valid; see Match for the alignment rules.
// Bindings ($p) are shared by the packets of a scenario through a
// *Bindings, and Build takes bound values too, so a reply can be built to
// the port a NAT chose.
package spec
