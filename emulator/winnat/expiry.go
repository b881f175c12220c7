package winnat

// Expiry order.
//
// Every live session is filed in a binary min-heap under a time at or
// before the one it expires at (lastSeen + its class's timeout). A packet
// that refreshes a session only moves its lastSeen forward, so the filed
// time stays a lower bound and the per-packet path never touches the heap.
// Whoever needs idle sessions gone (Expire, a full session table, a full
// port table) pops the heap's minimum while it lies before now: a session
// idle past its timeout is removed; one that was refreshed since is filed
// again under its real expiry time. A session is thus refiled at most once
// per timeout period, and when the minimum lies at or after now no session
// is idle past its timeout: every port held by an expired mapping has been
// found. The one change that can bring a session's expiry earlier, a TCP
// state change to a class with a shorter timeout, refiles it at once (see
// touch).
//
// The heap keeps (time, session) pairs so that comparisons read the heap
// only; hpos[session] is the session's place in it, for removal. Both grow
// with the session table (a chunk at a time) and never per packet.

type expiryEntry struct {
	at int64  // virtual time, ns, at or before the session's expiry
	si uint32 // session index
}

// expiryAt returns the time session s expires at: idle past its timeout
// one nanosecond later (see expired).
func (n *NAT) expiryAt(s *session) int64 { return s.lastSeen + n.tmo[s.tclass] }

// expAdd files session si under at.
func (n *NAT) expAdd(si uint32, at int64) {
	j := len(n.heap)
	n.heap = append(n.heap, expiryEntry{at: at, si: si})
	n.hpos[si-1] = uint32(j)
	n.siftUp(j)
}

// expDel removes session si from the heap.
func (n *NAT) expDel(si uint32) {
	j := int(n.hpos[si-1])
	last := len(n.heap) - 1
	if j != last {
		n.heap[j] = n.heap[last]
		n.hpos[n.heap[j].si-1] = uint32(j)
	}
	n.heap = n.heap[:last]
	if j < last {
		if !n.siftUp(j) {
			n.siftDown(j)
		}
	}
}

// expFix files session si again under at.
func (n *NAT) expFix(si uint32, at int64) {
	j := int(n.hpos[si-1])
	old := n.heap[j].at
	n.heap[j].at = at
	if at < old {
		n.siftUp(j)
	} else {
		n.siftDown(j)
	}
}

// siftUp moves entry j towards the root and reports whether it moved.
func (n *NAT) siftUp(j int) bool {
	h := n.heap
	e := h[j]
	start := j
	for j > 0 {
		p := (j - 1) / 2
		if h[p].at <= e.at {
			break
		}
		h[j] = h[p]
		n.hpos[h[j].si-1] = uint32(j)
		j = p
	}
	h[j] = e
	n.hpos[e.si-1] = uint32(j)
	return j != start
}

func (n *NAT) siftDown(j int) {
	h := n.heap
	e := h[j]
	for {
		c := 2*j + 1
		if c >= len(h) {
			break
		}
		if r := c + 1; r < len(h) && h[r].at < h[c].at {
			c = r
		}
		if e.at <= h[c].at {
			break
		}
		h[j] = h[c]
		n.hpos[h[j].si-1] = uint32(j)
		j = c
	}
	h[j] = e
	n.hpos[e.si-1] = uint32(j)
}

// reap removes sessions idle past their timeouts at now, oldest first,
// examining at most budget heap entries (budget < 0: until none is left),
// and returns how many it removed. It does not allocate.
func (n *NAT) reap(now int64, budget int) int {
	removed := 0
	for budget != 0 && len(n.heap) > 0 && n.heap[0].at < now {
		budget--
		si := n.heap[0].si
		s := n.sess(si)
		if at := n.expiryAt(s); at < now {
			n.removeSession(si, true)
			removed++
		} else {
			n.expFix(si, at)
		}
	}
	return removed
}
