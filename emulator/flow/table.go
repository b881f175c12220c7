// Package flow keeps per-flow state in tables with idle timeouts, keyed by
// fixed-size comparable structs (packet.Tuple and friends) that hash
// themselves.
//
// A Table hands out stable handles; entries live in chunks that never move,
// so a pointer returned by Get stays valid until the entry is deleted. The
// index is an open-addressing table of (32-bit hash, handle) words with
// linear probing and backward-shift deletion: 8 to 16 bytes per entry and no
// pointers, where a Go map costs about 60. A Table is not safe for
// concurrent use (one per worker, as per-core flow tables are). Lookups and
// updates of existing entries do not allocate; inserting allocates only when
// a new chunk is needed or the index doubles.
package flow

// Key is a table key: comparable, and able to hash itself (any 64-bit hash;
// the table mixes it again).
type Key interface {
	comparable
	Hash() uint64
}

// Handle identifies an entry of a Table. The zero Handle is invalid.
type Handle uint32

// Sweep budgets: how many entries a table examines for idleness at once.
const (
	// SweepOnFull is what Insert examines when the table is full, before it
	// gives up.
	SweepOnFull = 64
)

const chunkBits = 12
const chunkSize = 1 << chunkBits

type entry[K Key, V any] struct {
	key      K
	val      V
	lastSeen int64 // virtual time, ns
	timeout  int64 // idle timeout, ns; 0 = never expires
	live     bool
}

// Table maps keys to values with idle timeouts, up to a capacity.
type Table[K Key, V any] struct {
	idx    []uint64 // 0: empty; else hash<<32 | handle
	mask   uint32
	n      int
	chunks [][]entry[K, V]
	free   []Handle
	next   Handle // next never-used handle
	max    int
	cursor Handle // sweep position
	// release, when set, is called with each entry's value as the entry
	// goes (deleted, expired, swept or cleared).
	release func(v *V)

	// Expired counts entries removed for idleness.
	Expired uint64
}

// NewTable returns a table that holds at most max entries.
func NewTable[K Key, V any](max int) *Table[K, V] {
	t := &Table[K, V]{max: max, next: 1}
	t.resize(16)
	return t
}

// SetRelease makes the table call f with an entry's value whenever the
// entry goes: deleted, expired, swept or cleared. Values that hold counted
// references to shared state release them there.
func (t *Table[K, V]) SetRelease(f func(v *V)) { t.release = f }

// Len returns the number of live entries (some may be idle past their
// timeout until a lookup or a sweep finds them).
func (t *Table[K, V]) Len() int { return t.n }

// Cap returns the capacity.
func (t *Table[K, V]) Cap() int { return t.max }

func (t *Table[K, V]) at(h Handle) *entry[K, V] {
	i := int(h) - 1
	return &t.chunks[i>>chunkBits][i&(chunkSize-1)]
}

func (t *Table[K, V]) expired(e *entry[K, V], now int64) bool {
	return e.timeout != 0 && now-e.lastSeen > e.timeout
}

// hash32 mixes the key's hash into a nonzero 32-bit value, so that an
// index word is never 0 and its low bits are usable as a position.
func hash32[K Key](k *K) uint32 {
	h := (*k).Hash()
	h ^= h >> 32
	h *= 0x9e3779b185ebca87
	h ^= h >> 29
	return uint32(h>>32) | 1
}

// resize rebuilds the index with n (a power of two) positions.
func (t *Table[K, V]) resize(n int) {
	old := t.idx
	t.idx = make([]uint64, n)
	t.mask = uint32(n - 1)
	for _, w := range old {
		if w != 0 {
			t.place(w)
		}
	}
}

func (t *Table[K, V]) place(w uint64) {
	for i := uint32(w>>32) & t.mask; ; i = (i + 1) & t.mask {
		if t.idx[i] == 0 {
			t.idx[i] = w
			return
		}
	}
}

// find returns the index position and handle of k.
func (t *Table[K, V]) find(k *K, hv uint32) (pos uint32, h Handle, ok bool) {
	for i := hv & t.mask; ; i = (i + 1) & t.mask {
		w := t.idx[i]
		if w == 0 {
			return 0, 0, false
		}
		if uint32(w>>32) == hv {
			if h := Handle(w); t.at(h).key == *k {
				return i, h, true
			}
		}
	}
}

// unindex removes position pos from the index, shifting back the words
// after it that would no longer be found (linear probing deletion).
func (t *Table[K, V]) unindex(pos uint32) {
	i := pos
	for {
		t.idx[i] = 0
		j := i
		for {
			j = (j + 1) & t.mask
			w := t.idx[j]
			if w == 0 {
				return
			}
			home := uint32(w>>32) & t.mask
			// Move w back to i unless its home lies cyclically in (i, j].
			if (j > i && (home <= i || home > j)) || (j < i && home <= i && home > j) {
				t.idx[i] = w
				i = j
				break
			}
		}
	}
}

