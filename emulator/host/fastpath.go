package host

import (
	"github.com/hnspath/hnspath/emulator/header"
	"github.com/hnspath/hnspath/emulator/packet"
	"github.com/hnspath/hnspath/emulator/vswitch"
	"github.com/hnspath/hnspath/emulator/winnat"
)

// The flow cache of the nat network. A container's packet to the outside
// passes the vSwitch (to the host vNIC), the management OS (receive, route,
// TTL), WinNAT and the NIC; a packet from outside to a published port or to
// a flow the container started passes the NIC, the management OS, WinNAT,
// the route back to the host vNIC and the vSwitch. For an established flow
// every decision but WinNAT's depends only on the configuration and on the
// frame's ingress port (endpoint or NIC), MACs and VLAN, and WinNAT's is
// its session. So the slow path, when it took exactly one of these paths,
// records the outcome (the MACs the stack wrote, where the frame left, the
// smallest MTU on the way) as a path, and tags the WinNAT session with it,
// one tag per direction, in the cache's own array indexed by the session's
// slot (winnat.Ref.Index): WinNAT knows nothing of the cache. The next
// packet of the flow finds its session (the lookup WinNAT would do anyway:
// no second hash table), checks the tag and the path, and applies the same
// rewrite:
// WinNAT's translation (winnat.TranslateOutbound and TranslateInbound:
// same timers, TCP state and counters), TTL, MACs.
//
// Paths are few (one per port and next hop) and shared by all the sessions
// that took them. The table is valid for one configuration: any change to
// the host, its stack or the NAT network's switch (Host.gen, Switch.Gen)
// empties it and its tags. A tag names the session by its Ref, so a
// session made later in the same slot finds no tag.
// What can differ between packets of one session is checked per packet:
// ingress port, MACs, VLAN, validity, TTL > 1, length against the smallest
// MTU on the way (the vNIC's included), fragments, and the hop budget. The
// cache is not used while tracing, so traces show every stage;
// Host.SetFastPath(false) turns it off, and the fabric's tests compare both
// ways packet by packet.
type fastPaths struct {
	off     bool
	tags    []sessionTags // by winnat.Ref.Index
	hostGen uint64
	sw      *vswitch.Switch // the NAT's internal switch
	swGen   uint64
	paths   []fastPath
	hits    uint64
}

// maxFastPaths bounds the table; when full, nothing more is recorded until
// the next configuration change.
const maxFastPaths = 1024

// fastHops is what a cached path charges to the hop budget, as the slow
// path does: outbound the switch ingress and the stack's receive, inbound
// the stack's receive and the switch ingress.
const fastHops = 2

// Directions of a cached path.
const (
	pathOut uint8 = iota + 1 // endpoint -> NIC
	pathIn                   // NIC -> endpoint
)

type fastPath struct {
	dir            uint8
	vlan           uint16 // VID | 0x8000 when tagged
	in             int32  // ingress: endpoint (out) or NIC (in)
	out            int32  // egress: NIC (out) or endpoint (in)
	mtu            int32
	srcMAC, dstMAC header.MAC
	outMACs        [12]byte // destination and source MAC the stack writes, as in the frame
}

// sessionTags are the cache's notes on one WinNAT session: which path its
// packets took in each direction (1-based slots of fastPaths.paths by
// direction-1; 0 none), valid while serial is the Serial of the session in
// that Index. 8 bytes, so that the array adds little to the session's own
// cache line per packet.
type sessionTags struct {
	serial uint32
	slot   [2]uint16
}

// fastRecord follows one slow-path run to tell whether it took a path the
// cache models.
type fastRecord struct {
	on  bool
	bad bool       // a stage the cache does not model ran (VFP, flooding)
	nat winnat.Ref // the session WinNAT translated it with
	dir uint8      // in which direction
	out int        // the interface the stack routed it out of
}

// SetFastPath turns the flow cache on (the default) or off. Results are
// the same either way; only the speed differs.
func (h *Host) SetFastPath(on bool) {
	h.fast.off = !on
	h.fast.reset(h)
}

