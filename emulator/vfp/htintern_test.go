package vfp

import (
	"net/netip"
	"testing"
	"time"

	"github.com/hnspath/hnspath/emulator/emutest"
	"github.com/hnspath/hnspath/emulator/flow"
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
	get := func(steps []htStep) *htList {
		if steps == nil {
			return nil
		}
		return in.get(&htDecision{steps: steps})
	}
	a1, a2 := get(mk(80)), get(mk(80))
	b := get(mk(81))
	if a1 != a2 || a1.refs != 2 || a1 == b || b.refs != 1 {
		t.Fatalf("a1 %p a2 %p b %p, refs %d %d", a1, a2, b, a1.refs, b.refs)
	}
	if !equalSteps(a1.steps, mk(80)) || !equalSteps(b.steps, mk(81)) {
		t.Fatal("interned steps differ from the originals")
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
	x := &htList{htDecision: htDecision{steps: mk(1)}, hash: 5, refs: 1}
	y := &htList{htDecision: htDecision{steps: mk(2)}, hash: 5, refs: 1, next: x}
	z := &htList{htDecision: htDecision{steps: mk(3)}, hash: 5, refs: 1, next: y}
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

// TestSharedStateCounted runs the realistic stream through a port and
// checks that every interned transposition and layer flow action is
// referenced exactly as often as the flows that use it, that flows share
// (fewer lists than flows), and that once every flow has expired and been
// swept nothing interned is left.
func TestSharedStateCounted(t *testing.T) {
	p := newPort(t, PortOptions{}, realisticLayers()...)
	g := &streamGen{t: t, rng: newRand(2)}
	now := int64(0)
	for i := 0; i < 3000; i++ {
		now += int64(time.Millisecond)
		dir, frame := g.next()
		b, pp := load(frame)
		p.Process(dir, b, pp, now, nil)
	}
	check := func() (flows, lists int) {
		uses := map[*htList]int{}
		p.uft.all(func(_ ufHandle, s *ufSlot) bool {
			flows++
			if s.val.ht != nil {
				uses[s.val.ht]++
			}
			return true
		})
		for _, head := range p.uft.ht.m {
			for l := head; l != nil; l = l.next {
				lists++
				if uses[l] != l.refs {
					t.Fatalf("transposition used by %d flows has %d references", uses[l], l.refs)
				}
			}
		}
		if lists != len(uses) {
			t.Fatalf("%d interned transpositions, %d in use", lists, len(uses))
		}
		for _, l := range p.layers {
			if l.flows == nil {
				continue
			}
			acts := map[*lfAct]int{}
			l.flows.t.All(func(_ flow.Handle, _ lfKey, f *layerFlow) bool {
				acts[f.act]++
				return true
			})
			n := 0
			for _, head := range l.flows.acts.m {
				for a := head; a != nil; a = a.next {
					n++
					if acts[a] != a.refs {
						t.Fatalf("layer %s: action used by %d flows has %d references", l.Name, acts[a], a.refs)
					}
				}
			}
			if n != len(acts) {
				t.Fatalf("layer %s: %d interned actions, %d in use", l.Name, n, len(acts))
			}
		}
		return flows, lists
	}
	flows, lists := check()
	if flows < 100 || lists*2 > flows {
		t.Fatalf("%d unified flows share %d transpositions; want many flows, at most half as many lists", flows, lists)
	}
	now += 3600 * sec
	p.uft.sweep(now, 1<<20)
	for _, l := range p.layers {
		if l.flows != nil {
			l.flows.t.Sweep(now, 1<<20)
		}
	}
	check()
	if n := len(p.uft.ht.m); n != 0 {
		t.Errorf("%d transpositions left after every flow expired", n)
	}
	for _, l := range p.layers {
		if l.flows != nil && len(l.flows.acts.m) != 0 {
			t.Errorf("layer %s: %d actions left after every flow expired", l.Name, len(l.flows.acts.m))
		}
	}
}

// TestIdleFlowsGo sends ever-new UDP flows, one every 10 ms for 20 minutes
// of virtual time, through a port whose ACL layer makes a flow pair for
// each. With a 240 s timeout about 24,000 flows are live at any time; the
// budgeted sweeps must keep the tables near that, far below their capacity
// of 500,000 (each flow is seen once, so no lookup ever reaps it).
func TestIdleFlowsGo(t *testing.T) {
	layers := realisticLayers()
	p := newPort(t, PortOptions{}, layers[1]) // the stateful ACL layer
	acl := p.Layer("ACL_ENDPOINT_LAYER")
	const spacing = 10 * int64(time.Millisecond)
	const n = 120_000
	live := int(int64(240*time.Second) / spacing)
	maxUF, maxLF := 0, 0
	for i := 0; i < n; i++ {
		now := int64(i) * spacing
		frame := emutest.UDP4(t, macPod, macGW, podIP, peerIP, uint16(1024+i%60000), uint16(1+i/60000), nil)
		if v, r, _ := run(p, Out, frame, now); v != Pass {
			t.Fatalf("flow %d: %v %v", i, v, r)
		}
		maxUF = max(maxUF, p.uft.n)
		maxLF = max(maxLF, acl.flows.t.Len())
	}
	t.Logf("%d flows live within the timeout; at most %d unified flows and %d layer flows held", live, maxUF, maxLF)
	if maxUF > live+live/5 || maxLF > 2*(live+live/5) {
		t.Fatalf("at most %d unified flows and %d layer flows held; want about %d and %d (flows live within the timeout)",
			maxUF, maxLF, live, 2*live)
	}
	if maxUF < live {
		t.Fatalf("at most %d unified flows held, fewer than the %d live ones: flows expired early", maxUF, live)
	}
}