// Lookup returns the handle of k's entry. An entry idle past its timeout is
// removed and reported missing.
func (t *Table[K, V]) Lookup(k K, now int64) (Handle, bool) {
	pos, h, ok := t.find(&k, hash32(&k))
	if !ok {
		return 0, false
	}
	if e := t.at(h); t.expired(e, now) {
		t.remove(pos, h, e)
		t.Expired++
		return 0, false
	}
	return h, true
}

// Peek returns k's handle without expiring it.
func (t *Table[K, V]) Peek(k K) (Handle, bool) {
	_, h, ok := t.find(&k, hash32(&k))
	return h, ok
}

// Get returns a pointer to the value of a live handle. It stays valid until
// the entry is deleted.
func (t *Table[K, V]) Get(h Handle) *V { return &t.at(h).val }

// Key returns the key of a live handle.
func (t *Table[K, V]) Key(h Handle) K { return t.at(h).key }

// Touch marks the entry used at now.
func (t *Table[K, V]) Touch(h Handle, now int64) { t.at(h).lastSeen = now }

// LastSeen returns when the entry was last touched.
func (t *Table[K, V]) LastSeen(h Handle) int64 { return t.at(h).lastSeen }

// SetTimeout changes the entry's idle timeout (ns; 0 never expires).
func (t *Table[K, V]) SetTimeout(h Handle, timeout int64) { t.at(h).timeout = timeout }

// Timeout returns the entry's idle timeout.
func (t *Table[K, V]) Timeout(h Handle) int64 { return t.at(h).timeout }

// Insert adds k with value v. It returns ok false when the table is full
// (after trying to reclaim idle entries) or k is present.
func (t *Table[K, V]) Insert(k K, v V, now, timeout int64) (Handle, bool) {
	hv := hash32(&k)
	if pos, h, dup := t.find(&k, hv); dup {
		e := t.at(h)
		if !t.expired(e, now) {
			return 0, false
		}
		// An idle entry no lookup has reaped yet gives way.
		t.remove(pos, h, e)
		t.Expired++
	}
	if t.n >= t.max {
		t.Sweep(now, SweepOnFull)
		if t.n >= t.max {
			return 0, false
		}
	}
	var h Handle
	if n := len(t.free); n > 0 {
		h = t.free[n-1]
		t.free = t.free[:n-1]
	} else {
		h = t.next
		t.next++
		if i := int(h) - 1; i>>chunkBits >= len(t.chunks) {
			t.chunks = append(t.chunks, make([]entry[K, V], chunkSize))
		}
	}
	e := t.at(h)
	*e = entry[K, V]{key: k, val: v, lastSeen: now, timeout: timeout, live: true}
	if (t.n+1)*2 > len(t.idx) {
		t.resize(2 * len(t.idx))
	}
	t.place(uint64(hv)<<32 | uint64(h))
	t.n++
	return h, true
}

// Delete removes a live handle.
func (t *Table[K, V]) Delete(h Handle) {
	e := t.at(h)
	if !e.live {
		return
	}
	if pos, h2, ok := t.find(&e.key, hash32(&e.key)); ok && h2 == h {
		t.remove(pos, h, e)
	}
}

// remove drops entry h, at index position pos.
func (t *Table[K, V]) remove(pos uint32, h Handle, e *entry[K, V]) {
	t.unindex(pos)
	if t.release != nil {
		t.release(&e.val)
	}
	var zero entry[K, V]
	*e = zero
	t.free = append(t.free, h)
	t.n--
}

// Sweep examines up to n entries from where the last sweep stopped and
// removes those idle past their timeout. It returns how many it removed.
// Calling it a little per packet bounds the table without a full scan.
func (t *Table[K, V]) Sweep(now int64, n int) int {
	removed := 0
	used := int(t.next) - 1
	if used == 0 {
		return 0
	}
	for i := 0; i < n && i < used; i++ {
		if t.cursor < 1 || int(t.cursor) > used {
			t.cursor = 1
		}
		h := t.cursor
		t.cursor++
		if e := t.at(h); e.live && t.expired(e, now) {
			t.Delete(h)
			t.Expired++
			removed++
		}
	}
	return removed
}

// All calls f for each live entry until f returns false. Order is by handle.
func (t *Table[K, V]) All(f func(h Handle, k K, v *V) bool) {
	for h := Handle(1); h < t.next; h++ {
		if e := t.at(h); e.live {
			if !f(h, e.key, &e.val) {
				return
			}
		}
	}
}

// Clear removes every entry.
func (t *Table[K, V]) Clear() {
	if t.release != nil {
		t.All(func(_ Handle, _ K, v *V) bool { t.release(v); return true })
	}
	clear(t.idx)
	t.n = 0
	t.chunks = t.chunks[:0]
	t.free = t.free[:0]
	t.next = 1
	t.cursor = 0
}
