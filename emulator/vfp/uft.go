package vfp

import (
	"encoding/binary"
	"unsafe"

	"github.com/hnspath/hnspath/emulator/flow"
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
	lastSeen int64
	timeout  int64
	live     bool
	val      ufEntry
}

// ufTable is the unified flow table: slots in chunks that never move
// (stable handles, like flow.Table), indexed by an open-addressing table of
// (32-bit hash, handle) words with linear probing and backward-shift
// deletion; a probe compares the hash, then the whole key in the slot. It
// is a few times cheaper than a Go map keyed by the 112-byte key, and does
// not allocate except to grow. Not safe for concurrent use.
type ufTable struct {
	idx     []uint64 // 0: empty; else hash<<32 | handle
	mask    uint32
	chunks  [][]ufSlot
	free    []ufHandle
	next    ufHandle
	max     int
	n       int
	cursor  ufHandle
	ht      htIntern // the transpositions of the entries
	collide bool     // tests: every key hashes to 1, to exercise long probe chains
}

func newUFTable(max int) *ufTable {
	t := &ufTable{max: max, next: 1}
	t.ht.init()
	t.resize(64)
	return t
}

func (t *ufTable) at(h ufHandle) *ufSlot {
	i := int(h) - 1
	return &t.chunks[i>>ufChunkBits][i&(ufChunkSize-1)]
}

// hash mixes the key's 8-byte words, each multiplied by its own odd
// constant (independent multiplies pipeline), then avalanches the sum. An
// unencapsulated packet's key has zeros after its first 64 bytes, which are
// skipped. The hash is not keyed: flooding the emulator's own tables is not
// a threat model.
func (t *ufTable) hash(k *ufKey) uint32 {
	if t.collide {
		return 1
	}
	w := (*[ufKeySize / 8]uint64)(unsafe.Pointer(k))
	h := w[0]*0x9e3779b185ebca87 ^ w[1]*0xc2b2ae3d27d4eb4f ^ w[2]*0x165667b19e3779f9 ^ w[3]*0x27d4eb2f165667c5 ^
		w[4]*0x85ebca77c2b2ae63 ^ w[5]*0xff51afd7ed558ccd ^ w[6]*0xc4ceb9fe1a85ec53 ^ w[7]*0x94d049bb133111eb
	if k[kEncap] != 0 {
		h ^= w[8]*0xbf58476d1ce4e5b9 ^ w[9]*0xd6e8feb86659fd93 ^ w[10]*0xa0761d6478bd642f ^ w[11]*0xe7037ed1a0b428db ^
			w[12]*0x8ebc6af09c88c6e3 ^ w[13]*0x589965cc75374cc3
	}
	h ^= h >> 32
	h *= 0x9e3779b185ebca87
	h ^= h >> 29
	return uint32(h>>32) | 1 // never 0, so an index word is never 0
}

// sameKey compares two keys, only their first 64 bytes when neither is
// encapsulated (the rest is zero).
func sameKey(a, b *ufKey) bool {
	if a[kEncap]|b[kEncap] == 0 {
		return *(*[64]byte)(a[:64]) == *(*[64]byte)(b[:64])
	}
	return *a == *b
}

// resize rebuilds the index with n (a power of two) positions.
func (t *ufTable) resize(n int) {
	old := t.idx
	t.idx = make([]uint64, n)
	t.mask = uint32(n - 1)
	for _, e := range old {
		if e != 0 {
			t.place(e)
		}
	}
}

func (t *ufTable) place(e uint64) {
	for i := uint32(e>>32) & t.mask; ; i = (i + 1) & t.mask {
		if t.idx[i] == 0 {
			t.idx[i] = e
			return
		}
	}
}

// find returns the index position and handle of k, or ok false.
func (t *ufTable) find(k *ufKey, hv uint32) (pos uint32, h ufHandle, ok bool) {
	for i := hv & t.mask; ; i = (i + 1) & t.mask {
		e := t.idx[i]
		if e == 0 {
			return 0, 0, false
		}
		if uint32(e>>32) == hv {
			if h := ufHandle(e); sameKey(&t.at(h).key, k) {
				return i, h, true
			}
		}
	}
}

// unindex removes position pos from the index, shifting back the entries
// after it that would no longer be found (linear probing deletion).
func (t *ufTable) unindex(pos uint32) {
	i := pos
	for {
		t.idx[i] = 0
		j := i
		for {
			j = (j + 1) & t.mask
			e := t.idx[j]
			if e == 0 {
				return
			}
			home := uint32(e>>32) & t.mask
			// Move e back to i unless its home lies cyclically in (i, j].
			if (j > i && (home <= i || home > j)) || (j < i && home <= i && home > j) {
				t.idx[i] = e
				i = j
				break
			}
		}
	}
}

// lookup returns the live slot of k. An entry idle past its timeout is
// removed and reported missing. It does not allocate.
func (t *ufTable) lookup(k *ufKey, now int64) (ufHandle, *ufSlot) {
	pos, h, ok := t.find(k, t.hash(k))
	if !ok {
		return 0, nil
	}
	s := t.at(h)
	if s.timeout != 0 && now-s.lastSeen > s.timeout {
		t.remove(pos, h, s)
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
		t.sweep(now, flow.SweepOnFull)
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
	*s = ufSlot{key: *k, lastSeen: now, timeout: timeout, live: true, val: v}
	if (t.n+1)*2 > len(t.idx) {
		t.resize(2 * len(t.idx))
	}
	t.place(uint64(t.hash(k))<<32 | uint64(h))
	t.n++
	return h, true
}

// remove drops slot h, at index position pos.
func (t *ufTable) remove(pos uint32, h ufHandle, s *ufSlot) {
	t.unindex(pos)
	t.ht.put(s.val.ht)
	*s = ufSlot{}
	t.free = append(t.free, h)
	t.n--
}

// delete removes a live handle.
func (t *ufTable) delete(h ufHandle) {
	s := t.at(h)
	if !s.live {
		return
	}
	if pos, h2, ok := t.find(&s.key, t.hash(&s.key)); ok && h2 == h {
		t.remove(pos, h, s)
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
			t.delete(h)
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
	clear(t.idx)
	t.ht.clear()
	t.chunks = t.chunks[:0]
	t.free = t.free[:0]
	t.next, t.n, t.cursor = 1, 0, 0
}
