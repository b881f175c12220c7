package vfp

import (
	"encoding/binary"
	"hash/maphash"

	"github.com/hnspath/hnspath/emulator/header"
	"github.com/hnspath/hnspath/emulator/packet"
)

// ufKey identifies a unified flow: the direction and every header field a
// rule can match or an action depends on, at each encapsulation level
// (VFP's UFID, reference windows-behaviour.md §1.1). It is a byte array
// filled straight from the packet's headers, so building it copies a few
// words and hashing it is one pass over 112 bytes.
type ufKey [ufKeySize]byte

// Layout of a ufKey. Addresses are in 16-byte form (IPv4 mapped).
const (
	kSrc     = 0  // outer source address
	kDst     = 16 // outer destination address
	kSport   = 32
	kDport   = 34
	kProto   = 36
	kV6      = 37 // 1 for IPv6
	kSrcMAC  = 38
	kDstMAC  = 44
	kVID     = 50
	kDir     = 52
	kEncap   = 53 // 1 for VXLAN
	kVXFlags = 54
	kVNI     = 55 // 3 bytes
	kInner   = 58 // inner tuple: the same 38-byte layout as kSrc..kV6
	kISrcMAC = 96
	kIDstMAC = 102

	tupleLen  = 38
	ufKeySize = 112
)

// putTuple writes the 5-tuple of pp at k[0:38]. It reads the addresses
// from the IP header directly. It does not allocate.
func putTuple(k []byte, pp *packet.Parsed) {
	b := pp.Bytes()[pp.L3:]
	if pp.Kind == packet.KindIPv4 {
		k[10], k[11], k[26], k[27] = 0xff, 0xff, 0xff, 0xff
		*(*[4]byte)(k[12:16]) = *(*[4]byte)(b[12:16])
		*(*[4]byte)(k[28:32]) = *(*[4]byte)(b[16:20])
	} else {
		*(*[16]byte)(k[0:16]) = *(*[16]byte)(b[8:24])
		*(*[16]byte)(k[16:32]) = *(*[16]byte)(b[24:40])
		k[37] = 1
	}
	binary.BigEndian.PutUint16(k[32:], pp.SrcPort)
	binary.BigEndian.PutUint16(k[34:], pp.DstPort)
	k[36] = pp.IPProto
}

// tupleAt reads a tuple written by putTuple.
func tupleAt(k []byte) packet.Tuple {
	return packet.Tuple{
		Src: [16]byte(k[0:16]), Dst: [16]byte(k[16:32]),
		SrcPort: binary.BigEndian.Uint16(k[32:]), DstPort: binary.BigEndian.Uint16(k[34:]),
		Proto: k[36], V6: k[37] == 1,
	}
}

func (k *ufKey) dir() Direction { return Direction(k[kDir]) }

func (k *ufKey) mac(off int) header.MAC { return header.MAC(k[off : off+6]) }

func (k *ufKey) vni() uint32 { return uint32(k[kVNI])<<16 | uint32(k[kVNI+1])<<8 | uint32(k[kVNI+2]) }

// ufHandle identifies a slot of a ufTable; 0 is invalid.
type ufHandle uint32

const (
	ufChunkBits = 12
	ufChunkSize = 1 << ufChunkBits
)

type ufSlot struct {
	key      ufKey
	hash     uint64
	lastSeen int64
	timeout  int64
	live     bool
	spilled  bool // indexed in overflow (its hash was taken)
	val      ufEntry
}

// ufTable is the unified flow table: slots in chunks that never move
// (stable handles, like flow.Table), indexed by a 64-bit hash of the key
// in a map with integer keys, which is cheaper than a map keyed by the
// 112-byte key. A key whose hash is already taken by another live key
// (2^-64 odds per pair) is indexed in overflow by the whole key. Not safe
// for concurrent use.
type ufTable struct {
	seed     maphash.Seed
	index    map[uint64]ufHandle
	overflow map[ufKey]ufHandle
	chunks   [][]ufSlot
	free     []ufHandle
	next     ufHandle
	max      int
	n        int
	cursor   ufHandle
	collide  bool // tests: every key hashes to 1, to exercise the overflow index
}

