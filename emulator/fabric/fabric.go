// Package fabric assembles the emulated world: Windows hosts (package host,
// programmed from HCN objects by package hns), outside peers, and the
// underlay that joins them, with a router for the underlay's subnets.
//
// Inject puts one frame in at a named port and runs it, and every frame it
// causes, to completion on the virtual clock given by the caller (packet
// timestamps). The Outcome says where frames came out, with their bytes, and
// where and why frames were dropped, with an optional trace of every stage.
//
// A Fabric is not safe for concurrent use; benchmarks run one per core with
// flows sharded by hash, as receive-side scaling does. In steady state
// Inject does not allocate (with tracing off).
package fabric

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	"github.com/hnspath/hnspath/emulator/drop"
	"github.com/hnspath/hnspath/emulator/header"
	"github.com/hnspath/hnspath/emulator/hns"
	"github.com/hnspath/hnspath/emulator/host"
	"github.com/hnspath/hnspath/emulator/packet"
	"github.com/hnspath/hnspath/emulator/trace"
)

// PortID identifies a port of the fabric.
type PortID int32

// NoPort is the absence of a port.
const NoPort PortID = -1

// PortKind is what a port is.
type PortKind uint8

// Port kinds. Port names follow docs/design.md §2: HOST/ENDPOINT, HOST/host,
// HOST/NIC, PEER.
const (
	PortEndpoint PortKind = iota // a container vNIC: HOST/ENDPOINT
	PortHostOS                   // the management OS: HOST/host
	PortNIC                      // a physical NIC, wire side: HOST/NIC
	PortPeer                     // an outside peer: PEER
	PortRouter                   // the underlay router
)

var portKindNames = [...]string{"endpoint", "host", "nic", "peer", "router"}

func (k PortKind) String() string { return portKindNames[k] }

// Port describes a port.
type Port struct {
	Name     string
	Kind     PortKind
	Host     int // host index (endpoint, host, nic)
	Endpoint int // endpoint index in the host (endpoint, host)
	NIC      int // NIC index in the host (nic)
	Peer     int // peer index (peer)
	MAC      header.MAC
	IPs      []netip.Addr
	// Gateway is the default gateway a peer or endpoint sends off-subnet
	// IPv4 traffic to (IPv6 when it has only that), when known; Gateway6
	// is an endpoint's IPv6 gateway.
	Gateway, Gateway6 netip.Addr
}

// OutputKind says how a frame came out.
type OutputKind uint8

// Output kinds.
const (
	Delivered OutputKind = iota // reached an endpoint, the management OS, a peer or the router
	WireTx                      // seen leaving a host through a NIC (a capture point, not an end)
	WireRx                      // seen arriving at a host's NIC from the wire
)

var outputKindNames = [...]string{"delivered", "wire-tx", "wire-rx"}

func (k OutputKind) String() string { return outputKindNames[k] }

// Output is a frame that came out at a port. Frame aliases the fabric's
// buffers: it is valid until the next Inject.
type Output struct {
	Port  PortID
	Kind  OutputKind
	Frame []byte
}

// Drop is a frame dropped on the way. Frame is the frame as it was when
// dropped (valid until the next Inject).
type Drop struct {
	Port      PortID // the port nearest to where it was dropped, or NoPort
	Host      string // host name, or "" for the underlay
	Component string // vswitch, vfp, winnat, tcpip, nic, underlay, router
	Where     string // the component's port or interface name
	Reason    drop.Reason
	Layer     string // VFP layer, group and rule when a rule dropped it
	Group     string
	Rule      string
	Frame     []byte
}

// Outcome is what happened to one injected frame.
type Outcome struct {
	Outputs []Output
	Drops   []Drop
	Trace   trace.Recorder
}

// Reset empties o, keeping storage.
func (o *Outcome) Reset() {
	if o.Outputs == nil {
		// Whole cache lines from the start (see New: false sharing between
		// the outcomes of per-core fabrics).
		o.Outputs = make([]Output, 0, 8)
		o.Drops = make([]Drop, 0, 4)
	}
	// Outputs only alias the fabric's pool buffers: nothing to let go of.
	o.Outputs = o.Outputs[:0]
	if len(o.Drops) > 0 {
		clear(o.Drops) // may alias the caller's frame
		o.Drops = o.Drops[:0]
	}
	if len(o.Trace.Events) > 0 {
		o.Trace.Reset()
	}
}

