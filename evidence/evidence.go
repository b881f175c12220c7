// Package evidence compares a real Windows node's recorded evidence with
// the emulator: each packet group (PktGroupId) of a pktmon capture, whose
// first appearance was replayed through the topology, is lined up with
// the emulator's result and trace for that packet, and the comparison
// says where they part: a packet dropped on the real host that the model
// delivers, or the reverse (with both reasons, in pktmon's and the
// emulator's vocabularies), a different drop reason, a port the real host
// reached and the model did not, and header fields rewritten differently.
//
// It is a job-tier package: it reads captures (pktmon), results (result)
// and maps drop reasons (emulator/drop); the replay itself is done by the
// caller (scenarios.ReplayCapture), which hands over its results.
package evidence

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/hnspath/hnspath/emulator/drop"
	"github.com/hnspath/hnspath/emulator/header"
	"github.com/hnspath/hnspath/emulator/packet"
	"github.com/hnspath/hnspath/emulator/trace"
	cmp "github.com/hnspath/hnspath/evidence/comparison"
	"github.com/hnspath/hnspath/pktmon"
	"github.com/hnspath/hnspath/result"
)

// Input is what Compare needs: the capture and its port map, the packet
// groups that were injected with their results (Results[i] is the result
// of Injected[i], with its trace), and those that were not.
type Input struct {
	Topology string
	Captures []string
	Capture  *pktmon.Capture
	Map      *pktmon.PortMap
	// Ports are the topology's port names.
	Ports    []string
	Injected []*pktmon.Group
	In       []string
	// Origins say, by the same index, why a group was injected elsewhere
	// than at its first appearance's port ("" when it was not).
	Origins []string
	Results []*result.Packet
	Skipped []Skipped
}

// Skipped is a packet group that was not injected, with why.
type Skipped struct {
	Group *pktmon.Group
	Why   string
}

// ModelReason returns the emulator's drop reason for a pktmon DropReason,
// given as its number (code >= 0) or its text: the reason in pktmon's
// vocabulary with that number, else the reason whose Windows wording is
// the text (e.g. "INET: transport endpoint was not found").
func ModelReason(code int, text string) (drop.Reason, bool) {
	if code >= 0 {
		for _, r := range drop.All() {
			if r.Layer() == drop.LayerPktmon && r.Code() == code {
				return r, true
			}
		}
	}
	if text = strings.TrimSpace(text); text != "" {
		// Exact wording first ("invalid packet" is VFP's, "Invalid Packet"
		// pktmon's), then any case.
		for _, r := range drop.All() {
			if r.Text() == text || r.Slug() == text {
				return r, true
			}
		}
		for _, r := range drop.All() {
			if strings.EqualFold(r.Text(), text) {
				return r, true
			}
		}
	}
	return drop.None, false
}

// PktmonCode returns the pktmon DropReason number of an emulator reason,
// or -1 when pktmon has none for it (VFP, WinNAT, TCP/IP reasons).
func PktmonCode(r drop.Reason) int {
	if r.Layer() == drop.LayerPktmon {
		return r.Code()
	}
	return -1
}

// realDrop describes a real drop in both vocabularies.
func realDrop(c *pktmon.Capture, pm *pktmon.PortMap, a *pktmon.Appearance) *cmp.Drop {
	d := &cmp.Drop{Where: c.Where(a), Code: a.Meta.DropCode, Text: a.Meta.DropReason}
	if d.Code >= 0 && pktmon.DropText(d.Code) != "" {
		d.Text = pktmon.DropText(d.Code)
	}
	if p, ok := pm.PortOf(a); ok {
		d.Port = p
	}
	if r, ok := ModelReason(d.Code, d.Text); ok {
		d.Slug = r.Slug()
	}
	return d
}

// modelDrop describes the model's drop in both vocabularies.
func modelDrop(d *result.Drop) *cmp.Drop {
	where := d.Component
	if d.Where != "" {
		where += " " + d.Where
	}
	if d.Host != "" {
		where = d.Host + " " + where
	}
	if d.VFPLayer != "" {
		where += fmt.Sprintf(" (VFP %s/%s/%s)", d.VFPLayer, d.VFPGroup, d.VFPRule)
	}
	md := &cmp.Drop{Where: where, Port: d.Port, Slug: d.Reason, Text: d.Text, Code: -1}
	if r, ok := drop.Parse(d.Reason); ok {
		md.Code = PktmonCode(r)
		if md.Text == "" {
			md.Text = r.Text()
		}
	}
	return md
}

