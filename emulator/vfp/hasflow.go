package vfp

import "github.com/hnspath/hnspath/emulator/packet"

// HasFlow reports whether one of the port's stateful layers holds a live
// flow for pp's tuple in direction dir, without processing pp. The vSwitch
// uses it to check that a reply it would steer to this port by its
// translated destination belongs to a connection the port knows: VFP
// matches replies on the whole 5-tuple (microsoft/Windows-Containers#625).
// It does not allocate.
func (p *Port) HasFlow(dir Direction, pp *packet.Parsed, now int64) bool {
	if !pp.IsIP() {
		return false
	}
	k := lfKey{t: pp.Tuple(), dir: dir}
	for _, l := range p.layers {
		if l.flows == nil {
			continue
		}
		if h, ok := l.flows.t.Lookup(k, now); ok && l.flows.t.Get(h).id != 0 {
			return true
		}
	}
	return false
}