// Options tune a fabric.
type Options struct {
	// Trace records a trace of every stage in Outcome.Trace.
	Trace bool
	// ObserveWire reports frames leaving and entering host NICs as WireTx
	// and WireRx outputs (each a copy). Scenarios turn it on; benchmarks off.
	ObserveWire bool
	// HopLimit bounds the stages one input may pass (default 256).
	HopLimit int
	// Shard and Shards partition NAT port ranges between per-core fabrics.
	Shard, Shards int
	// NoFastPath turns off the hosts' flow caches (host.SetFastPath): the
	// results are the same, only slower. Tests compare the two.
	NoFastPath bool
}

type memberKind uint8

const (
	memberNIC memberKind = iota
	memberPeer
	memberRouter
)

// member is something attached to the underlay.
type member struct {
	kind memberKind
	host int
	nic  int
	peer int
	port PortID
	mac  header.MAC // the MAC frames to it carry
	key  uint64     // mac as an integer
}

// member returns who receives frames to MAC mac on the underlay: a linear
// scan of the attachments' keys while the underlay is small, else the map.
func (f *Fabric) member(mac uint64) *member {
	if len(f.members) <= 8 {
		for i, k := range f.attachKeys {
			if k == mac {
				return &f.attach[i]
			}
		}
		if len(f.members) == len(f.attach) {
			return nil
		}
	}
	return f.members[mac]
}

// owners maps IP addresses to the underlay member that receives them.
type owners struct {
	v4 map[uint32]member
	v6 map[[16]byte]member
}

func newOwners() owners {
	return owners{v4: make(map[uint32]member), v6: make(map[[16]byte]member)}
}

func (o owners) get(a netip.Addr) (member, bool) {
	var m member
	var ok bool
	if a.Is4() {
		b := a.As4()
		m, ok = o.v4[uint32(b[0])<<24|uint32(b[1])<<16|uint32(b[2])<<8|uint32(b[3])]
	} else {
		m, ok = o.v6[a.As16()]
	}
	return m, ok
}

func (o owners) set(a netip.Addr, m member) {
	if a = a.Unmap(); a.Is4() {
		b := a.As4()
		o.v4[uint32(b[0])<<24|uint32(b[1])<<16|uint32(b[2])<<8|uint32(b[3])] = m
	} else {
		o.v6[a.As16()] = m
	}
}

// all calls fn for every address and member.
func (o owners) all(fn func(a netip.Addr, m member)) {
	for k, m := range o.v4 {
		fn(netip.AddrFrom4([4]byte{byte(k >> 24), byte(k >> 16), byte(k >> 8), byte(k)}), m)
	}
	for k, m := range o.v6 {
		fn(netip.AddrFrom16(k), m)
	}
}

type wireFrame struct {
	from PortID
	buf  *packet.Buffer
}

// Fabric is the emulated world.
type Fabric struct {
	Topology Topology

	hosts      []*host.Host
	programmed []*hns.Programmed
	ports      []Port
	byName     map[string]PortID
	epPort     [][]PortID // [host][endpoint]
	nicPort    [][]PortID // [host][nic]
	peers      []PortID

	members    map[uint64]*member // unicast destination MAC -> who receives it
	attach     []member           // each attachment once, by port, for flooding
	attachKeys []uint64           // their keys, in the same order
	owners     owners             // IP -> who to send it to on the underlay
	router     *router

	pool  packet.Pool
	held  []*packet.Buffer
	box   host.Outbox
	queue []wireFrame
	head  int // next frame of queue to carry

	injects uint64
	opts    Options
}

// Hosts returns the fabric's hosts.
func (f *Fabric) Hosts() []*host.Host { return f.hosts }

