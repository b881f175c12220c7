// Package packet decodes a frame once into a Parsed (offsets, addresses,
// ports, the flow tuple) and rewrites it in place with incremental checksum
// updates, and it holds frames in buffers with headroom so that
// encapsulation prepends without copying.
//
// Like Tailscale's net/packet, Decode does not return an error: a frame that
// cannot be parsed is marked with a DecodeError that stages turn into a
// labelled drop. Nothing in Decode or the setters allocates.
package packet