// sameReason reports whether two drops have the same reason, and whether
// they can be compared at all (a reason without a counterpart in the
// other vocabulary cannot).
func sameReason(real, model *cmp.Drop) (same, comparable bool) {
	switch {
	case real.Slug != "" && real.Slug == model.Slug:
		return true, true
	case real.Code >= 0 && real.Code == model.Code:
		return true, true
	case real.Text != "" && real.Text == model.Text:
		return true, true
	case real.Text != "" && real.Code < 0 && model.Code < 0 && strings.EqualFold(real.Text, model.Text):
		return true, true
	}
	return false, real.Slug != "" || (real.Code >= 0 && model.Code >= 0)
}

// Compare lines up every packet group with the model's result.
func Compare(in Input) *cmp.Report {
	r := &cmp.Report{Schema: cmp.Schema, Topology: in.Topology, Captures: in.Captures, PortMap: in.Map.Notes}
	isPort := map[string]bool{}
	for _, p := range in.Ports {
		isPort[p] = true
	}
	// Ports whose components or interfaces the capture recorded at all.
	captured := map[string]bool{}
	for i := range in.Capture.Appearances {
		if p, ok := in.Map.PortOf(&in.Capture.Appearances[i]); ok {
			captured[p] = true
		}
	}
	for i, g := range in.Injected {
		var res *result.Packet
		if i < len(in.Results) {
			res = in.Results[i]
		}
		gr := compareGroup(in, g, in.In[i], i+1, res, isPort, captured)
		if i < len(in.Origins) && in.Origins[i] != "" {
			gr.Notes = append(gr.Notes, in.Origins[i])
		}
		r.Results = append(r.Results, gr)
	}
	for _, s := range in.Skipped {
		a := s.Group.Appearances[0]
		r.Results = append(r.Results, &cmp.Group{ID: s.Group.ID, Source: fmt.Sprintf("%s:%d", a.Source, a.Line),
			Verdict: cmp.NotReplayed, Notes: []string{s.Why}})
	}
	for _, g := range r.Results {
		r.Groups++
		switch g.Verdict {
		case cmp.Agree:
			r.Agreed++
		case cmp.Part:
			r.Parted++
		default:
			r.NotReplayed++
		}
	}
	return r
}