// Host returns the named host.
func (f *Fabric) Host(name string) (*host.Host, bool) {
	for _, h := range f.hosts {
		if h.Name == name {
			return h, true
		}
	}
	return nil, false
}

// Ports returns every port, indexed by PortID.
func (f *Fabric) Ports() []Port { return f.ports }

// Port returns a port's description.
func (f *Fabric) Port(id PortID) *Port { return &f.ports[id] }

// PortByName returns the port with the given name.
func (f *Fabric) PortByName(name string) (PortID, bool) {
	id, ok := f.byName[name]
	return id, ok
}

// SetTrace turns tracing on or off for the following Injects.
func (f *Fabric) SetTrace(on bool) { f.opts.Trace = on }

// SetObserveWire turns wire observations on or off.
func (f *Fabric) SetObserveWire(on bool) { f.opts.ObserveWire = on }

func (f *Fabric) addPort(p Port) PortID {
	id := PortID(len(f.ports))
	f.ports = append(f.ports, p)
	f.byName[p.Name] = id
	return id
}

// release returns the buffers of the previous outcome to the pool.
func (f *Fabric) release() {
	for i, b := range f.held {
		f.pool.Put(b)
		f.held[i] = nil
	}
	f.held = f.held[:0]
}

func (f *Fabric) hold(b *packet.Buffer) { f.held = append(f.held, b) }

// Inject puts frame in at port at virtual time now (ns) and runs it to
// completion. res is reset first. The frame is copied; res aliases the
// fabric's buffers until the next call. It does not allocate in steady
// state with tracing off.
func (f *Fabric) Inject(port PortID, frame []byte, now int64, res *Outcome) {
	f.release()
	res.Reset()
	res.Trace.On = f.opts.Trace
	hops := f.opts.HopLimit
	if hops == 0 {
		hops = 256
	}
	f.box.Emits = f.box.Emits[:0]
	f.box.Drops = f.box.Drops[:0]
	f.box.Trace = &res.Trace
	f.box.Now = now
	f.box.Hops = hops
	if f.injects++; f.injects&15 == 0 {
		f.expire(now)
	}

	if port < 0 || int(port) >= len(f.ports) {
		res.Drops = append(res.Drops, Drop{Port: NoPort, Component: "fabric", Reason: drop.NoSuchPort, Frame: frame})
		return
	}
	buf := f.pool.Get()
	if !buf.Set(frame) {
		f.pool.Put(buf)
		res.Drops = append(res.Drops, Drop{Port: port, Component: "fabric", Reason: drop.FrameTooBig, Frame: frame})
		return
	}
	p := &f.ports[port]
	switch p.Kind {
	case PortEndpoint, PortHostOS:
		f.hosts[p.Host].InjectEndpoint(p.Endpoint, buf, &f.box)
		f.collect(p.Host, res)
	case PortNIC:
		if f.opts.ObserveWire {
			f.observe(port, WireRx, buf, res)
		}
		f.hosts[p.Host].ReceiveWire(p.NIC, buf, &f.box)
		f.collect(p.Host, res)
	case PortPeer, PortRouter:
		f.queue = append(f.queue, wireFrame{from: port, buf: buf})
	}
	f.drain(res)
}

// expire lets time-based state age; Inject calls it every 16 inputs: a
// small budget of NAT sessions (lookups expire the sessions they touch as
// well).
func (f *Fabric) expire(now int64) {
	for _, h := range f.hosts {
		if n := h.NAT(); n != nil {
			n.Expire(now, 8)
		}
	}
}

