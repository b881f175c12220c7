package vfp

import "hash/maphash"

// htList is a composed transposition shared by every unified flow that
// applies the same steps (most flows of a port: the same MAC rewrite, the
// same decapsulation). Its steps are read-only once interned.
type htList struct {
	steps []htStep
	hash  uint64
	refs  int
	next  *htList // same hash bucket
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

func (in *htIntern) hash(steps []htStep) uint64 {
	var h maphash.Hash
	h.SetSeed(in.seed)
	for i := range steps {
		maphash.WriteComparable(&h, steps[i])
	}
	return h.Sum64()
}

// get returns the interned list equal to steps (a scratch slice, copied
// when new) with one more reference; nil for no steps.
func (in *htIntern) get(steps []htStep) *htList {
	if len(steps) == 0 {
		return nil
	}
	hv := in.hash(steps)
	head := in.m[hv]
	for l := head; l != nil; l = l.next {
		if equalSteps(l.steps, steps) {
			l.refs++
			return l
		}
	}
	l := &htList{steps: append([]htStep(nil), steps...), hash: hv, refs: 1, next: head}
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
