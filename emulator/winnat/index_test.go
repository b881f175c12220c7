package winnat

import (
	"encoding/binary"
	"math/rand"
	"testing"
)

// reachable reports whether entry e can be found by probing from its home.
func (t *index) reachable(e uint64) bool {
	for i := uint32(e>>32) & t.mask; ; i = (i + 1) & t.mask {
		switch t.slots[i] {
		case e:
			return true
		case 0:
			return false
		}
	}
}

// TestIndexDeleteShift checks algorithm R on a small table with crafted
// hashes (many collisions and wrap-around): after any mix of insertions and
// deletions every present entry is reachable from its home and deleted ones
// are gone. The oracle is a plain set.
func TestIndexDeleteShift(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for round := 0; round < 200; round++ {
		tb := index{slots: make([]uint64, 16), mask: 15}
		present := map[uint64]bool{}
		next := uint64(1)
		for op := 0; op < 200; op++ {
			if len(present) < 11 && rng.Intn(2) == 0 {
				h := uint64(rng.Intn(4)*5+rng.Intn(2)) | 1 // few homes, crowded
				e := h<<32 | next
				next++
				tb.place(e)
				present[e] = true
				continue
			}
			for e := range present { // delete one
				for i := range tb.slots {
					if tb.slots[i] == e {
						tb.deleteAt(uint32(i))
					}
				}
				delete(present, e)
				break
			}
			n := 0
			for _, e := range tb.slots {
				if e != 0 {
					n++
					if !present[e] {
						t.Fatalf("round %d op %d: entry %x present after deletion", round, op, e)
					}
				}
			}
			if n != len(present) {
				t.Fatalf("round %d op %d: %d entries, want %d", round, op, n, len(present))
			}
			for e := range present {
				if !tb.reachable(e) {
					t.Fatalf("round %d op %d: entry %x unreachable from its home", round, op, e)
				}
			}
		}
	}
}

// TestIndexAgainstMap runs random insertions, deletions and lookups of
// session keys against a map, through table growth.
func TestIndexAgainstMap(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	n := newNAT(t)
	const sessions = 5000
	n.chunks = nil
	for i := 0; i < sessions; i++ {
		if i%chunkSize == 0 {
			n.chunks = append(n.chunks, make([]session, chunkSize))
		}
		s := n.sess(uint32(i + 1))
		*s = session{proto: uint8(rng.Intn(3)), intPort: uint16(rng.Intn(4)), extPort: uint16(rng.Intn(4)), remPort: uint16(rng.Intn(4))}
		// Few distinct addresses and ports: many equal hashes' neighbours.
		s.intAddr = [4]byte{172, 16, 0, byte(rng.Intn(8))}
		s.extAddr = [4]byte{10, 0, 0, byte(rng.Intn(2))}
		s.remAddr = [4]byte{93, 0, 0, byte(rng.Intn(8))}
	}
	model := map[key]uint32{}
	for op := 0; op < 100000; op++ {
		si := uint32(rng.Intn(sessions) + 1)
		s := n.sess(si)
		k := s.outKey()
		if rng.Intn(2) == 0 {
			k = s.inKey()
		}
		owner, has := model[k]
		switch rng.Intn(3) {
		case 0:
			if !has {
				n.idx.put(k, si)
				model[k] = si
			}
		case 1:
			if has {
				n.idx.del(k, owner)
				delete(model, k)
			}
		}
		got, gs := n.get(&k)
		want, wok := model[k]
		if (gs != nil) != wok || got != want {
			t.Fatalf("op %d: get = %d %v, want %d %v", op, got, gs != nil, want, wok)
		}
		// getWords, from the words a packet header gives, agrees.
		w := uint64(binary.LittleEndian.Uint32(k.local[:])) | uint64(binary.LittleEndian.Uint32(k.remote[:]))<<32
		if got2, _ := n.getWords(w, keyWord(k.lport, k.rport, k.proto, k.dir), k.dir); got2 != want {
			t.Fatalf("op %d: getWords(%d) = %d, want %d", op, k.dir, got2, want)
		}
	}
	if n.idx.n != len(model) {
		t.Errorf("index holds %d, want %d", n.idx.n, len(model))
	}
	for k, si := range model {
		if got, s := n.get(&k); s == nil || got != si {
			t.Fatalf("final get(%+v) = %d %v, want %d", k, got, s != nil, si)
		}
	}
}
