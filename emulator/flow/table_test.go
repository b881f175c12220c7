package flow

import "testing"

type key struct{ a, b uint32 }

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
