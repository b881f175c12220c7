// Package result is the results contract of docs/design.md §2: for every input
// packet of a scenario, where it went (ports, with the bytes) or where and
// why it was dropped, and the trace of the stages it passed.
//
// The emulator, every hostprobe backend (Linux kernel, Windows HNS) and
// `hnspath diff` and `hnspath report` share these types. Results are written
// as JSON Lines, one Packet per line. The package imports nothing of the
// emulator, so reports can read results without the datapath.
package result

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Hex is a byte string that marshals as lowercase hex.
type Hex []byte

// MarshalJSON writes h as a hex string.
func (h Hex) MarshalJSON() ([]byte, error) { return json.Marshal(hex.EncodeToString(h)) }

// UnmarshalJSON reads a hex string (spaces allowed).
func (h *Hex) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	s = strings.Join(strings.Fields(s), "")
	if s == "" {
		*h = nil
		return nil
	}
	d, err := hex.DecodeString(s)
	if err != nil {
		return fmt.Errorf("hex frame: %w", err)
	}
	*h = d
	return nil
}

// Outcomes of an input packet.
const (
	OutcomeDelivered = "delivered" // at least one frame reached an endpoint, the host, a peer or the router
	OutcomeDropped   = "dropped"   // nothing was delivered and something was dropped
	OutcomeConsumed  = "consumed"  // nothing delivered, nothing dropped (e.g. observed only)
)

// Output kinds.
const (
	KindDelivered = "delivered" // reached an end point
	KindWireTx    = "wire-tx"   // seen leaving a host NIC
	KindWireRx    = "wire-rx"   // seen arriving at a host NIC
)

// Backends.
const (
	BackendEmulator = "emulator"
	BackendLinux    = "linux"
	BackendWindows  = "windows"
)

// Packet is the result of one input packet.
type Packet struct {
	Scenario string   `json:"scenario"`
	Backend  string   `json:"backend,omitempty"`
	Index    int      `json:"packet"` // 1-based, in input order
	In       string   `json:"in"`     // injection port
	TimeNS   int64    `json:"time_ns"`
	Frame    Hex      `json:"frame"`
	Outcome  string   `json:"outcome"`
	Outputs  []Output `json:"outputs,omitempty"`
	Drops    []Drop   `json:"drops,omitempty"`
	Trace    []Stage  `json:"trace,omitempty"`
}

// Output is a frame that came out at a port.
type Output struct {
	Port  string `json:"port"`
	Kind  string `json:"kind"`
	Frame Hex    `json:"frame"`
}

// Drop is a frame dropped on the way.
type Drop struct {
	Port      string `json:"port,omitempty"` // nearest port
	Host      string `json:"host,omitempty"`
	Component string `json:"component"`
	Where     string `json:"where,omitempty"` // component's port or interface
	Reason    string `json:"reason"`          // slug, e.g. winnat-no-mapping
	Text      string `json:"text,omitempty"`  // Windows' wording
	Layer     string `json:"layer,omitempty"` // the vocabulary: pktmon, vfp, winnat, tcpip, hns, hnspath
	Code      int    `json:"code,omitempty"`  // the layer's numeric code, when it has one
	VFPLayer  string `json:"vfp_layer,omitempty"`
	VFPGroup  string `json:"vfp_group,omitempty"`
	VFPRule   string `json:"vfp_rule,omitempty"`
	Frame     Hex    `json:"frame,omitempty"`
}

// Stage is one step of a trace.
type Stage struct {
	Host      string   `json:"host,omitempty"`
	Component string   `json:"component"`
	Port      string   `json:"port,omitempty"`
	Action    string   `json:"action"`
	Detail    string   `json:"detail,omitempty"`
	VFPLayer  string   `json:"vfp_layer,omitempty"`
	VFPGroup  string   `json:"vfp_group,omitempty"`
	VFPRule   string   `json:"vfp_rule,omitempty"`
	Reason    string   `json:"reason,omitempty"`
	Before    *Headers `json:"before,omitempty"`
	After     *Headers `json:"after,omitempty"`
}

// Headers are the header fields a trace shows.
type Headers struct {
	Len      int    `json:"len,omitempty"`
	SrcMAC   string `json:"src_mac,omitempty"`
	DstMAC   string `json:"dst_mac,omitempty"`
	VLAN     int    `json:"vlan,omitempty"`
	Src      string `json:"src,omitempty"`
	Dst      string `json:"dst,omitempty"`
	Proto    string `json:"proto,omitempty"`
	SrcPort  int    `json:"sport,omitempty"`
	DstPort  int    `json:"dport,omitempty"`
	TTL      int    `json:"ttl,omitempty"`
	TCPFlags string `json:"tcp_flags,omitempty"`
	VNI      int    `json:"vni,omitempty"`
	InnerSrc string `json:"inner_src,omitempty"`
	InnerDst string `json:"inner_dst,omitempty"`
}

// ProtoName is how Headers.Proto names IP protocol p: tcp, udp, icmp,
// icmpv6, else the number.
func ProtoName(p uint8) string {
	switch p {
	case 6:
		return "tcp"
	case 17:
		return "udp"
	case 1:
		return "icmp"
	case 58:
		return "icmpv6"
	}
	return fmt.Sprint(p)
}

