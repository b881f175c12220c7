package flow

import (
	"math/rand"
	"testing"
)

type key struct{ a, b uint32 }

func (k key) Hash() uint64 { return uint64(k.a)<<32 | uint64(k.b) }

// clashKey hashes every key alike, so that every entry shares one probe
// chain and deletion must shift entries back.
type clashKey struct{ a uint32 }

func (clashKey) Hash() uint64 { return 7 }

// TestTableMatchesMap runs random inserts, lookups, deletes, touches and
// sweeps against a Go map of the same entries (the oracle), with keys that
// spread and keys that all collide.
func TestTableMatchesMap(t *testing.T) {
	t.Run("spread", func(t *testing.T) { tableVsMap(t, func(i uint32) key { return key{i, i * 7} }) })
	t.Run("colliding", func(t *testing.T) { tableVsMap(t, func(i uint32) clashKey { return clashKey{i} }) })
}

func tableVsMap[K Key](t *testing.T, mk func(uint32) K) {
	type ref struct {
		v, last, timeout int64
	}
	const max = 300
	rng := rand.New(rand.NewSource(1))
	tb := NewTable[K, int64](max)
	oracle := map[K]ref{}
	idle := func(r ref, now int64) bool { return r.timeout != 0 && now-r.last > r.timeout }
	now := int64(0)
	for i := 0; i < 200000; i++ {
		now += int64(rng.Intn(3))
		k := mk(uint32(rng.Intn(500)))
		switch op := rng.Intn(10); {
		case op < 4:
			v, to := int64(i), int64(rng.Intn(3)*100)
			_, ok := tb.Insert(k, v, now, to)
			r, present := oracle[k]
			if present && idle(r, now) {
				delete(oracle, k)
				present = false
			}
			if !present && len(oracle) >= max {
				// The table sweeps SweepOnFull entries; the oracle cannot
				// know which, so it follows the table.
				for ok2 := range oracle {
					if _, live := tb.Peek(ok2); !live {
						if !idle(oracle[ok2], now) {
							t.Fatalf("op %d: a full insert removed a live entry", i)
						}
						delete(oracle, ok2)
					}
				}
			}
			want := !present && len(oracle) < max
			if ok != want {
				t.Fatalf("op %d: insert ok %v, want %v (len %d)", i, ok, want, len(oracle))
			}
			if ok {
				oracle[k] = ref{v: v, last: now, timeout: to}
			}
		case op < 7:
			h, ok := tb.Lookup(k, now)
			r, present := oracle[k]
			if present && idle(r, now) {
				delete(oracle, k)
				present = false
			}
			if ok != present || (ok && *tb.Get(h) != r.v) {
				t.Fatalf("op %d: lookup ok %v, want %v", i, ok, present)
			}
			if ok && rng.Intn(2) == 0 {
				tb.Touch(h, now)
				r.last = now
				oracle[k] = r
			}
		case op < 9:
			if h, ok := tb.Peek(k); ok {
				tb.Delete(h)
				delete(oracle, k)
			}
		default:
			tb.Sweep(now, 16)
			for ok2 := range oracle {
				if _, live := tb.Peek(ok2); !live {
					if !idle(oracle[ok2], now) {
						t.Fatalf("op %d: sweep removed a live entry", i)
					}
					delete(oracle, ok2)
				}
			}
		}
		if tb.Len() != len(oracle) {
			t.Fatalf("op %d: Len %d, oracle %d", i, tb.Len(), len(oracle))
		}
	}
	n := 0
	tb.All(func(h Handle, k K, v *int64) bool {
		if r, ok := oracle[k]; !ok || r.v != *v {
			t.Fatalf("All: entry %v not in the oracle", k)
		}
		n++
		return true
	})
	if n != len(oracle) {
		t.Fatalf("All visited %d, oracle %d", n, len(oracle))
	}
}

func TestTableLifecycle(t *testing.T) {
	tb := NewTable[key, int](3)
	h1, ok := tb.Insert(key{1, 1}, 10, 0, 100)
	if !ok {
		t.Fatal("insert 1")
	}
	if _, ok := tb.Insert(key{1, 1}, 11, 0, 100); ok {
		t.Fatal("duplicate insert accepted")
	}
	tb.Insert(key{2, 2}, 20, 0, 0)
	tb.Insert(key{3, 3}, 30, 0, 100)
	if _, ok := tb.Insert(key{4, 4}, 40, 50, 100); ok {
		t.Fatal("insert into a full table accepted")
	}
	// At t=150, entries with timeout 100 last seen at 0 are idle: the
	// insert reclaims them.
	if _, ok := tb.Insert(key{4, 4}, 40, 150, 100); !ok {
		t.Fatal("insert after idle entries should reclaim them")
	}
	if _, ok := tb.Lookup(key{1, 1}, 150); ok {
		t.Fatal("idle entry still found")
	}
	if h, ok := tb.Lookup(key{2, 2}, 1e18); !ok || *tb.Get(h) != 20 {
		t.Fatal("entry without timeout expired")
	}
	_ = h1
	if got, want := tb.Len(), 2; got != want {
		t.Fatalf("Len = %d, want %d", got, want)
	}
}

func TestTouchKeepsAlive(t *testing.T) {
	tb := NewTable[key, int](10)
	h, _ := tb.Insert(key{1, 2}, 1, 0, 100)
	for now := int64(50); now < 1000; now += 50 {
		h2, ok := tb.Lookup(key{1, 2}, now)
		if !ok || h2 != h {
			t.Fatalf("at %d: entry lost", now)
		}
		tb.Touch(h2, now)
	}
	if _, ok := tb.Lookup(key{1, 2}, 1200); ok {
		t.Fatal("entry survived 250 ns idle with a 100 ns timeout")
	}
}

func TestSweepBounded(t *testing.T) {
	tb := NewTable[key, int](100000)
	for i := uint32(0); i < 10000; i++ {
		tb.Insert(key{i, 0}, int(i), 0, 10)
	}
	total := 0
	for i := 0; i < 100 && tb.Len() > 0; i++ {
		total += tb.Sweep(100, 200)
	}
	if total != 10000 || tb.Len() != 0 {
		t.Fatalf("swept %d, Len %d; want 10000, 0", total, tb.Len())
	}
}

var sink int

func TestNoAllocsSteadyState(t *testing.T) {
	tb := NewTable[key, int](1000)
	for i := uint32(0); i < 1000; i++ {
		tb.Insert(key{i, 0}, int(i), 0, 0)
	}
	n := testing.AllocsPerRun(100, func() {
		for i := uint32(0); i < 1000; i++ {
			h, _ := tb.Lookup(key{i, 0}, 1)
			tb.Touch(h, 1)
			sink += *tb.Get(h)
		}
	})
	if n != 0 {
		t.Fatalf("allocs = %v, want 0", n)
	}
}

func TestInsertReplacesIdleEntry(t *testing.T) {
	tb := NewTable[key, int](10)
	tb.Insert(key{1, 1}, 1, 0, 100)
	if _, ok := tb.Insert(key{1, 1}, 2, 50, 100); ok {
		t.Fatal("live duplicate accepted")
	}
	h, ok := tb.Insert(key{1, 1}, 3, 200, 100)
	if !ok || *tb.Get(h) != 3 || tb.Len() != 1 {
		t.Fatalf("insert over an idle entry: ok %v len %d", ok, tb.Len())
	}
}
