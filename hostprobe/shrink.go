package hostprobe

import (
	"context"
	"strings"
)

// Shrink reduces s to a smallest scenario for which fails still holds: delta debugging
// (ddmin) over its packets, then, packet by packet, dropping time gaps, whole trailing
// layers after the transport layer (a payload, a quoted packet) and single fields, until nothing more can go. A packet whose binding is gone
// goes with it, so every candidate stays a valid scenario. fails is called at most
// budget times (0: no limit); Shrink returns the smallest scenario found and how many
// times it called fails. s itself is assumed to fail.
func Shrink(ctx context.Context, s *GenScenario, budget int, fails func(*GenScenario) bool) (*GenScenario, int) {
	calls := 0
	try := func(pkts []GenPacket) bool {
		if ctx.Err() != nil || budget > 0 && calls >= budget || len(pkts) == 0 {
			return false
		}
		calls++
		c := *s
		c.Packets = pkts
		return fails(&c)
	}
	cur := withoutUnbound(clonePackets(s.Packets))
	// ddmin over packets.
	n := 2
	for len(cur) >= 2 {
		chunks := split(len(cur), n)
		reduced := false
		for _, ch := range chunks { // try a complement
			cand := withoutUnbound(append(clonePackets(cur[:ch[0]]), clonePackets(cur[ch[1]:])...))
			if len(cand) < len(cur) && try(cand) {
				cur, n, reduced = cand, max(n-1, 2), true
				break
			}
		}
		if !reduced {
			for _, ch := range chunks { // try a subset
				cand := withoutUnbound(clonePackets(cur[ch[0]:ch[1]]))
				if len(cand) < len(cur) && try(cand) {
					cur, n, reduced = cand, 2, true
					break
				}
			}
		}
		if !reduced {
			if n >= len(cur) {
				break
			}
			n = min(2*n, len(cur))
		}
	}
	// Then over fields, to a fixed point.
	for changed := true; changed; {
		changed = false
		for i := 0; i < len(cur); i++ {
			if cur[i].Gap != "" {
				cand := clonePackets(cur)
				cand[i].Gap = ""
				if try(cand) {
					cur, changed = cand, true
				}
			}
			// The transport layer stays: without it the packet is another protocol, and
			// the finding would be about that one.
			for li := len(cur[i].Layers) - 1; li > transportLayer(cur[i].Layers); li-- {
				if li >= len(cur[i].Layers) {
					continue
				}
				cand := clonePackets(cur)
				cand[i].Layers = cand[i].Layers[:li]
				if cand = withoutUnbound(cand); len(cand) == len(cur) && try(cand) {
					cur, changed = cand, true
				}
			}
			for li := 0; li < len(cur[i].Layers); li++ {
				for fi := len(cur[i].Layers[li].Fields) - 1; fi >= 0; fi-- {
					if fi >= len(cur[i].Layers[li].Fields) {
						continue
					}
					if strings.HasPrefix(cur[i].Layers[li].Fields[fi].Val, "$") {
						// A binding stays: without it the packet relies on both NATs
						// choosing the same port.
						continue
					}
					cand := clonePackets(cur)
					l := &cand[i].Layers[li]
					l.Fields = append(l.Fields[:fi:fi], l.Fields[fi+1:]...)
					if cand = withoutUnbound(cand); len(cand) == len(cur) && try(cand) {
						cur, changed = cand, true
					}
				}
			}
		}
		if budget > 0 && calls >= budget || ctx.Err() != nil {
			break
		}
	}
	out := *s
	out.Packets = cur
	return &out, calls
}

// split cuts n items into k chunks, as [start, end) pairs.
func split(n, k int) [][2]int {
	var out [][2]int
	for i := 0; i < k; i++ {
		a, b := i*n/k, (i+1)*n/k
		if a < b {
			out = append(out, [2]int{a, b})
		}
	}
	return out
}

func clonePackets(ps []GenPacket) []GenPacket {
	out := make([]GenPacket, len(ps))
	for i, p := range ps {
		out[i] = p
		out[i].Layers = cloneLayers(p.Layers)
		if p.Binds != nil {
			b := *p.Binds
			b.Layers = cloneLayers(b.Layers)
			out[i].Binds = &b
		}
	}
	return out
}

func cloneLayers(ls []GenLayer) []GenLayer {
	out := make([]GenLayer, len(ls))
	for i, l := range ls {
		out[i] = GenLayer{Name: l.Name, Fields: append([]GenField(nil), l.Fields...)}
	}
	return out
}

// DiffClass names the kind of an undocumented difference, the same across scenarios: the
// output kind, what differs and the field, and for an outcome both outcomes ("outcome
// delivered vs dropped (mtu-mismatch)", "field delivered ipv4#2.src"). Shrinking keeps a
// scenario only while it still shows a difference of its class.
func DiffClass(d Difference) string {
	switch d.What {
	case "outcome":
		return "outcome " + d.A + " vs " + d.B
	case "missing", "extra", "layers":
		return d.What + " " + d.Kind
	}
	return d.What + " " + d.Kind + " " + d.Field
}

// UndocumentedClasses returns the classes (DiffClass) of c's undocumented differences, in
// order of first appearance.
func UndocumentedClasses(c *Comparison) []string {
	if c == nil {
		return nil
	}
	var out []string
	seen := map[string]bool{}
	for _, p := range c.Packets {
		for _, d := range p.Diffs {
			if d.Known != "" || d.NotBuilt != "" {
				continue
			}
			if k := DiffClass(d); !seen[k] {
				seen[k] = true
				out = append(out, k)
			}
		}
	}
	return out
}

// transportLayer returns the index of the first TCP, UDP or ICMP layer (0 when there is
// none).
func transportLayer(ls []GenLayer) int {
	for i, l := range ls {
		switch l.Name {
		case "tcp", "udp", "icmp":
			return i
		}
	}
	return 0
}