func compareGroup(in Input, g *pktmon.Group, inPort string, index int, res *result.Packet, isPort, captured map[string]bool) *cmp.Group {
	c, pm := in.Capture, in.Map
	first := g.Appearances[0]
	gr := &cmp.Group{ID: g.ID, Source: fmt.Sprintf("%s:%d", first.Source, first.Line), Packet: index, In: inPort, Summary: summary(first)}
	// The real side.
	gr.Real.Outcome = result.OutcomeDelivered
	realFrames := map[string]*pktmon.Appearance{}
	var realDropA *pktmon.Appearance
	for i, a := range g.Appearances {
		st := cmp.Step{Appearance: a.Meta.Appearance, Where: c.Where(a), Direction: a.Meta.Direction, Edge: a.Meta.Edge}
		if !a.HasMeta {
			st.Appearance = i + 1
		}
		if p, ok := pm.PortOf(a); ok {
			st.Port = p
		}
		if a.Dropped {
			d := realDrop(c, pm, a)
			st.Drop = d.String()
			if realDropA == nil {
				realDropA = a
				gr.Real.Outcome = result.OutcomeDropped
				gr.Real.Drop = d
			}
		} else if i > 0 && st.Port != "" && realDropA == nil {
			if st.Port != inPort && !slices.Contains(gr.Real.Ports, st.Port) {
				gr.Real.Ports = append(gr.Real.Ports, st.Port)
			}
			realFrames[st.Port] = a
		}
		gr.Steps = append(gr.Steps, st)
	}
	if res == nil {
		gr.Verdict = cmp.NotReplayed
		gr.Notes = append(gr.Notes, "no result from the model")
		return gr
	}
	// The model side.
	gr.Model.Outcome = res.Outcome
	reached := map[string]bool{}
	atStage := map[string]string{} // the model's first stage at each port
	modelFrames := map[string][]byte{}
	for _, o := range res.Outputs {
		reached[o.Port] = true
		modelFrames[o.Port] = o.Frame
		if o.Port != inPort && !slices.Contains(gr.Model.Ports, o.Port) {
			gr.Model.Ports = append(gr.Model.Ports, o.Port)
		}
	}
	for _, s := range res.Trace {
		name := s.Port
		if s.Host != "" {
			name = s.Host + "/" + s.Port
		}
		if !isPort[name] {
			name = s.Port
		}
		line := stageLine(s)
		if isPort[name] {
			reached[name] = true
			if atStage[name] == "" {
				atStage[name] = fmt.Sprintf("stage %d, %s", len(gr.Model.Stages)+1, line)
			}
		}
		gr.Model.Stages = append(gr.Model.Stages, line)
	}
	var md *cmp.Drop
	if len(res.Drops) > 0 {
		md = modelDrop(&res.Drops[0])
		gr.Model.Drop = md
	}
	for i := range gr.Steps {
		st := &gr.Steps[i]
		if i == 0 || st.Port == "" || st.Port == inPort {
			continue
		}
		switch {
		case atStage[st.Port] != "":
			st.Model = "reached at " + atStage[st.Port]
		case reached[st.Port]:
			st.Model = "reached"
		default:
			st.Model = "not reached"
		}
	}
	modelDelivered := res.Outcome == result.OutcomeDelivered
	part := func(p cmp.Parting) { gr.Partings = append(gr.Partings, p) }
	switch {
	case realDropA != nil && md == nil:
		what := "forwarded it"
		if modelDelivered {
			what = "delivered it at " + strings.Join(deliveredPorts(res), ", ")
		}
		part(cmp.Parting{Kind: cmp.DroppedThereDeliveredHere, Where: gr.Real.Drop.Where,
			Text: fmt.Sprintf("the real host dropped it at %s (%s); the model %s without a drop", gr.Real.Drop.Where, gr.Real.Drop, what),
			Real: gr.Real.Drop})
	case realDropA == nil && md != nil && !modelDelivered:
		last := g.Appearances[len(g.Appearances)-1]
		n := len(g.Appearances)
		if last.HasMeta {
			n = last.Meta.Appearance
		}
		part(cmp.Parting{Kind: cmp.DeliveredThereDroppedHere, Where: md.Where,
			Text:  fmt.Sprintf("the real host passed it on (last seen at %s, appearance %d, no drop logged); the model dropped it at %s (%s)", c.Where(last), n, md.Where, md),
			Model: md})
	case realDropA != nil && md != nil:
		same, comparable := sameReason(gr.Real.Drop, md)
		switch {
		case same:
		case comparable:
			part(cmp.Parting{Kind: cmp.DropReason, Where: gr.Real.Drop.Where,
				Text: fmt.Sprintf("both dropped it, the real host at %s for %s, the model at %s for %s", gr.Real.Drop.Where, gr.Real.Drop, md.Where, md),
				Real: gr.Real.Drop, Model: md})
		default:
			gr.Notes = append(gr.Notes, fmt.Sprintf("both dropped it; the reasons cannot be compared (real %s, model %s: no common vocabulary)", gr.Real.Drop, md))
		}
	}
	if realDropA == nil && md == nil || realDropA == nil && modelDelivered {
		for _, st := range gr.Steps[1:] {
			if st.Model == "not reached" {
				part(cmp.Parting{Kind: cmp.Path, Where: st.Where,
					Text: fmt.Sprintf("the real host saw it at %s (port %s, %s); the model never reached %s", st.Where, st.Port, st.Direction, st.Port)})
			}
		}
		for _, p := range gr.Model.Ports {
			if captured[p] && !slices.Contains(gr.Real.Ports, p) {
				part(cmp.Parting{Kind: cmp.Path, Where: p,
					Text: fmt.Sprintf("the model sent it to %s; the real host's capture has that port's component but not this packet there", p)})
			}
		}
		for _, p := range gr.Real.Ports {
			a, mf := realFrames[p], modelFrames[p]
			if a == nil || mf == nil || len(a.Frame) == 0 {
				continue
			}
			if diffs := fieldDiffs(a, mf); len(diffs) > 0 {
				part(cmp.Parting{Kind: cmp.Rewrite, Where: p,
					Text: fmt.Sprintf("at %s the headers differ (real %s, appearance %d)", p, c.Where(a), a.Meta.Appearance), Fields: diffs})
			}
		}
	}
	gr.Verdict = cmp.Agree
	if len(gr.Partings) > 0 {
		gr.Verdict = cmp.Part
	}
	return gr
}

