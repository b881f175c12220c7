// Package comparison holds the result of comparing a real Windows node's
// capture with the emulator (package evidence computes it): per packet
// group, the real host's appearances lined up with the emulator's stages,
// and where they part. It imports only the standard library, so that
// reports can render it without the datapath.
package comparison

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Schema names the JSON layout. Fields are only added within v1.
const Schema = "hnspath-evidence/v1"

// Verdicts of a packet group.
const (
	Agree       = "agree"        // the model did what the real host did, as far as the capture shows
	Part        = "part"         // they part: see Partings
	NotReplayed = "not-replayed" // the group's first appearance maps to no port
)

// Kinds of parting.
const (
	// DroppedThereDeliveredHere: the real host dropped the packet, the
	// model delivered or forwarded it.
	DroppedThereDeliveredHere = "dropped-there-delivered-here"
	// DeliveredThereDroppedHere: the real host passed the packet on, the
	// model dropped it.
	DeliveredThereDroppedHere = "delivered-there-dropped-here"
	// DropReason: both dropped it, for different reasons.
	DropReason = "drop-reason"
	// Path: the real host saw the packet at a port the model never reached.
	Path = "path"
	// Rewrite: at a port both reached, header fields differ.
	Rewrite = "rewrite"
)

// Report is a whole comparison.
type Report struct {
	Schema   string   `json:"schema"`
	Topology string   `json:"topology"`
	Captures []string `json:"captures"`
	// PortMap says how capture locations were mapped to ports.
	PortMap []string `json:"port_map,omitempty"`
	Groups  int      `json:"groups"`
	Agreed  int      `json:"agreed"`
	Parted  int      `json:"parted"`
	// NotReplayed counts groups that could not be injected.
	NotReplayed int      `json:"not_replayed"`
	Results     []*Group `json:"results"`
}

// Failed reports whether the model and the real host part anywhere.
func (r *Report) Failed() bool { return r.Parted > 0 }

// Group is the comparison of one packet group.
type Group struct {
	// ID is the PktGroupId; Source the file:line (or packet number) of
	// its first appearance; Packet the 1-based injection number.
	ID      uint64 `json:"pkt_group_id"`
	Source  string `json:"source"`
	Packet  int    `json:"packet,omitempty"`
	In      string `json:"in,omitempty"`
	Summary string `json:"summary,omitempty"` // the packet in one line
	Verdict string `json:"verdict"`
	Real    Side   `json:"real"`
	Model   Side   `json:"model"`
	// Steps are the real host's appearances, each with the port it maps
	// to and whether the model reached that port.
	Steps    []Step    `json:"steps,omitempty"`
	Partings []Parting `json:"partings,omitempty"`
	Notes    []string  `json:"notes,omitempty"`
}

// Side is what one side did with the packet.
type Side struct {
	// Outcome is delivered (passed on: no drop), dropped, or consumed
	// (model: nothing delivered and nothing dropped).
	Outcome string `json:"outcome"`
	// Ports are the ports it reached (beyond the injection port).
	Ports []string `json:"ports,omitempty"`
	Drop  *Drop    `json:"drop,omitempty"`
	// Stages are the model's trace, one line each (model side only).
	Stages []string `json:"stages,omitempty"`
}

// Drop is where and why one side dropped the packet, in both
// vocabularies: pktmon's DropReason (number and text) and the emulator's
// reason slug.
type Drop struct {
	Where string `json:"where"`          // "component 19 (vmswitch.sys)" or the model's component and port
	Port  string `json:"port,omitempty"` // the topology port it maps to
	// Code is the pktmon DropReason number (-1: none), Text pktmon's or
	// Windows' wording, Slug the emulator's reason ("" when it has none).
	Code int    `json:"pktmon_code"`
	Text string `json:"text,omitempty"`
	Slug string `json:"slug,omitempty"`
}

// String formats a drop reason in both vocabularies.
func (d *Drop) String() string {
	var parts []string
	if d.Code >= 0 {
		parts = append(parts, fmt.Sprintf("DropReason %d", d.Code))
	}
	if d.Text != "" {
		parts = append(parts, fmt.Sprintf("%q", d.Text))
	}
	if d.Slug != "" {
		parts = append(parts, "= "+d.Slug)
	} else {
		parts = append(parts, "(no emulator reason)")
	}
	return strings.Join(parts, " ")
}

// Step is one real appearance.
type Step struct {
	Appearance int    `json:"appearance"`
	Where      string `json:"where"`
	Port       string `json:"port,omitempty"`
	Direction  string `json:"direction,omitempty"`
	Edge       int    `json:"edge"`
	Drop       string `json:"drop,omitempty"`
	// Model says whether the model reached Port: "reached at stage N,
	// <the stage>", "reached" (an output there, no stage), "not reached",
	// or "" (unmapped or the injection).
	Model string `json:"model,omitempty"`
}

