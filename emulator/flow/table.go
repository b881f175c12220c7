// Package flow keeps per-flow state in tables with idle timeouts, keyed by
// fixed-size comparable structs (packet.Tuple and friends).
//
// A Table hands out stable handles; entries live in chunks that never move,
// so a pointer returned by Get stays valid until the entry is deleted. A
// Table is not safe for concurrent use (one per worker, as per-core flow
// tables are). Lookups and updates of existing entries do not allocate;
// inserting allocates only when a new chunk is needed.
package flow

// Handle identifies an entry of a Table. The zero Handle is invalid.
type Handle uint32

const chunkBits = 12
const chunkSize = 1 << chunkBits

type entry[K comparable, V any] struct {
	key      K
	val      V
	lastSeen int64 // virtual time, ns
	timeout  int64 // idle timeout, ns; 0 = never expires
	live     bool
}

// Table maps keys to values with idle timeouts, up to a capacity.
type Table[K comparable, V any] struct {
	index  map[K]Handle
	chunks [][]entry[K, V]
	free   []Handle
	next   Handle // next never-used handle
	max    int
	cursor Handle // sweep position

	// Expired counts entries removed for idleness.
	Expired uint64
}

// NewTable returns a table that holds at most max entries.
func NewTable[K comparable, V any](max int) *Table[K, V] {
	return &Table[K, V]{index: make(map[K]Handle), max: max, next: 1}
}

// Len returns the number of live entries (some may be idle past their
// timeout until a lookup or a sweep finds them).
func (t *Table[K, V]) Len() int { return len(t.index) }

// Cap returns the capacity.
func (t *Table[K, V]) Cap() int { return t.max }

func (t *Table[K, V]) at(h Handle) *entry[K, V] {
	i := int(h) - 1
	return &t.chunks[i>>chunkBits][i&(chunkSize-1)]
}

func (t *Table[K, V]) expired(e *entry[K, V], now int64) bool {
	return e.timeout != 0 && now-e.lastSeen > e.timeout
}

// Lookup returns the handle of k's entry. An entry idle past its timeout is
// removed and reported missing.
func (t *Table[K, V]) Lookup(k K, now int64) (Handle, bool) {
	h, ok := t.index[k]
	if !ok {
		return 0, false
	}
	if e := t.at(h); t.expired(e, now) {
		t.remove(h, e)
		t.Expired++
		return 0, false
	}
	return h, true
}

// Peek returns k's handle without expiring it.
func (t *Table[K, V]) Peek(k K) (Handle, bool) {
	h, ok := t.index[k]
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
	if h, dup := t.index[k]; dup {
		e := t.at(h)
		if !t.expired(e, now) {
			return 0, false
		}
		// An idle entry no lookup has reaped yet gives way.
		t.remove(h, e)
		t.Expired++
	}
	if len(t.index) >= t.max {
		t.Sweep(now, 64)
		if len(t.index) >= t.max {
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
	t.index[k] = h
	return h, true
}

// Delete removes a live handle.
func (t *Table[K, V]) Delete(h Handle) {
	if e := t.at(h); e.live {
		t.remove(h, e)
	}
}

func (t *Table[K, V]) remove(h Handle, e *entry[K, V]) {
	delete(t.index, e.key)
	var zero entry[K, V]
	*e = zero
	t.free = append(t.free, h)
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
			t.remove(h, e)
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
	clear(t.index)
	t.chunks = t.chunks[:0]
	t.free = t.free[:0]
	t.next = 1
	t.cursor = 0
}