// FastPathHits returns how many packets the flow cache has forwarded.
func (h *Host) FastPathHits() uint64 { return h.fast.hits }

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

// reset empties the table and the sessions' tags.
func (f *fastPaths) reset(h *Host) {
	f.paths = f.paths[:0]
	clear(f.tags)
	f.hostGen, f.sw = h.gen, nil
	if s := h.Stack; s.natIface >= 0 && s.ifaces[s.natIface].sw >= 0 {
		f.sw = h.Switches[s.ifaces[s.natIface].sw]
		f.swGen = f.sw.Gen()
	}
}

// path returns the cached path session r took in direction dir, or nil.
func (f *fastPaths) path(r winnat.Ref, dir uint8) *fastPath {
	i := r.Index()
	if i >= len(f.tags) || f.tags[i].serial != r.Serial() {
		return nil
	}
	slot := int(f.tags[i].slot[dir-1])
	if slot == 0 || slot > len(f.paths) {
		return nil
	}
	if fp := &f.paths[slot-1]; fp.dir == dir {
		return fp
	}
	return nil
}

// tag notes that session r took path slot (1-based) in direction dir.
// It allocates only to grow the array to a new largest session slot.
func (f *fastPaths) tag(r winnat.Ref, dir uint8, slot int) {
	i := r.Index()
	if i >= len(f.tags) {
		f.tags = append(f.tags, make([]sessionTags, i+1-len(f.tags))...)
	}
	t := &f.tags[i]
	if t.serial != r.Serial() {
		*t = sessionTags{serial: r.Serial()}
	}
	t.slot[dir-1] = uint16(slot)
}

// matches reports whether p, entering at port in, may take path fp.
func (fp *fastPath) matches(in int, p *packet.Parsed) bool {
	return fp.in == int32(in) && fp.srcMAC == p.SrcMAC && fp.dstMAC == p.DstMAC && fp.vlan == vlanOf(p) && p.L3Len() <= int(fp.mtu)
}

// fastForward forwards p, entering at port in (an endpoint for pathOut, a
// NIC for pathIn), along its session's cached path in direction dir and
// reports whether it did. When it returns false nothing changed.
func (h *Host) fastForward(dir uint8, in int, buf *packet.Buffer, p *packet.Parsed, out *Outbox) bool {
	f := &h.fast
	if out.Hops < fastHops || !f.current(h) {
		return false
	}
	nat := h.Stack.nat
	var r winnat.Ref
	var ok bool
	if dir == pathOut {
		r, ok = nat.OutboundSession(p, out.Now)
	} else {
		r, ok = nat.InboundSession(p, out.Now)
	}
	if !ok {
		return false
	}
	fp := f.path(r, dir)
	if fp == nil || !fp.matches(in, p) {
		return false
	}
	e := Emit{Kind: Wire, NIC: int(fp.out), Buf: buf}
	if dir == pathOut {
		nat.TranslateOutbound(r, p, out.Now)
	} else {
		nat.TranslateInbound(r, p, out.Now)
		e = Emit{Kind: Deliver, Endpoint: int(fp.out), Buf: buf}
	}
	// Then what the path's stages do after WinNAT: the router's TTL
	// decrement (p.DecTTL for IPv4, inlined) and the MACs the stack writes.
	p.TTL = header.IPv4(p.Bytes()[p.L3:]).DecTTLWithChecksumUpdate()
	p.SetMACs(&fp.outMACs)
	out.Hops -= fastHops
	out.emit(e)
	f.hits++
	return true
}

// recording is a slow-path run being watched for a path the cache models.
type recording struct {
	fp           fastPath
	emits, drops int
	hops         int
}

// startRecording prepares to watch the slow path run p, entering at port
// in, in direction dir.
func startRecording(dir uint8, in int, p *packet.Parsed, out *Outbox) recording {
	out.rec = fastRecord{on: true}
	return recording{fp: fastPath{dir: dir, in: int32(in), srcMAC: p.SrcMAC, dstMAC: p.DstMAC, vlan: vlanOf(p)},
		emits: len(out.Emits), drops: len(out.Drops), hops: out.Hops}
}