// Format and Version name the results format. A results file starts with the header
// line {"format":"hnspath-results","version":1}; Reader checks it, so a file written
// by another version of the format fails with an error that says so instead of being
// misread. Version changes when a field changes meaning or a reader of the previous
// version would misread the file (not for a new optional field).
const (
	Format  = "hnspath-results"
	Version = 1
)

// Header is the first line of a results file.
type Header struct {
	Format  string `json:"format"`
	Version int    `json:"version"`
}

// Outcomes lists the valid values of Packet.Outcome.
var Outcomes = []string{OutcomeDelivered, OutcomeDropped, OutcomeConsumed}

// ValidOutcome reports whether s is one of Outcomes.
func ValidOutcome(s string) bool {
	for _, o := range Outcomes {
		if s == o {
			return true
		}
	}
	return false
}

// Writer writes Packets as JSON Lines, after the Header line.
type Writer struct {
	w      *bufio.Writer
	enc    *json.Encoder
	header bool // written
}

// NewWriter returns a Writer on w. Call Flush when done.
func NewWriter(w io.Writer) *Writer {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	return &Writer{w: bw, enc: enc}
}

// Write writes one packet result (the header first, on the first call).
func (w *Writer) Write(p *Packet) error {
	if err := w.writeHeader(); err != nil {
		return err
	}
	return w.enc.Encode(p)
}

// Flush flushes buffered lines; a file with no packet still gets its header.
func (w *Writer) Flush() error {
	if err := w.writeHeader(); err != nil {
		return err
	}
	return w.w.Flush()
}

func (w *Writer) writeHeader() error {
	if w.header {
		return nil
	}
	w.header = true
	return w.enc.Encode(Header{Format: Format, Version: Version})
}

// parseHeader reports whether line is a header line (a JSON object with "format"),
// and checks it.
func parseHeader(b []byte) (bool, error) {
	var probe map[string]json.RawMessage
	if json.Unmarshal(b, &probe) != nil {
		return false, nil // not an object: the packet decoder says why
	}
	if _, ok := probe["format"]; !ok {
		return false, nil
	}
	var h Header
	if err := json.Unmarshal(b, &h); err != nil {
		return true, fmt.Errorf("header: %w", err)
	}
	if h.Format != Format {
		return true, fmt.Errorf("header: format %q, want %q", h.Format, Format)
	}
	if h.Version != Version {
		return true, fmt.Errorf("header: results format version %d, this hnspath reads version %d (re-run the scenarios with this version, or use the hnspath that wrote the file)", h.Version, Version)
	}
	return true, nil
}

// Reader reads Packets from JSON Lines, one at a time (streaming).
type Reader struct {
	name string
	sc   *bufio.Scanner
	line int
	seen bool // a header or a record was read
}

// NewReader returns a Reader; name is used in error messages.
func NewReader(r io.Reader, name string) *Reader {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 64<<20)
	return &Reader{name: name, sc: sc}
}

// Next returns the next packet, or io.EOF. Errors name the file and line.
//
// The first line may be the Header; its format and version must be ours. Files without
// a header, written before the format had a version, are read as version 1. Outcome
// must be one of Outcomes.
func (r *Reader) Next() (*Packet, error) {
	for r.sc.Scan() {
		r.line++
		b := r.sc.Bytes()
		if len(strings.TrimSpace(string(b))) == 0 {
			continue
		}
		if bytes.Contains(b, []byte(`"format"`)) {
			isHeader, err := parseHeader(b)
			if err != nil {
				return nil, fmt.Errorf("%s:%d: %w", r.name, r.line, err)
			}
			if isHeader {
				if r.seen {
					return nil, fmt.Errorf("%s:%d: header: a results header after the first record (two files joined?)", r.name, r.line)
				}
				r.seen = true
				continue
			}
		}
		r.seen = true
		var p Packet
		if err := json.Unmarshal(b, &p); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", r.name, r.line, err)
		}
		if p.Index <= 0 {
			return nil, fmt.Errorf("%s:%d: packet: want a positive packet index, got %d", r.name, r.line, p.Index)
		}
		if !ValidOutcome(p.Outcome) {
			return nil, fmt.Errorf("%s:%d: outcome: %q is not one of %s", r.name, r.line, p.Outcome, strings.Join(Outcomes, ", "))
		}
		return &p, nil
	}
	if err := r.sc.Err(); err != nil {
		return nil, fmt.Errorf("%s:%d: %w", r.name, r.line+1, err)
	}
	return nil, io.EOF
}

// ReadAll reads every packet.
func ReadAll(r io.Reader, name string) ([]*Packet, error) {
	rd := NewReader(r, name)
	var out []*Packet
	for {
		p, err := rd.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, p)
	}
}

// Delivered returns the outputs of kind delivered.
func (p *Packet) Delivered() []Output {
	var out []Output
	for _, o := range p.Outputs {
		if o.Kind == KindDelivered {
			out = append(out, o)
		}
	}
	return out
}