func newUFTable(max int) *ufTable {
	return &ufTable{seed: maphash.MakeSeed(), index: make(map[uint64]ufHandle), overflow: make(map[ufKey]ufHandle), max: max, next: 1}
}

func (t *ufTable) at(h ufHandle) *ufSlot {
	i := int(h) - 1
	return &t.chunks[i>>ufChunkBits][i&(ufChunkSize-1)]
}

func (t *ufTable) hash(k *ufKey) uint64 {
	if t.collide {
		return 1
	}
	return maphash.Bytes(t.seed, k[:])
}

// lookup returns the live slot of k. An entry idle past its timeout is
// removed and reported missing. It does not allocate.
func (t *ufTable) lookup(k *ufKey, now int64) (ufHandle, *ufSlot) {
	hv := t.hash(k)
	h, ok := t.index[hv]
	if ok {
		if s := t.at(h); s.key != *k {
			ok = false
		}
	}
	if !ok && len(t.overflow) > 0 {
		h, ok = t.overflow[*k]
	}
	if !ok {
		return 0, nil
	}
	s := t.at(h)
	if s.timeout != 0 && now-s.lastSeen > s.timeout {
		t.remove(h, s)
		return 0, nil
	}
	return h, s
}

// insert adds k; ok is false when the table is full (after a short sweep)
// or k is present.
func (t *ufTable) insert(k *ufKey, v ufEntry, now, timeout int64) (ufHandle, bool) {
	if h, _ := t.lookup(k, now); h != 0 {
		return 0, false
	}
	if t.n >= t.max {
		t.sweep(now, 64)
		if t.n >= t.max {
			return 0, false
		}
	}
	var h ufHandle
	if n := len(t.free); n > 0 {
		h = t.free[n-1]
		t.free = t.free[:n-1]
	} else {
		h = t.next
		t.next++
		if i := int(h) - 1; i>>ufChunkBits >= len(t.chunks) {
			t.chunks = append(t.chunks, make([]ufSlot, ufChunkSize))
		}
	}
	s := t.at(h)
	hv := t.hash(k)
	*s = ufSlot{key: *k, hash: hv, lastSeen: now, timeout: timeout, live: true, val: v}
	if _, taken := t.index[hv]; taken {
		s.spilled = true
		t.overflow[*k] = h
	} else {
		t.index[hv] = h
	}
	t.n++
	return h, true
}

func (t *ufTable) remove(h ufHandle, s *ufSlot) {
	if s.spilled {
		delete(t.overflow, s.key)
	} else {
		delete(t.index, s.hash)
	}
	*s = ufSlot{}
	t.free = append(t.free, h)
	t.n--
}

// delete removes a live handle.
func (t *ufTable) delete(h ufHandle) {
	if s := t.at(h); s.live {
		t.remove(h, s)
	}
}

// sweep examines up to n slots from where the last sweep stopped and
// removes those idle past their timeout.
func (t *ufTable) sweep(now int64, n int) {
	used := int(t.next) - 1
	for i := 0; i < n && i < used; i++ {
		if t.cursor < 1 || int(t.cursor) > used {
			t.cursor = 1
		}
		h := t.cursor
		t.cursor++
		if s := t.at(h); s.live && s.timeout != 0 && now-s.lastSeen > s.timeout {
			t.remove(h, s)
		}
	}
}

// all calls f for each live slot in handle order until f returns false.
func (t *ufTable) all(f func(h ufHandle, s *ufSlot) bool) {
	for h := ufHandle(1); h < t.next; h++ {
		if s := t.at(h); s.live {
			if !f(h, s) {
				return
			}
		}
	}
}

// clear removes every entry.
func (t *ufTable) clear() {
	clear(t.index)
	clear(t.overflow)
	t.chunks = t.chunks[:0]
	t.free = t.free[:0]
	t.next, t.n, t.cursor = 1, 0, 0
}
