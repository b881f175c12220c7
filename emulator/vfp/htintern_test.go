package vfp

import (
	"net/netip"
	"testing"
)

// TestHTInternShares checks that equal transpositions share one list,
// that different ones do not, and that the last reference frees a list,
// also when its hash bucket holds others.
func TestHTInternShares(t *testing.T) {
	var in htIntern
	in.init()
	mk := func(port uint16) []htStep {
		return []htStep{{op: opModify, mod: modify{set: modDstIP | modDstPort, dstIP: addrOf(netip.MustParseAddr("10.0.0.1")), dstPort: port}}, {op: opPop}}
	}
	a1, a2 := in.get(mk(80)), in.get(mk(80))
	b := in.get(mk(81))
	if a1 != a2 || a1.refs != 2 || a1 == b || b.refs != 1 {
		t.Fatalf("a1 %p a2 %p b %p, refs %d %d", a1, a2, b, a1.refs, b.refs)
	}
	if !equalSteps(a1.steps, mk(80)) || !equalSteps(b.steps, mk(81)) {
		t.Fatal("interned steps differ from the originals")
	}
	if in.get(nil) != nil {
		t.Fatal("no steps interned as a list")
	}
	in.put(a1)
	if len(in.m) != 2 {
		t.Fatalf("%d lists after dropping one of two references, want 2", len(in.m))
	}
	in.put(a2)
	in.put(b)
	if len(in.m) != 0 {
		t.Fatalf("%d lists after dropping every reference, want 0", len(in.m))
	}
	// Lists sharing a bucket (forced: the same hash) are unlinked one by one.
	x := &htList{steps: mk(1), hash: 5, refs: 1}
	y := &htList{steps: mk(2), hash: 5, refs: 1, next: x}
	z := &htList{steps: mk(3), hash: 5, refs: 1, next: y}
	in.m[5] = z
	in.put(y)
	if in.m[5] != z || z.next != x {
		t.Fatal("middle of a bucket not unlinked")
	}
	in.put(z)
	if in.m[5] != x {
		t.Fatal("head of a bucket not unlinked")
	}
	in.put(x)
	if len(in.m) != 0 {
		t.Fatal("bucket not freed")
	}
}
