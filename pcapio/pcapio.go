// Package pcapio reads and writes packet captures: pcap and pcapng.
//
// Scenarios take packets from captures and write their results as
// captures, so that Wireshark shows what happened. Ports map to pcapng
// interfaces: one interface per port, named after the port (the if_name
// option). A pcap file has no interfaces, so its packets get the port the
// caller names.
//
// The Reader detects the format from the magic number, streams one packet
// at a time (memory does not grow with the capture) and reuses its
// buffers: a Packet's Data is valid until the next call to Next. It reads
// both byte orders, pcap with microsecond or nanosecond timestamps, and
// pcapng with several sections and interfaces, any if_tsresol and
// if_tsoffset, Enhanced, Simple and (obsolete) Packet Blocks. Only
// Ethernet (LINKTYPE_ETHERNET, 1) is accepted. Bad input gives an
// *InputError naming the file, the packet number and the byte offset.
//
// NgWriter writes pcapng with interfaces created on first use, packet
// comments and epb_verdict options (drops show up in Wireshark with a
// comment "drop: <reason>" and a verdict). PcapWriter writes classic pcap
// with nanosecond timestamps. Both write little-endian, through gopacket's
// pcapgo writers; this package adds ports as interfaces, a section without
// interfaces (pcapgo writes its section header only with a first
// interface) and the zero Time as 0 (pcapgo writes it as now).
//
// Reading stays this package's own, because gopacket v1.7.7's pcapgo
// readers cannot give what the Reader promises:
//   - located errors: NgReader reads through a bufio.Reader of its own and
//     exposes no position, so neither a bad block's byte offset nor the
//     packet's can be known; its errors ("Unknown magic 1020304") name no
//     packet or field;
//   - if_MACaddr: NgInterface has no MAC (Info.IfaceMAC);
//   - link types beyond 16 bits and the pcap FCS bits: Reader converts the
//     32-bit link-type field to layers.LinkType (uint16), so an FCS-carrying
//     capture reads as plain Ethernet;
//   - a pcap file cut after a record header: Reader returns io.EOF, a clean
//     end, where the file is truncated;
//   - NgReader skips, without a word, packets whose interface's link type
//     differs from the first interface's, unless WantMixedLinkType.
//
// BenchmarkRead measures both on 1M small packets.
//
// The formats: pcap as in draft-ietf-opsawg-pcap, pcapng as in
// draft-ietf-opsawg-pcapng (IETF OPSAWG, "PCAP Now Generic (pcapng)
// Capture File Format"), section numbers below refer to it.
package pcapio

import (
	"fmt"
	"time"
)

// LinkTypeEthernet is LINKTYPE_ETHERNET, the only link type handled
// unless a Reader is told to AllowRawIP.
const LinkTypeEthernet = 1

// Raw IP link types (tcpdump.org link-layer header types): the packet
// starts with an IPv4 or IPv6 header.
const (
	LinkTypeRaw  = 101
	LinkTypeIPv4 = 228
	LinkTypeIPv6 = 229
)

// IsRawIP reports whether lt is a raw IP link type.
func IsRawIP(lt uint16) bool { return lt == LinkTypeRaw || lt == LinkTypeIPv4 || lt == LinkTypeIPv6 }

// Packet is one packet of a capture.
type Packet struct {
	// Index is the 1-based number of the packet in the file (Reader);
	// writers ignore it.
	Index int
	// Port is the port the packet was seen at: the pcapng interface name,
	// or the default port given to the Reader for pcap files and unnamed
	// interfaces.
	Port string
	// Time is the packet's timestamp.
	Time time.Time
	// Data is the frame, starting with the Ethernet header. From a Reader
	// it is valid until the next call to Next.
	Data []byte
	// OrigLen is the frame's length on the wire when Data was cut short by
	// a snap length; 0 means len(Data).
	OrigLen int
	// Comment is the packet comment (pcapng opt_comment; several comments
	// are joined with newlines). pcap has no comments.
	Comment string
	// Verdict is the packet's epb_verdict option, or nil. From a Reader
	// it is valid until the next call to Next.
	Verdict *Verdict
}

// Info is what a capture says about a packet beyond Packet (Reader.NextInfo).
type Info struct {
	// LinkType is the link type of the packet's interface (or the pcap file).
	LinkType uint16
	// Interface, IfaceMAC and IfaceDescription are the pcapng interface's
	// if_name, if_MACaddr (nil if none) and if_description.
	Interface        string
	IfaceMAC         []byte
	IfaceDescription string
	// PacketID is the epb_packetid option when HasPacketID (etl2pcapng
	// writes pktmon's PktGroupId there).
	PacketID    uint64
	HasPacketID bool
}

// VerdictType says how to read a Verdict (pcapng section 4.3.1, epb_verdict).
type VerdictType uint8

// Verdict types.
const (
	// VerdictHardware is an opaque verdict from hardware, in Data.
	VerdictHardware VerdictType = 0
	// VerdictLinuxTC is the return value of a Linux eBPF TC program, in Value.
	VerdictLinuxTC VerdictType = 1
	// VerdictLinuxXDP is the return value of a Linux eBPF XDP program, in Value.
	VerdictLinuxXDP VerdictType = 2
)

// String returns the verdict type's name as Wireshark shows it.
func (t VerdictType) String() string {
	switch t {
	case VerdictHardware:
		return "Hardware"
	case VerdictLinuxTC:
		return "eBPF_TC"
	case VerdictLinuxXDP:
		return "eBPF_XDP"
	}
	return fmt.Sprintf("VerdictType(%d)", uint8(t))
}

// Verdict is an epb_verdict option: what a datapath decided about a packet.
type Verdict struct {
	// Type is the kind of verdict.
	Type VerdictType
	// Value is the program's return value for VerdictLinuxTC and
	// VerdictLinuxXDP.
	Value uint64
	// Data holds the bytes of a VerdictHardware verdict.
	Data []byte
}

// Linux return codes that mean "drop" (include/uapi/linux/pkt_cls.h
// TC_ACT_SHOT, include/uapi/linux/bpf.h XDP_DROP).
const (
	TCActShot = 2
	XDPDrop   = 1
)

// DropVerdict is the verdict written for dropped packets: a Linux TC
// "shot" (TC_ACT_SHOT), which Wireshark shows as frame.verdict.ebpf_tc == 2.
// pcapng has no verdict type for Windows datapaths; the reason goes in the
// packet comment.
var DropVerdict = Verdict{Type: VerdictLinuxTC, Value: TCActShot}

// InputError is an error in a capture file, located by packet number and
// byte offset.
type InputError struct {
	// File is the file name as given.
	File string
	// Packet is the 1-based number of the packet being read; 0 when the
	// error is before the first packet or not about one.
	Packet int
	// Offset is the byte offset of the block or record in the file.
	Offset int64
	// Err is the underlying error.
	Err error
}

// Error formats e as "file: packet 12 (offset 4096): ...".
func (e *InputError) Error() string {
	if e.Packet > 0 {
		return fmt.Sprintf("%s: packet %d (offset %d): %v", e.File, e.Packet, e.Offset, e.Err)
	}
	return fmt.Sprintf("%s: offset %d: %v", e.File, e.Offset, e.Err)
}

// Unwrap returns the underlying error.
func (e *InputError) Unwrap() error { return e.Err }
