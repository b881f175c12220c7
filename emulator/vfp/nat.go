package vfp

import (
	"encoding/binary"
	"net/netip"

	"github.com/hnspath/hnspath/emulator/flow"
	"github.com/hnspath/hnspath/emulator/header"
	"github.com/hnspath/hnspath/emulator/packet"
)

// natPool hands out ports of one IP to internal endpoints. Mappings are
// endpoint-independent (RFC 4787 EIM): one (protocol, source IP, source
// port) gets one external port whatever the destination. Windows' mapping
// behaviour and port choice are not documented (reference
// windows-behaviour.md §7 item 2); ports are handed out in order from a
// cursor [I]. A port is free when no mapping owns it or its owner idled past
// the TTL, so nothing needs a callback when flows expire.
type natPool struct {
	name   string
	ip     netip.Addr
	lo, hi uint16
	ttl    int64
	refs   int // attached rules using the pool
	maps   *flow.Table[natKey, natMapping]
	owners [3][]flow.Handle // per protocol class, indexed by port-lo
	cursor [3]int
}

type natKey struct {
	src   [16]byte
	port  uint16
	proto uint8
}

type natMapping struct {
	port  uint16
	class uint8
	live  bool
}

// natRef is a flow's reference to the mapping it uses.
type natRef struct {
	pool *natPool
	h    flow.Handle
	port uint16
}

// pool returns the port's pool named by pl, creating it, and counts a user.
func (p *Port) pool(pl *NATPool, ttl int64) *natPool {
	np := p.pools[pl.Name]
	if np == nil || (np.refs == 0 && (np.ip != pl.IP || np.lo != pl.Lo || np.hi != pl.Hi)) {
		size := int(pl.Hi) - int(pl.Lo) + 1
		np = &natPool{name: pl.Name, ip: pl.IP, lo: pl.Lo, hi: pl.Hi,
			maps: flow.NewTable[natKey, natMapping](3 * size)}
		p.pools[pl.Name] = np
	}
	np.refs++
	np.ttl = max(np.ttl, ttl)
	return np
}

func protoClass(proto uint8) uint8 {
	switch proto {
	case header.ProtoTCP:
		return 0
	case header.ProtoUDP:
		return 1
	}
	return 2
}

// ownerLive reports whether the mapping at h still owns port.
func (np *natPool) ownerLive(h flow.Handle, port uint16, class uint8, now int64) bool {
	if h == 0 {
		return false
	}
	m := np.maps.Get(h)
	if !m.live || m.port != port || m.class != class {
		return false
	}
	if t := np.maps.Timeout(h); t != 0 && now-np.maps.LastSeen(h) > t {
		np.maps.Delete(h)
		return false
	}
	return true
}

// alloc returns the external port for (proto, src, sport), reusing the
// endpoint's mapping. isNew reports a mapping made by this call; ok is
// false when the pool is exhausted.
func (np *natPool) alloc(proto uint8, src netip.Addr, sport uint16, now int64) (ref natRef, isNew, ok bool) {
	k := natKey{src: src.As16(), port: sport, proto: proto}
	class := protoClass(proto)
	if h, found := np.maps.Lookup(k, now); found {
		np.maps.Touch(h, now)
		return natRef{pool: np, h: h, port: np.maps.Get(h).port}, false, true
	}
	size := int(np.hi) - int(np.lo) + 1
	if np.owners[class] == nil {
		np.owners[class] = make([]flow.Handle, size)
	}
	own := np.owners[class]
	for i := 0; i < size; i++ {
		idx := (np.cursor[class] + i) % size
		port := np.lo + uint16(idx)
		if np.ownerLive(own[idx], port, class, now) {
			continue
		}
		h, inserted := np.maps.Insert(k, natMapping{port: port, class: class, live: true}, now, np.ttl)
		if !inserted {
			return natRef{}, false, false
		}
		own[idx] = h
		np.cursor[class] = (idx + 1) % size
		return natRef{pool: np, h: h, port: port}, true, true
	}
	return natRef{}, false, false
}

// release frees a mapping made for a packet that was then dropped.
func (r natRef) release() {
	if r.pool == nil {
		return
	}
	m := r.pool.maps.Get(r.h)
	if m.live && m.port == r.port {
		r.pool.maps.Delete(r.h)
	}
}

// touch keeps the mapping alive.
func (r *natRef) touch(now int64) {
	if r.pool == nil {
		return
	}
	if m := r.pool.maps.Get(r.h); m.live && m.port == r.port {
		r.pool.maps.Touch(r.h, now)
	}
}

// mix is a 64-bit finaliser (SplitMix64) for hashing flow fields.
func mix(h uint64) uint64 {
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	h ^= h >> 31
	return h
}

func hashAddr(a [16]byte, seed uint64) uint64 {
	return mix(mix(seed^binary.LittleEndian.Uint64(a[:8])) ^ binary.LittleEndian.Uint64(a[8:]))
}

// lbHash hashes the fields of t that the distribution keeps together.
func lbHash(d Distribution, t *packet.Tuple) uint64 {
	switch d {
	case DistributeSourceIP:
		return hashAddr(t.Src, 1)
	case DistributeSourceIPProtocol:
		return mix(hashAddr(t.Src, 2) ^ uint64(t.Proto))
	}
	h := hashAddr(t.Src, 3)
	h = mix(h ^ binary.LittleEndian.Uint64(t.Dst[:8]))
	h = mix(h ^ binary.LittleEndian.Uint64(t.Dst[8:]))
	return mix(h ^ uint64(t.SrcPort)<<24 ^ uint64(t.DstPort)<<8 ^ uint64(t.Proto))
}

// entropyPort returns the outer UDP source port for an inner flow: "a hash
// of fields from the inner packet", in the dynamic range 49152-65535
// (RFC 7348 section 5).
func entropyPort(t *packet.Tuple) uint16 {
	return uint16(49152 + lbHash(DistributePerConnection, t)%16384)
}

// Hash hashes the key for the pool's mapping table.
func (k natKey) Hash() uint64 {
	t := packet.Tuple{Src: k.src, SrcPort: k.port, Proto: k.proto}
	return t.Hash()
}