// collect moves what host hi emitted into the outcome and the wire queue.
func (f *Fabric) collect(hi int, res *Outcome) {
	if len(f.box.Emits) == 1 && len(f.box.Drops) == 0 && f.head == len(f.queue) && f.box.Emits[0].Kind == host.Wire {
		// One frame for the wire and nothing queued before it: carry it
		// now, as drain would next (the common case, without the queue).
		e := &f.box.Emits[0]
		np := f.nicPort[hi][e.NIC]
		buf := e.Buf
		e.Buf = nil
		f.box.Emits = f.box.Emits[:0]
		if f.opts.ObserveWire {
			f.observe(np, WireTx, buf, res)
		}
		f.carry(wireFrame{from: np, buf: buf}, res)
		return
	}
	for i := range f.box.Emits {
		e := &f.box.Emits[i]
		switch e.Kind {
		case host.Deliver:
			f.hold(e.Buf)
			res.Outputs = append(res.Outputs, Output{Port: f.epPort[hi][e.Endpoint], Kind: Delivered, Frame: e.Buf.Bytes()})
		case host.Wire:
			np := f.nicPort[hi][e.NIC]
			if f.opts.ObserveWire {
				f.observe(np, WireTx, e.Buf, res)
			}
			f.queue = append(f.queue, wireFrame{from: np, buf: e.Buf})
		}
		e.Buf = nil
	}
	f.box.Emits = f.box.Emits[:0]
	for i := range f.box.Drops {
		d := &f.box.Drops[i]
		f.hold(d.Buf)
		res.Drops = append(res.Drops, Drop{Port: f.nearestPort(hi, d.Port), Host: d.Host, Component: d.Component, Where: d.Port,
			Reason: d.Reason, Layer: d.Layer, Group: d.Group, Rule: d.Rule, Frame: d.Buf.Bytes()})
		d.Buf = nil
	}
	f.box.Drops = f.box.Drops[:0]
}

// nearestPort maps a component's port or interface name on host hi to a
// fabric port when one has that name (an endpoint or a NIC), else the host
// port.
func (f *Fabric) nearestPort(hi int, where string) PortID {
	h := f.hosts[hi]
	if ei, ok := h.EndpointByName(where); ok {
		return f.epPort[hi][ei]
	}
	if ni, ok := h.NICByName(where); ok {
		return f.nicPort[hi][ni]
	}
	return f.epPort[hi][host.HostEndpoint]
}

// observe reports a frame passing a NIC, as a copy, when ObserveWire is
// on (callers check, so that the common case costs no call).
func (f *Fabric) observe(port PortID, kind OutputKind, buf *packet.Buffer, res *Outcome) {
	c := f.pool.Get()
	c.Set(buf.Bytes())
	f.hold(c)
	res.Outputs = append(res.Outputs, Output{Port: port, Kind: kind, Frame: c.Bytes()})
}

// drain carries wire frames until none is left.
func (f *Fabric) drain(res *Outcome) {
	for f.head < len(f.queue) {
		w := f.queue[f.head]
		f.queue[f.head] = wireFrame{}
		f.head++
		if f.head == len(f.queue) {
			f.queue = f.queue[:0]
			f.head = 0
		}
		f.carry(w, res)
	}
}

// carry puts a frame on the underlay, charging a hop.
func (f *Fabric) carry(w wireFrame, res *Outcome) {
	f.box.Hops--
	if f.box.Hops < 0 {
		f.dropUnderlay(w.from, w.buf, drop.LoopDetected, res)
		return
	}
	f.underlay(w, res)
}

func (f *Fabric) dropUnderlay(port PortID, buf *packet.Buffer, r drop.Reason, res *Outcome) {
	f.dropComp(port, "underlay", buf, r, res)
}

func (f *Fabric) dropComp(port PortID, comp string, buf *packet.Buffer, r drop.Reason, res *Outcome) {
	f.hold(buf)
	where := ""
	if port >= 0 {
		where = f.ports[port].Name
	}
	res.Drops = append(res.Drops, Drop{Port: port, Component: comp, Where: where, Reason: r, Frame: buf.Bytes()})
	if res.Trace.Enabled() {
		var p packet.Parsed
		p.Decode(buf.Bytes())
		res.Trace.Add(trace.Event{Component: comp, Port: where, Action: "drop", Reason: r, Detail: r.Text(), Before: trace.Snap(&p, header.VXLANPort)})
	}
}

// macKey returns a MAC as the integer the underlay finds members by: its
// six bytes as a little-endian number, which frameDstKey reads from a frame
// with one load.
func macKey(m header.MAC) uint64 {
	var b [8]byte
	copy(b[:], m[:])
	return binary.LittleEndian.Uint64(b[:])
}