// Parting is one place where the model and the real host part.
type Parting struct {
	Kind  string `json:"kind"`
	Where string `json:"where"`
	Text  string `json:"text"`
	// Real and Model are each side's drop (nil: that side did not drop it).
	Real   *Drop       `json:"real_drop,omitempty"`
	Model  *Drop       `json:"model_drop,omitempty"`
	Fields []FieldDiff `json:"fields,omitempty"`
}

// FieldDiff is one header field that differs.
type FieldDiff struct {
	Field string `json:"field"`
	Real  string `json:"real"`
	Model string `json:"model"`
}

// WriteJSON writes r as indented JSON.
func WriteJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(r)
}

// ReadJSON reads a report written by WriteJSON.
func ReadJSON(data []byte, name string) (*Report, error) {
	var r Report
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if r.Schema != Schema {
		return nil, fmt.Errorf("%s: schema %q, want %q", name, r.Schema, Schema)
	}
	return &r, nil
}

// Headline is the report in one line.
func (r *Report) Headline() string {
	s := fmt.Sprintf("%d packet groups: %d agree, %d part", r.Groups, r.Agreed, r.Parted)
	if r.NotReplayed > 0 {
		s += fmt.Sprintf(", %d not replayed", r.NotReplayed)
	}
	return s
}

// WriteText writes r for people: the headline, every group that parts
// (and, with all, every group) with its steps, and the port map.
func WriteText(w io.Writer, r *Report, all bool) error {
	var b strings.Builder
	fmt.Fprintf(&b, "evidence: %s against %s\n", strings.Join(r.Captures, ", "), r.Topology)
	fmt.Fprintf(&b, "%s\n", r.Headline())
	for _, g := range r.Results {
		if g.Verdict == Agree && !all {
			continue
		}
		b.WriteString("\n")
		writeGroup(&b, g)
	}
	if len(r.PortMap) > 0 {
		b.WriteString("\nport map:\n")
		for _, l := range r.PortMap {
			fmt.Fprintf(&b, "  %s\n", l)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// GroupText is one group as WriteText shows it.
func GroupText(g *Group) string {
	var b strings.Builder
	writeGroup(&b, g)
	return b.String()
}

func writeGroup(b *strings.Builder, g *Group) {
	fmt.Fprintf(b, "PktGroupId %d (%s)", g.ID, g.Source)
	if g.Packet > 0 {
		fmt.Fprintf(b, ", packet %d in at %s", g.Packet, g.In)
	}
	fmt.Fprintf(b, ": %s\n", strings.ToUpper(g.Verdict))
	if g.Summary != "" {
		fmt.Fprintf(b, "  %s\n", g.Summary)
	}
	for _, p := range g.Partings {
		fmt.Fprintf(b, "  PARTS (%s) at %s: %s\n", p.Kind, p.Where, p.Text)
		switch {
		case p.Real != nil:
			fmt.Fprintf(b, "    real:  %s at %s\n", p.Real, p.Real.Where)
		case p.Model != nil:
			b.WriteString("    real:  not dropped\n")
		}
		switch {
		case p.Model != nil:
			fmt.Fprintf(b, "    model: %s at %s\n", p.Model, p.Model.Where)
		case p.Real != nil:
			fmt.Fprintf(b, "    model: not dropped (%s)\n", g.Model.Outcome)
		}
		for _, f := range p.Fields {
			fmt.Fprintf(b, "    %-9s real %s, model %s\n", f.Field, f.Real, f.Model)
		}
	}
	if len(g.Steps) > 0 {
		b.WriteString("  real host:\n")
		for _, s := range g.Steps {
			port := s.Port
			if port == "" {
				port = "(no port)"
			}
			fmt.Fprintf(b, "    #%d %s %s edge %d -> %s", s.Appearance, s.Where, s.Direction, s.Edge, port)
			if s.Drop != "" {
				fmt.Fprintf(b, " DROP %s", s.Drop)
			}
			if s.Model != "" {
				fmt.Fprintf(b, " [model: %s]", s.Model)
			}
			b.WriteString("\n")
		}
	}
	if len(g.Model.Stages) > 0 {
		fmt.Fprintf(b, "  model (%s):\n", g.Model.Outcome)
		for _, s := range g.Model.Stages {
			fmt.Fprintf(b, "    %s\n", s)
		}
	}
	for _, n := range g.Notes {
		fmt.Fprintf(b, "  note: %s\n", n)
	}
}
