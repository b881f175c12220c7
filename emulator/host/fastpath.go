package host

import (
	"encoding/binary"

	"github.com/hnspath/hnspath/emulator/header"
	"github.com/hnspath/hnspath/emulator/packet"
	"github.com/hnspath/hnspath/emulator/winnat"
)

// The host flow cache holds the outcome of the slow path for flows that
// enter at a container port, are routed by the management OS through
// WinNAT and leave through a NIC (the nat network's outbound path): the
// egress NIC, the MACs the stack wrote and the WinNAT session. A hit
// re-checks what can change per packet (the host's configuration
// generation, the packet's length against the MTU, the NAT session being
// the live one of this tuple, via winnat.RefreshOutbound, which also
// refreshes its timers) and applies the same rewrite: source address and
// port, TTL, MACs. Packets that can change state or need an error are never
// cached: fragments, TTL <= 1, TCP SYN, FIN or RST, ICMP errors. The cache
// is bypassed while tracing, so traces always show every stage.
//
// The cache is direct-mapped, like a CPU cache: a flow's slot is a hash of
// its key, and a new flow overwrites whatever was there. A miss costs one
// slot check before the slow path; there is nothing to expire or sweep. A
// doorkeeper admits a flow only on its second miss (TinyLFU's doorkeeper),
// so that many more flows than slots (a scan, 1M flows round robin) do not
// turn every packet into a cache write.
//
// The cache starts small (a scenario's host sees few flows) and doubles,
// dropping its contents, when it has taken in as many flows as a quarter of its
// slots, up to fcMaxSlots.
const (
	fcMinSlots = 1 << 10
	fcMaxSlots = 1 << 16
)

// fcKey identifies a flow as the slow path saw it: everything its decisions
// depended on (ingress endpoint, VLAN, MACs, addresses, protocol, ports).
type fcKey struct {
	macs  uint64 // destination MAC and the first two bytes of the source MAC
	addrs uint64 // source and destination IPv4 addresses
	smac  uint32 // last four bytes of the source MAC
	ports uint32 // source and destination ports (or ICMP query identifier)
	misc  uint32 // endpoint, protocol, VLAN
	_     uint32
}

func (k *fcKey) hash() uint32 {
	h := k.macs*0x9e3779b97f4a7c15 ^ k.addrs*0xc2b2ae3d27d4eb4f ^ (uint64(k.smac)<<32|uint64(k.ports))*0x165667b19e3779f9 ^ uint64(k.misc)*0x27d4eb2f165667c5
	h ^= h >> 29
	return uint32(h >> 32)
}

type fcEntry struct {
	key    fcKey
	gen    uint64 // 0: empty
	nat    winnat.Ref
	nic    int32
	mtu    int32
	srcMAC header.MAC
	dstMAC header.MAC
}

// fcRecord follows one slow-path run to see whether its outcome can be cached.
type fcRecord struct {
	on  bool       // recording
	bad bool       // the path took a stage the cache does not model
	nat winnat.Ref // the WinNAT session that translated it
	mtu int        // smallest MTU on the way out
}

// Invalidate drops cached fast-path decisions; every configuration change
// of the host calls it (policy changes inside VFP have their own generation).
// Generations start at 1, so a zero entry is empty.
func (h *Host) Invalidate() { h.gen++ }

func fcEligible(p *packet.Parsed) bool {
	return p.Kind == packet.KindIPv4 && p.Err == packet.DecodeOK && !p.Fragment && p.HasL4Ports && !p.ICMPError &&
		p.TTL > 1 && (p.IPProto != header.ProtoTCP || p.TCPFlags&(header.TCPFlagSYN|header.TCPFlagFIN|header.TCPFlagRST) == 0)
}

func fcKeyOf(ei int, p *packet.Parsed) fcKey {
	b := p.Bytes()
	ip := b[p.L3:]
	k := fcKey{
		macs:  binary.LittleEndian.Uint64(b[0:8]),
		smac:  binary.LittleEndian.Uint32(b[8:12]),
		addrs: binary.LittleEndian.Uint64(ip[12:20]),
		ports: uint32(p.SrcPort)<<16 | uint32(p.DstPort),
		misc:  uint32(ei)<<16 | uint32(p.IPProto)<<8,
	}
	if p.HasVLAN {
		k.misc |= 1<<31 | uint32(p.VID)<<20
	}
	return k
}

// fastOutbound applies a cached decision and reports whether it did.
func (h *Host) fastOutbound(k *fcKey, buf *packet.Buffer, p *packet.Parsed, out *Outbox) bool {
	if h.fc == nil {
		return false
	}
	e := &h.fc[k.hash()&uint32(len(h.fc)-1)]
	if e.gen != h.gen || e.key != *k || p.L3Len() > int(e.mtu) || !h.Stack.nat.RefreshOutbound(e.nat, p, out.Now) {
		return false
	}
	p.DecTTL()
	p.SetSrcMAC(e.srcMAC)
	p.SetDstMAC(e.dstMAC)
	out.emit(Emit{Kind: Wire, NIC: int(e.nic), Buf: buf})
	h.FastHits++
	return true
}

// remember caches the outcome of a slow-path run that emitted one wire
// frame after WinNAT translated it.
func (h *Host) remember(k *fcKey, r *fcRecord, emit *Emit) {
	if r.bad || r.nat == 0 || emit.Kind != Wire {
		return
	}
	if h.fc == nil {
		h.fc = make([]fcEntry, fcMinSlots)
		h.fcDoor = make([]uint32, fcMinSlots)
	}
	hash := k.hash()
	fp := hash | 1 // never 0, the empty door slot
	if d := &h.fcDoor[(hash>>16^hash*0x9e3779b9)&uint32(len(h.fcDoor)-1)]; *d != fp {
		*d = fp // first miss: remember, do not cache yet
		return
	}
	h.fcInserts++
	if h.fcInserts > len(h.fc)/4 && len(h.fc) < fcMaxSlots {
		h.fc = make([]fcEntry, 2*len(h.fc))
		h.fcDoor = make([]uint32, 2*len(h.fcDoor))
		h.fcInserts = 0
	}
	eth := header.Ethernet(emit.Buf.Bytes())
	e := fcEntry{key: *k, gen: h.gen, nat: r.nat, nic: int32(emit.NIC), mtu: int32(r.mtu), srcMAC: eth.SrcMAC(), dstMAC: eth.DstMAC()}
	if n := h.NICs[emit.NIC].MTU; e.mtu == 0 || n < int(e.mtu) {
		e.mtu = int32(n)
	}
	h.fc[hash&uint32(len(h.fc)-1)] = e
}

// enableFastPath turns the host flow cache on; its slots are allocated on
// the first flow it remembers.
func (h *Host) enableFastPath() { h.fcOn = !h.fcOff }

// DisableFlowCache turns the host flow cache off (tests compare the two).
func (h *Host) DisableFlowCache() {
	h.fcOff = true
	h.fcOn = false
	h.fc = nil
	h.fcDoor = nil
}
