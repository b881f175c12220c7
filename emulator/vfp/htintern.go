package vfp

import (
	"hash/maphash"
	"slices"

	"github.com/hnspath/hnspath/emulator/drop"
)

// htList is the decision of a unified flow that does not depend on the
// flow itself: its composed transposition, the rules that matched (for
// their counters), a cached drop and its names. Every unified flow that
// took the same path through the layers shares one (most flows of a port:
// the same MAC rewrite, the same decapsulation). Read-only once interned.
type htList struct {
	htDecision
	hash uint64
	refs int
	next *htList // same hash bucket
}

// htDecision is what an htList holds.
type htDecision struct {
	steps    []htStep
	rules    []*Rule     // rules that decided in some layer, for their counters
	reason   drop.Reason // a cached drop, or drop.None
	dropRule *Rule       // the rule that dropped, if any
	info     DropInfo    // the drop, or the encap rule (for MTU drops)
}

func (d *htDecision) equal(o *htDecision) bool {
	return equalSteps(d.steps, o.steps) && slices.Equal(d.rules, o.rules) &&
		d.reason == o.reason && d.dropRule == o.dropRule && d.info == o.info
}

// htIntern interns transpositions per unified flow table: a flow holds a
// counted reference instead of its own copy of the steps, and the last
// reference frees the list. Flows whose steps differ (a NAT port, an
// encapsulation's entropy source port) get lists of their own.
type htIntern struct {
	seed maphash.Seed
	m    map[uint64]*htList
}

func (in *htIntern) init() {
	in.seed = maphash.MakeSeed()
	in.m = make(map[uint64]*htList)
}

func (in *htIntern) hash(d *htDecision) uint64 {
	var h maphash.Hash
	h.SetSeed(in.seed)
	for i := range d.steps {
		maphash.WriteComparable(&h, d.steps[i])
	}
	for _, r := range d.rules {
		maphash.WriteComparable(&h, r)
	}
	maphash.WriteComparable(&h, d.reason)
	maphash.WriteComparable(&h, d.dropRule)
	maphash.WriteComparable(&h, d.info)
	return h.Sum64()
}

// get returns the interned decision equal to d (whose slices are scratch,
// copied when new) with one more reference.
func (in *htIntern) get(d *htDecision) *htList {
	hv := in.hash(d)
	head := in.m[hv]
	for l := head; l != nil; l = l.next {
		if l.equal(d) {
			l.refs++
			return l
		}
	}
	l := &htList{htDecision: *d, hash: hv, refs: 1, next: head}
	l.steps = slices.Clone(d.steps)
	l.rules = slices.Clone(d.rules)
	in.m[hv] = l
	return l
}

// put drops a reference and frees the list with its last.
func (in *htIntern) put(l *htList) {
	if l == nil {
		return
	}
	if l.refs--; l.refs > 0 {
		return
	}
	pp := in.m[l.hash]
	if pp == l {
		if l.next == nil {
			delete(in.m, l.hash)
		} else {
			in.m[l.hash] = l.next
		}
		return
	}
	for ; pp != nil; pp = pp.next {
		if pp.next == l {
			pp.next = l.next
			return
		}
	}
}

func (in *htIntern) clear() { clear(in.m) }

func equalSteps(a, b []htStep) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// stepsOf returns the steps of an interned list (none for nil).
func (l *htList) stepsOf() []htStep {
	if l == nil {
		return nil
	}
	return l.steps
}

// reasonOf returns the cached drop reason (none for nil).
func (l *htList) reasonOf() drop.Reason {
	if l == nil {
		return drop.None
	}
	return l.reason
}