// frameDstKey returns macKey of the destination MAC of frame b, which has
// at least an Ethernet header.
func frameDstKey(b []byte) uint64 { return binary.LittleEndian.Uint64(b[0:8]) & (1<<48 - 1) }

// underlay delivers a frame on the physical segment by destination MAC.
func (f *Fabric) underlay(w wireFrame, res *Outcome) {
	b := w.buf.Bytes()
	if !header.Ethernet(b).IsValid() {
		f.dropUnderlay(w.from, w.buf, drop.InvalidPacket, res)
		return
	}
	if b[0]&1 != 0 {
		f.flood(w, res)
		return
	}
	m := f.member(frameDstKey(b))
	if m == nil || m.port == w.from {
		// A switch never sends a frame back out of the port it came in by
		// (IEEE 802.1Q filtering): a frame to its own sender goes nowhere.
		f.dropUnderlay(w.from, w.buf, drop.UnderlayNoDestination, res)
		return
	}
	if res.Trace.Enabled() {
		var p packet.Parsed
		p.Decode(w.buf.Bytes())
		res.Trace.Add(trace.Event{Component: "underlay", Port: f.ports[w.from].Name, Action: "forward",
			Detail: f.ports[w.from].Name + " -> " + f.ports[m.port].Name, After: trace.Snap(&p, header.VXLANPort)})
	}
	f.deliverMember(m, w.buf, res)
}

// flood sends a multicast frame to every member of the underlay but the
// sender (the underlay is one L2 segment).
func (f *Fabric) flood(w wireFrame, res *Outcome) {
	var targets [32]member
	n := 0
	for _, m := range f.attach {
		if m.port == w.from || n == len(targets) {
			continue
		}
		targets[n] = m
		n++
	}
	if n == 0 {
		f.dropUnderlay(w.from, w.buf, drop.UnderlayNoDestination, res)
		return
	}
	for i := 0; i < n; i++ {
		b := w.buf
		if i < n-1 {
			b = f.pool.Get()
			b.Set(w.buf.Bytes())
		}
		f.deliverMember(&targets[i], b, res)
	}
}

func (f *Fabric) deliverMember(m *member, buf *packet.Buffer, res *Outcome) {
	switch m.kind {
	case memberNIC:
		if f.opts.ObserveWire {
			f.observe(m.port, WireRx, buf, res)
		}
		f.hosts[m.host].ReceiveWire(m.nic, buf, &f.box)
		f.collect(m.host, res)
	case memberPeer:
		f.hold(buf)
		if res.Trace.Enabled() {
			var p packet.Parsed
			p.Decode(buf.Bytes())
			res.Trace.Add(trace.Event{Component: "peer", Port: f.ports[m.port].Name, Action: "deliver", After: trace.Snap(&p, header.VXLANPort)})
		}
		res.Outputs = append(res.Outputs, Output{Port: m.port, Kind: Delivered, Frame: buf.Bytes()})
	case memberRouter:
		var p packet.Parsed
		p.Decode(buf.Bytes())
		f.route(buf, &p, res)
	}
}

func (f *Fabric) hostIndex(name string) (int, error) {
	for i, h := range f.hosts {
		if h.Name == name {
			return i, nil
		}
	}
	return -1, fmt.Errorf("no host %q", name)
}

// RemoveEndpoint deletes an endpoint of a host, as HNS does when its
// container is removed (see hns.Programmed.RemoveEndpoint).
func (f *Fabric) RemoveEndpoint(hostName, endpoint string) error {
	hi, err := f.hostIndex(hostName)
	if err != nil {
		return err
	}
	return f.programmed[hi].RemoveEndpoint(endpoint)
}

// UpdateLoadBalancer sets the backends of a host's load balancer, as
// kube-proxy does with HcnModifyLoadBalancer (see hns.Programmed).
func (f *Fabric) UpdateLoadBalancer(hostName, lb string, endpoints []string) error {
	hi, err := f.hostIndex(hostName)
	if err != nil {
		return err
	}
	return f.programmed[hi].UpdateLoadBalancer(lb, endpoints)
}
