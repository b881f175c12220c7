// Package header provides views over the bytes of packet headers:
// Ethernet, 802.1Q, ARP, IPv4, IPv6 (with extension headers), ICMPv4,
// ICMPv6, TCP, UDP and VXLAN.
//
// A view is a byte slice type such as IPv4 whose methods read and write the
// header's fields in place, at fixed offsets, the way gVisor's
// pkg/tcpip/header does. Views never copy and never allocate.
//
// Methods do not check bounds: call the view's IsValid (or use
// packet.Parsed.Decode, which does) before using accessors on untrusted bytes.
//
// Setters named Set<Field>WithChecksumUpdate keep the header's own checksum
// right incrementally (RFC 1624). Changes that also affect a transport
// checksum through the pseudo-header are handled one level up, in package
// packet, which knows where the transport header is.
package header
