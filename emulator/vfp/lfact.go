package vfp

import "hash/maphash"

// lfActKey is what a layer flow does: the rule that created it (at its
// generation), the direction it stands for, its rewrite and MSS change.
type lfActKey struct {
	rule    *Rule
	ruleGen uint64
	mod     modify
	mss     uint16
	forward bool
}

// lfAct is an interned lfActKey with the count of layer flows using it.
type lfAct struct {
	lfActKey
	hash uint64
	refs int
	next *lfAct // same hash bucket
}

// lfActs interns a layer's flow actions: flows of the same rule with the
// same rewrite (an ACL allow, a MAC rewrite, the forward half of a static
// NAT) share one; a per-flow rewrite (a reply's original address and port)
// gets its own. The last flow using one frees it.
type lfActs struct {
	seed maphash.Seed
	m    map[uint64]*lfAct
}

func (in *lfActs) init() {
	in.seed = maphash.MakeSeed()
	in.m = make(map[uint64]*lfAct)
}

// get returns the interned action equal to k with one more reference.
func (in *lfActs) get(k lfActKey) *lfAct {
	hv := maphash.Comparable(in.seed, k)
	head := in.m[hv]
	for a := head; a != nil; a = a.next {
		if a.lfActKey == k {
			a.refs++
			return a
		}
	}
	a := &lfAct{lfActKey: k, hash: hv, refs: 1, next: head}
	in.m[hv] = a
	return a
}

// put drops a reference and frees the action with its last.
func (in *lfActs) put(a *lfAct) {
	if a == nil {
		return
	}
	if a.refs--; a.refs > 0 {
		return
	}
	head := in.m[a.hash]
	if head == a {
		if a.next == nil {
			delete(in.m, a.hash)
		} else {
			in.m[a.hash] = a.next
		}
		return
	}
	for p := head; p != nil; p = p.next {
		if p.next == a {
			p.next = a.next
			return
		}
	}
}
