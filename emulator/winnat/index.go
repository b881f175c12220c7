package winnat

import (
	"encoding/binary"
	"math/bits"
	"math/rand/v2"
)

// index finds sessions by key: open addressing with linear probing over
// 8-byte slots that hold the key's 32-bit hash and the session index (0 =
// empty). The key itself is not stored: a candidate is checked against the
// session, which the caller reads next anyway, so a hit costs one slot read
// (usually in cache: 8 slots per line) and the session read. Deleting
// shifts later entries back (Knuth, TAOCP vol. 3, 6.4 algorithm R), so
// there are no tombstones; the table doubles at 3/4 load. It replaced a
// runtime map[key]uint32, which measured about 10 ns slower per lookup
// (hashing a 16-byte key with AES and probing a group).
type index struct {
	slots []uint64
	mask  uint32
	n     int
	seed  uint64 // per table, against crafted collisions
}

const indexMinSize = 1024

func newIndex() index {
	return index{slots: make([]uint64, indexMinSize), mask: indexMinSize - 1, seed: rand.Uint64() | 1}
}

// words returns key k as the two words hashWords takes.
func (k *key) words() (a, b uint64) {
	a = uint64(binary.LittleEndian.Uint32(k.local[:])) | uint64(binary.LittleEndian.Uint32(k.remote[:]))<<32
	return a, keyWord(k.lport, k.rport, k.proto, k.dir)
}

// keyWord is the second word of a key (see hashWords).
func keyWord(lport, rport uint16, proto, dir uint8) uint64 {
	return uint64(lport) | uint64(rport)<<16 | uint64(proto)<<32 | uint64(dir)<<40
}

// hash mixes the 16 key bytes (multiply and fold, as wyhash does). The
// result is never 0, so a slot is never 0 when full.
func (t *index) hash(k *key) uint32 { return t.hashWords(k.words()) }

// hashWords is hash of a key given as two words: a holds the local and
// remote addresses as they lie in memory (little-endian), b the ports,
// protocol and direction.
func (t *index) hashWords(a, b uint64) uint32 {
	hi, lo := bits.Mul64(a^t.seed, b^0x9e3779b97f4a7c15)
	h := hi ^ lo
	h ^= h >> 32
	return uint32(h) | 1
}

// get returns the session with key k (idle or not).
func (n *NAT) get(k *key) (uint32, *session) {
	a, b := k.words()
	return n.getWords(a, b, k.dir)
}

// getOut is get for an outbound key given as hashWords' two words (a: the
// internal and remote addresses, b from keyWord), straight from a packet's
// header: no key is built in memory and read back (a wide load across the
// narrow stores that built it cannot be forwarded from the store buffer:
// it measured 12% of the whole NAT path).
func (n *NAT) getOut(a, b uint64) (uint32, *session) {
	return n.getWords(a, b, dirOut)
}

// getWords is get for a key of direction dir given as hashWords' words.
// A candidate is compared with the session's fields in the same words.
func (n *NAT) getWords(a, b uint64, dir uint8) (uint32, *session) {
	t := &n.idx
	h := t.hashWords(a, b)
	for i := h & t.mask; ; i = (i + 1) & t.mask {
		e := t.slots[i]
		if e == 0 {
			return 0, nil
		}
		if uint32(e>>32) == h {
			s := n.sess(uint32(e))
			local, lport := &s.intAddr, s.intPort
			if dir == dirIn {
				local, lport = &s.extAddr, s.extPort
			}
			if uint64(binary.LittleEndian.Uint32(local[:]))|uint64(binary.LittleEndian.Uint32(s.remAddr[:]))<<32 == a &&
				keyWord(lport, s.remPort, s.proto, dir) == b {
				return uint32(e), s
			}
		}
	}
}

// put adds key k for session si. k must not be present.
func (t *index) put(k key, si uint32) {
	if (t.n+1)*4 > len(t.slots)*3 {
		t.grow()
	}
	t.place(uint64(t.hash(&k))<<32 | uint64(si))
	t.n++
}

func (t *index) place(e uint64) {
	for i := uint32(e>>32) & t.mask; ; i = (i + 1) & t.mask {
		if t.slots[i] == 0 {
			t.slots[i] = e
			return
		}
	}
}

func (t *index) grow() {
	old := t.slots
	t.slots = make([]uint64, 2*len(old))
	t.mask = uint32(len(t.slots) - 1)
	for _, e := range old {
		if e != 0 {
			t.place(e)
		}
	}
}

// del removes key k of session si, if present.
func (t *index) del(k key, si uint32) {
	h := t.hash(&k)
	want := uint64(h)<<32 | uint64(si)
	for i := h & t.mask; ; i = (i + 1) & t.mask {
		e := t.slots[i]
		if e == 0 {
			return
		}
		if e == want {
			t.deleteAt(i)
			t.n--
			return
		}
	}
}

// deleteAt empties slot i and moves back the entries after it that would
// no longer be found past the hole.
func (t *index) deleteAt(i uint32) {
	for {
		t.slots[i] = 0
		j := i
		for {
			j = (j + 1) & t.mask
			e := t.slots[j]
			if e == 0 {
				return
			}
			home := uint32(e>>32) & t.mask
			// e may fill the hole unless its home lies cyclically in (i, j].
			if (j-home)&t.mask >= (j-i)&t.mask {
				t.slots[i] = e
				i = j
				break
			}
		}
	}
}
