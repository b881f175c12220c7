package host

import (
	"github.com/hnspath/hnspath/emulator/header"
	"github.com/hnspath/hnspath/emulator/packet"
	"github.com/hnspath/hnspath/emulator/vswitch"
	"github.com/hnspath/hnspath/emulator/winnat"
)

// The flow cache of the nat network's outbound path. A container's packet
// to the outside passes the vSwitch (to the host vNIC), the management OS
// (receive, route, TTL), WinNAT and the NIC; for an established flow every
// decision but WinNAT's depends only on the configuration and on the
// frame's ingress endpoint, MACs and VLAN, and WinNAT's is its session. So
// the slow path, when it took exactly that path, records the outcome (the
// MACs the stack wrote, the NIC, the smallest MTU on the way) as a path,
// and tags the WinNAT session with it. The next packet of the flow finds
// its session (the lookup WinNAT would do anyway: no second table, no
// second cache miss), checks the tag and the path, and applies the same
// rewrite: WinNAT's translation (winnat.TranslateOutbound: same timers,
// TCP state and counters), TTL, MACs.
//
// Paths are few (one per endpoint and next hop) and shared by all the
// sessions that took them. The table is valid for one configuration: any
// change to the host, its stack or the NAT network's switch (Host.gen,
// Switch.Gen) empties it and starts a new epoch, which strands the tags of
// the old one. What can differ between packets of one session is checked
// per packet: ingress endpoint, MACs, VLAN, validity, TTL > 1, length
// against the smallest MTU on the way (the vNIC's included), fragments, and
// the hop budget. The cache is not used
// while tracing, so traces show every stage; Host.SetFastPath(false) turns
// it off, and the fabric's tests compare both ways packet by packet.
type fastPaths struct {
	off     bool
	epoch   uint32
	hostGen uint64
	sw      *vswitch.Switch // the NAT's internal switch
	swGen   uint64
	paths   []fastPath
	hits    uint64
}

// maxFastPaths bounds the table; when full, nothing more is recorded until
// the next configuration change.
const maxFastPaths = 1024

// fastHops is what the cached path charges to the hop budget: the
// switch ingress and the stack's receive, as the slow path does.
const fastHops = 2

type fastPath struct {
	ei             int32
	nic            int32
	mtu            int32
	vlan           uint16 // VID | 0x8000 when tagged
	srcMAC, dstMAC header.MAC
	outMACs        [12]byte // destination and source MAC the stack writes, as in the frame
}

// fastRecord follows one slow-path run to tell whether it took the path
// the cache models.
type fastRecord struct {
	on  bool
	bad bool       // a stage the cache does not model ran (VFP, flooding)
	nat winnat.Ref // the session WinNAT translated it with, outbound
	out int        // the interface the stack routed it out of
}

// SetFastPath turns the flow cache on (the default) or off. Results are
// the same either way; only the speed differs.
func (h *Host) SetFastPath(on bool) {
	h.fast.off = !on
	h.fast.paths = h.fast.paths[:0]
	h.fast.epoch++
}

func vlanOf(p *packet.Parsed) uint16 {
	if p.HasVLAN {
		return p.VID | 0x8000
	}
	return 0
}

// fastEligible reports whether p is a packet the cache may handle.
func fastEligible(p *packet.Parsed) bool {
	return p.Kind == packet.KindIPv4 && p.Err == packet.DecodeOK && p.HasL4Ports && !p.Fragment && !p.ICMPError && p.TTL > 1
}

// current reports whether the table belongs to the present configuration.
func (f *fastPaths) current(h *Host) bool {
	return f.hostGen == h.gen && f.sw != nil && f.swGen == f.sw.Gen()
}

// fastOutbound forwards p, from endpoint ei, along its session's cached
// path and reports whether it did. When it returns false nothing changed.
func (h *Host) fastOutbound(ei int, buf *packet.Buffer, p *packet.Parsed, out *Outbox) bool {
	f := &h.fast
	if out.Hops < fastHops || !f.current(h) {
		return false
	}
	nat := h.Stack.nat
	r, tag, ok := nat.OutboundSession(p, out.Now)
	if !ok || tag.Epoch != f.epoch || tag.Slot == 0 || int(tag.Slot) > len(f.paths) {
		return false
	}
	fp := &f.paths[tag.Slot-1]
	if fp.ei != int32(ei) || fp.srcMAC != p.SrcMAC || fp.dstMAC != p.DstMAC || fp.vlan != vlanOf(p) || p.L3Len() > int(fp.mtu) {
		return false
	}
	nat.TranslateOutbound(r, p, out.Now)
	p.TTL = header.IPv4(p.Bytes()[p.L3:]).DecTTLWithChecksumUpdate() // p.DecTTL for IPv4, inlined
	p.SetMACs(&fp.outMACs)
	out.Hops -= fastHops
	out.emit(Emit{Kind: Wire, NIC: int(fp.nic), Buf: buf})
	f.hits++
	return true
}

// FastPathHits returns how many packets the flow cache has forwarded.
func (h *Host) FastPathHits() uint64 { return h.fast.hits }

// slowOutbound runs p through the slow path from endpoint ei and, when it
// took the path the cache models, records it and tags the session.
func (h *Host) slowOutbound(ei int, buf *packet.Buffer, p *packet.Parsed, out *Outbox) {
	e := &h.Endpoints[ei]
	srcMAC, dstMAC, vlan := p.SrcMAC, p.DstMAC, vlanOf(p)
	nEmits, nDrops, hops := len(out.Emits), len(out.Drops), out.Hops
	out.rec = fastRecord{on: true}
	h.switchIngress(e.Switch, e.Port, buf, p, out)
	rec := out.rec
	out.rec = fastRecord{}
	if rec.bad || rec.nat == 0 || len(out.Emits) != nEmits+1 || len(out.Drops) != nDrops || hops-out.Hops != fastHops {
		return
	}
	em := &out.Emits[nEmits]
	if em.Kind != Wire {
		return
	}
	f := &h.fast
	s := h.Stack
	if s.natIface < 0 || s.ifaces[s.natIface].sw != e.Switch {
		return
	}
	if !f.current(h) {
		f.paths = f.paths[:0]
		f.epoch++
		f.hostGen = h.gen
		f.sw = h.Switches[e.Switch]
		f.swGen = f.sw.Gen()
	}
	eth := header.Ethernet(em.Buf.Bytes())
	// The smallest MTU on the way: the vNIC's (0: none), the interface's
	// the stack routed it out of, the NIC's.
	mtu := s.ifaces[rec.out].MTU
	if m := h.NICs[em.NIC].MTU; m < mtu {
		mtu = m
	}
	if m := h.Switches[e.Switch].Port(e.Port).MTU; m > 0 && m < mtu {
		mtu = m
	}
	fp := fastPath{ei: int32(ei), nic: int32(em.NIC), mtu: int32(mtu), vlan: vlan, srcMAC: srcMAC, dstMAC: dstMAC,
		outMACs: [12]byte(eth[0:12])}
	slot := 0
	for i := range f.paths {
		if f.paths[i] == fp {
			slot = i + 1
			break
		}
	}
	if slot == 0 {
		if len(f.paths) == maxFastPaths {
			return
		}
		f.paths = append(f.paths, fp)
		slot = len(f.paths)
	}
	s.nat.SetPathTag(rec.nat, winnat.PathTag{Epoch: f.epoch, Slot: uint16(slot)})
}