func deliveredPorts(res *result.Packet) []string {
	var out []string
	for _, o := range res.Delivered() {
		out = append(out, o.Port)
	}
	return out
}

func stageLine(s result.Stage) string {
	var b strings.Builder
	if s.Host != "" {
		b.WriteString(s.Host + " ")
	}
	b.WriteString(s.Component)
	if s.Port != "" {
		b.WriteString(" " + s.Port)
	}
	b.WriteString(": " + s.Action)
	if s.VFPLayer != "" {
		fmt.Fprintf(&b, " (VFP %s/%s/%s)", s.VFPLayer, s.VFPGroup, s.VFPRule)
	}
	if s.Reason != "" {
		b.WriteString(" reason " + s.Reason)
	}
	if s.Detail != "" {
		b.WriteString(" - " + s.Detail)
	}
	return b.String()
}

// snap decodes a frame's header fields (a raw IP packet from its IP header).
func snap(b []byte, rawIP bool) trace.Snapshot {
	var p packet.Parsed
	if rawIP {
		p.DecodeIP(b, false)
	} else {
		p.Decode(b)
	}
	return trace.Snap(&p, 4789)
}

// summary is a packet in one line: "udp 10.0.0.4:40000 > 198.18.0.10:53".
func summary(a *pktmon.Appearance) string {
	if len(a.Frame) == 0 {
		return ""
	}
	s := snap(a.Frame, a.RawIP)
	if !s.Src.IsValid() {
		return fmt.Sprintf("%d bytes, not IP", len(a.Frame))
	}
	if s.Proto == header.ProtoTCP || s.Proto == header.ProtoUDP {
		return fmt.Sprintf("%s %s > %s", result.ProtoName(s.Proto), netip.AddrPortFrom(s.Src, s.SrcPort), netip.AddrPortFrom(s.Dst, s.DstPort))
	}
	return fmt.Sprintf("%s %s > %s", result.ProtoName(s.Proto), s.Src, s.Dst)
}

// fieldDiffs compares the headers of the real frame at a port with the
// model's, field by field: only the fields the real frame knows
// (pktmon's one-line decode gives no TTL; raw IP no MACs).
func fieldDiffs(a *pktmon.Appearance, model []byte) []cmp.FieldDiff {
	r, m := snap(a.Frame, a.RawIP), snap(model, false)
	known := a.Known
	if !a.Synthesized {
		known = pktmon.FieldAll
	}
	if a.RawIP {
		known &^= pktmon.FieldMACs
	}
	var out []cmp.FieldDiff
	add := func(field string, rv, mv any) {
		rs, ms := fmt.Sprint(rv), fmt.Sprint(mv)
		if rs != ms {
			out = append(out, cmp.FieldDiff{Field: field, Real: rs, Model: ms})
		}
	}
	if known&pktmon.FieldMACs != 0 {
		add("src_mac", r.SrcMAC, m.SrcMAC)
		add("dst_mac", r.DstMAC, m.DstMAC)
	}
	if known&pktmon.FieldIPs != 0 {
		add("src", r.Src, m.Src)
		add("dst", r.Dst, m.Dst)
		add("proto", result.ProtoName(r.Proto), result.ProtoName(m.Proto))
	}
	if known&pktmon.FieldPorts != 0 && (r.Proto == header.ProtoTCP || r.Proto == header.ProtoUDP) {
		add("sport", strconv.Itoa(int(r.SrcPort)), strconv.Itoa(int(m.SrcPort)))
		add("dport", strconv.Itoa(int(r.DstPort)), strconv.Itoa(int(m.DstPort)))
	}
	if known&pktmon.FieldTTL != 0 {
		add("ttl", r.TTL, m.TTL)
		add("encap", r.Encap, m.Encap)
		if r.Encap && m.Encap {
			add("vni", r.VNI, m.VNI)
			add("inner_src", r.InnerSrc, m.InnerSrc)
			add("inner_dst", r.InnerDst, m.InnerDst)
		}
	}
	return out
}