// stop returns what the slow path did and its one emit, when it
// took a path of the recording's direction: one session translated, one
// frame out, no drop, fastHops stages, no stage the cache does not model.
func (r *recording) stop(out *Outbox) (fastRecord, *Emit, bool) {
	rec := out.rec
	out.rec = fastRecord{}
	if rec.bad || rec.nat == 0 || rec.dir != r.fp.dir || len(out.Emits) != r.emits+1 || len(out.Drops) != r.drops || r.hops-out.Hops != fastHops {
		return rec, nil, false
	}
	return rec, &out.Emits[r.emits], true
}

// slowOutbound runs p through the slow path from endpoint ei and, when it
// took the path the cache models, records it and tags the session.
func (h *Host) slowOutbound(ei int, buf *packet.Buffer, p *packet.Parsed, out *Outbox) {
	e := &h.Endpoints[ei]
	r := startRecording(pathOut, ei, p, out)
	h.switchIngress(e.Switch, e.Port, buf, p, out)
	rec, em, ok := r.stop(out)
	s := h.Stack
	if !ok || em.Kind != Wire || s.natIface < 0 || s.ifaces[s.natIface].sw != e.Switch {
		return
	}
	// The smallest MTU on the way: the vNIC's (0: none), the interface's
	// the stack routed it out of, the NIC's.
	r.fp.out = int32(em.NIC)
	r.fp.mtu = int32(min(s.ifaces[rec.out].MTU, h.NICs[em.NIC].MTU, portMTU(h.Switches[e.Switch], e.Port)))
	h.remember(&r.fp, em.Buf, rec.nat)
}

// slowInbound runs p, which arrived at NIC ni (owned by the management OS),
// through the slow path and, when it took the path the cache models,
// records it and tags the session.
func (h *Host) slowInbound(ni int, buf *packet.Buffer, p *packet.Parsed, out *Outbox) {
	n := h.NICs[ni]
	r := startRecording(pathIn, ni, p, out)
	h.Stack.receive(n.Iface, buf, p, out)
	rec, em, ok := r.stop(out)
	s := h.Stack
	if !ok || em.Kind != Deliver || em.Endpoint == HostEndpoint || s.natIface < 0 || rec.out != s.natIface {
		return
	}
	e := &h.Endpoints[em.Endpoint]
	if s.ifaces[s.natIface].sw != e.Switch {
		return
	}
	// The smallest MTU on the way: the NIC's, the interface's the stack
	// routed it out of (the host vNIC), the container vNIC's (0: none).
	r.fp.out = int32(em.Endpoint)
	r.fp.mtu = int32(min(n.MTU, s.ifaces[rec.out].MTU, portMTU(h.Switches[e.Switch], e.Port)))
	h.remember(&r.fp, em.Buf, rec.nat)
}

// portMTU returns a switch port's MTU, or a bound no frame reaches when it
// has none.
func portMTU(sw *vswitch.Switch, port vswitch.PortID) int {
	if m := sw.Port(port).MTU; m > 0 {
		return m
	}
	return 1 << 30
}

// remember adds path fp, with the MACs the slow path left in frame b, to
// the table (once) and tags session r with it.
func (h *Host) remember(fp *fastPath, b *packet.Buffer, r winnat.Ref) {
	f := &h.fast
	if !f.current(h) {
		f.reset(h)
		if f.sw == nil {
			return
		}
	}
	fp.outMACs = [12]byte(b.Bytes()[0:12])
	slot := 0
	for i := range f.paths {
		if f.paths[i] == *fp {
			slot = i + 1
			break
		}
	}
	if slot == 0 {
		if len(f.paths) == maxFastPaths {
			return
		}
		f.paths = append(f.paths, *fp)
		slot = len(f.paths)
	}
	f.tag(r, fp.dir, slot)
}
