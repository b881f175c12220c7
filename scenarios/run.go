package scenarios

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hnspath/hnspath/emulator/fabric"
	"github.com/hnspath/hnspath/emulator/header"
	"github.com/hnspath/hnspath/internal/atomicfile"
	"github.com/hnspath/hnspath/pcapio"
	"github.com/hnspath/hnspath/result"
	"github.com/hnspath/hnspath/spec"
)

// Options configure Run.
type Options struct {
	// OutDir, when set, receives NAME.results.jsonl (one result.Packet per
	// input packet) and NAME.pcapng (one interface per port; inputs,
	// outputs and drops, each with a comment).
	OutDir string
	// NoTrace turns tracing off: faster on long captures, but results and
	// failures then have no trace.
	NoTrace bool
	// Progress, when set, is called with the number of packets injected so
	// far, every 4096 packets.
	Progress func(packets int)
	// Results, when set, receives every result as it is produced (after it
	// was written to OutDir).
	Results func(*result.Packet)
	// Context, when set, stops the run once it is cancelled (checked every 256
	// packets): the report's Err wraps the context's error and no output file is
	// kept.
	Context context.Context
}

// Report is the outcome of one scenario run.
type Report struct {
	Name    string
	File    string
	Summary string
	// Passed reports whether every expectation was met.
	Passed bool
	// Packets is the number of input packets injected.
	Packets  int
	Duration time.Duration
	// Failures are the unmet expectations, each a multi-line message with
	// the expected and actual packet side by side and the packet's trace.
	Failures []string
	// Err is set when the scenario could not run (a packet that does not
	// build, an unreadable capture, an output file that cannot be written), or,
	// with LoadError, could not be loaded.
	Err error
	// LoadError marks the report of a scenario file that did not load
	// (LoadErrorReports): nothing ran, File names the file.
	LoadError bool
	// Rejection is, for an expect_error scenario, the error that matched.
	Rejection string
	// ResultsFile and PcapngFile are the output files (with OutDir).
	ResultsFile, PcapngFile string
	// Steps are the HNS changes (`do:` entries) the run made, in order.
	// They are not packets, so the results stream does not hold them; the
	// pcapng has each in the comment of the next input packet.
	Steps []StepRecord
}

// Failed reports whether the scenario failed (an unmet expectation or an
// error).
func (r *Report) Failed() bool { return !r.Passed }

// runner runs one scenario.
type runner struct {
	sc    *Scenario
	opts  Options
	f     *fabric.Fabric
	res   *resolver
	ev    *evaluator
	out   fabric.Outcome
	arpO  fabric.Outcome
	arps  map[arpKey]net.HardwareAddr
	now   int64
	index int
	// stopAt ends the run after this packet (Trace); 0: run all.
	stopAt int
	// steps are the steps run so far; pending the ones the next input
	// packet's pcapng comment mentions.
	steps   []StepRecord
	pending []string
	jw      *result.Writer
	pw      *pcapio.NgWriter
	files   []*atomicfile.File // outputs under temporary names until closeOutputs commits them
}

type arpKey struct {
	port fabric.PortID
	ip   netip.Addr
}

// portDescriptions describe the pcapng interfaces by port kind.
var portDescriptions = map[fabric.PortKind]string{
	fabric.PortEndpoint: "container vNIC (HNS endpoint)",
	fabric.PortHostOS:   "management OS",
	fabric.PortNIC:      "physical NIC, wire side",
	fabric.PortPeer:     "outside peer on the underlay",
	fabric.PortRouter:   "underlay router",
}

// Run runs a scenario: it builds the fabric (tracing and wire observation
// on), injects the packets in order at their virtual times, writes the
// results as it goes, and checks the expectations.
func Run(sc *Scenario, opts Options) *Report {
	start := time.Now()
	rep := &Report{Name: sc.Name, File: sc.File, Summary: sc.Summary}
	defer func() { rep.Duration = time.Since(start) }()
	if sc.ExpectError != nil {
		runExpectError(sc, rep)
		return rep
	}
	topo := sc.Topology
	if sc.hasSteps() {
		var err error
		if topo, err = topo.forSteps(); err != nil {
			rep.Err = err
			return rep
		}
	}
	f, err := topo.Build(fabric.Options{Trace: !opts.NoTrace, ObserveWire: true})
	if err != nil {
		rep.Err = err
		return rep
	}
	r := &runner{sc: sc, opts: opts, f: f, arps: map[arpKey]net.HardwareAddr{}}
	r.res = newResolver(f, sc.Topology, r.arp)
	r.ev = newEvaluator(sc, r.res)
	if err := r.openOutputs(rep); err != nil {
		rep.Err = err
		return rep
	}
	err = r.inputs()
	if cerr := r.closeOutputs(err == nil); err == nil {
		err = cerr
	}
	if err != nil {
		// No output of a run that did not finish may look finished.
		rep.ResultsFile, rep.PcapngFile = "", ""
	}
	rep.Packets = r.index
	rep.Steps = r.steps
	if err != nil {
		rep.Err = err
		return rep
	}
	rep.Failures = r.ev.finish()
	rep.Passed = len(rep.Failures) == 0
	return rep
}

func (r *runner) openOutputs(rep *Report) error {
	if r.opts.OutDir == "" {
		return nil
	}
	if err := os.MkdirAll(r.opts.OutDir, 0o755); err != nil {
		return err
	}
	rep.ResultsFile = filepath.Join(r.opts.OutDir, r.sc.Name+".results.jsonl")
	rep.PcapngFile = filepath.Join(r.opts.OutDir, r.sc.Name+".pcapng")
	jf, err := atomicfile.Create(rep.ResultsFile)
	if err != nil {
		return err
	}
	r.files = append(r.files, jf)
	r.jw = result.NewWriter(jf)
	pf, err := atomicfile.Create(rep.PcapngFile)
	if err != nil {
		r.closeOutputs(false)
		return err
	}
	r.files = append(r.files, pf)
	desc := map[string]string{}
	for _, p := range r.f.Ports() {
		desc[p.Name] = portDescriptions[p.Kind]
	}
	r.pw, err = pcapio.NewNgWriter(pf, pcapio.NgOptions{Application: "hnspath", Comment: r.sc.Name + ": " + r.sc.Summary, Descriptions: desc})
	return err
}

// closeOutputs flushes the outputs and, with commit and no error, renames them into
// place; otherwise it removes them (the files are written under temporary names,
// internal/atomicfile, so a run that fails or is killed half-way leaves no results
// that look complete).
func (r *runner) closeOutputs(commit bool) error {
	var errs []error
	if r.jw != nil {
		errs = append(errs, r.jw.Flush())
	}
	if r.pw != nil {
		errs = append(errs, r.pw.Flush())
	}
	commit = commit && errors.Join(errs...) == nil
	for _, f := range r.files {
		if commit {
			errs = append(errs, f.Commit())
		} else {
			f.Abort()
		}
	}
	r.files = nil
	return errors.Join(errs...)
}

// inputs injects every packet entry in order.
func (r *runner) inputs() error {
	for _, p := range r.sc.Packets {
		base := r.now
		switch {
		case p.HasTime && p.Relative:
			base = r.now + p.Time
		case p.HasTime:
			base = p.Time
		case r.index > 0:
			base = r.now + int64(time.Microsecond)
		}
		base = max(base, r.now)
		interval := p.Interval
		if interval == 0 {
			interval = int64(time.Microsecond)
		}
		var err error
		switch {
		case p.Do != nil:
			err = r.step(p, base)
		case p.Pcap != "":
			err = r.pcap(p, base, interval)
		default:
			err = r.inline(p, base, interval)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// step makes the HNS change of a `do:` entry. A step with a time sets the
// clock; one without happens right after the previous packet (and does
// not move the clock).
func (r *runner) step(p *PacketInput, base int64) error {
	if p.HasTime {
		r.now = base
	}
	if err := p.Do.Apply(r.f); err != nil {
		return r.entryError(p, ".do", err)
	}
	rec := StepRecord{Field: p.Field, Line: p.Line, What: p.Do.String(), TimeNS: r.now, After: r.index}
	r.steps = append(r.steps, rec)
	r.ev.steps = r.steps
	what := "after " + rec.What
	if p.Note != "" {
		what += " (" + p.Note + ")"
	}
	r.pending = append(r.pending, what)
	return nil
}

func (r *runner) entryError(p *PacketInput, field string, err error) error {
	e := &InputError{File: r.sc.File, Line: p.Line, Field: p.Field + field, Err: err}
	if n := p.frameNode; n != nil && field == ".frame" {
		e.Line, e.Col = n.Line, n.Col
	}
	return e
}

func (r *runner) inline(p *PacketInput, base, interval int64) error {
	from, ok := r.f.PortByName(p.At)
	if !ok {
		return r.entryError(p, ".at", fmt.Errorf("unknown port %q", p.At))
	}
	t := base
	for rep := 0; rep < max(p.Repeat, 1); rep++ {
		r.now = t
		pr := r.res.from(from)
		rs, err := p.Frame.Resolve(pr)
		if err != nil {
			return r.entryError(p, ".frame", err)
		}
		dst := r.defaultDst(from, rs)
		frames, err := spec.Build(rs, pr, spec.BuildOptions{From: p.At, DstMAC: dst, Bindings: r.ev.bindings})
		if err != nil {
			return r.entryError(p, ".frame", r.ev.unbound(rs, err))
		}
		for i, fr := range frames {
			if i > 0 {
				t += interval
			}
			if err := r.inject(from, fr, t, p.Note); err != nil {
				return err
			}
		}
		t += interval
	}
	return nil
}

func (r *runner) pcap(p *PacketInput, base, interval int64) error {
	for rep := 0; rep < max(p.Repeat, 1); rep++ {
		rc, err := r.sc.files.Open(p.Pcap)
		if err != nil {
			return r.entryError(p, ".pcap", err)
		}
		rd, err := pcapio.NewReader(rc, p.Pcap, p.At)
		if err != nil {
			rc.Close()
			return r.entryError(p, ".pcap", err)
		}
		var first time.Time
		n := 0
		for {
			pkt, err := rd.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				rc.Close()
				return r.entryError(p, ".pcap", err)
			}
			if n == 0 {
				first = pkt.Time
			}
			n++
			if pkt.Port == "" {
				rc.Close()
				return r.entryError(p, ".pcap", fmt.Errorf("packet %d has no port: give port: PORT for a pcap file", pkt.Index))
			}
			from, ok := r.f.PortByName(pkt.Port)
			if !ok {
				rc.Close()
				return r.entryError(p, ".pcap", fmt.Errorf("packet %d: unknown port %q (ports: %s)", pkt.Index, pkt.Port, portNames(r.f)))
			}
			t := max(base+int64(pkt.Time.Sub(first)), r.now)
			if err := r.inject(from, pkt.Data, t, p.Note); err != nil {
				rc.Close()
				return err
			}
		}
		rc.Close()
		base = r.now + interval
	}
	return nil
}

// inject runs one input packet and records its result.
func (r *runner) inject(from fabric.PortID, frame []byte, t int64, note string) error {
	r.now = t
	r.index++
	r.f.Inject(from, frame, t, &r.out)
	res := toResult(r.f, r.sc.Name, r.index, from, t, frame, &r.out, !r.opts.NoTrace)
	if len(r.pending) > 0 {
		note = strings.Join(append(r.pending, note), "; ")
		note = strings.TrimSuffix(note, "; ")
		r.pending = r.pending[:0]
	}
	if err := r.write(res, note); err != nil {
		return err
	}
	r.ev.observe(res)
	if r.opts.Results != nil {
		r.opts.Results(res)
	}
	if r.opts.Progress != nil && r.index%4096 == 0 {
		r.opts.Progress(r.index)
	}
	if r.opts.Context != nil && r.index%256 == 0 {
		if err := r.opts.Context.Err(); err != nil {
			return fmt.Errorf("stopped after packet %d: %w", r.index, err)
		}
	}
	if r.stopAt > 0 && r.index >= r.stopAt {
		return errStop
	}
	return nil
}

func (r *runner) write(p *result.Packet, note string) error {
	if r.jw == nil {
		return nil
	}
	if err := r.jw.Write(p); err != nil {
		return err
	}
	return writePcapng(r.pw, p, note)
}

// writePcapng writes one result into a pcapng: the input on its port, the
// outputs on theirs, the drops on the nearest port with a comment and the
// drop verdict.
func writePcapng(w *pcapio.NgWriter, p *result.Packet, note string) error {
	ts := time.Unix(0, p.TimeNS)
	c := fmt.Sprintf("packet %d: in", p.Index)
	if note != "" {
		c += ": " + note
	}
	if err := w.Write(pcapio.Packet{Port: p.In, Time: ts, Data: p.Frame, Comment: c}); err != nil {
		return err
	}
	for _, o := range p.Outputs {
		if err := w.Write(pcapio.Packet{Port: o.Port, Time: ts, Data: o.Frame, Comment: fmt.Sprintf("packet %d: %s", p.Index, o.Kind)}); err != nil {
			return err
		}
	}
	for i := range p.Drops {
		d := &p.Drops[i]
		port := d.Port
		if port == "" {
			port = p.In
		}
		if len(d.Frame) == 0 {
			continue
		}
		if err := w.Write(pcapio.Packet{Port: port, Time: ts, Data: d.Frame, Comment: fmt.Sprintf("%s; packet %d", DropComment(d), p.Index),
			Verdict: &pcapio.DropVerdict}); err != nil {
			return err
		}
	}
	return nil
}

// defaultDst returns the Ethernet destination for a frame injected at
// port from when its spec gives none: the MAC of the next hop towards the
// IP destination (the destination itself on-link, else the port's
// gateway), learnt by ARP through the fabric as the sender would; for a
// NIC (a frame arriving from the wire) or the management OS, the NIC's
// own MAC.
func (r *runner) defaultDst(from fabric.PortID, s *spec.Spec) net.HardwareAddr {
	p := r.f.Port(from)
	switch p.Kind {
	case fabric.PortNIC, fabric.PortHostOS:
		m := r.f.Port(r.res.stand(from)).MAC
		return net.HardwareAddr(m[:])
	case fabric.PortRouter:
		return nil
	}
	if len(s.Layers) > 0 && s.Layers[0].Name == "ether" {
		if _, ok := s.Layers[0].Get("dst"); ok {
			return nil
		}
	}
	for _, l := range s.Layers {
		switch l.Name {
		case "arp":
			return nil
		case "ipv4", "ipv6":
			v, ok := l.Get("dst")
			if !ok {
				return nil
			}
			if v.Kind == spec.KindBinding {
				v, ok = r.ev.bindings.Lookup(v.Name)
				if !ok {
					return nil
				}
			}
			if v.Kind != spec.KindAddr || v.Addr.IsMulticast() || v.Addr == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
				return nil
			}
			m, _ := r.arp(from, r.res.nextHop(from, v.Addr))
			return m
		}
	}
	return nil
}

// arp returns the MAC of ip as seen from port from: it sends an ARP
// request into the fabric from that port (as a real container or peer
// would; the exchange is not a scenario packet and is not recorded) and
// takes the reply delivered back to the port; failing that (IPv6, or no
// one answers), the MAC of the port that has the address.
func (r *runner) arp(from fabric.PortID, ip netip.Addr) (net.HardwareAddr, bool) {
	k := arpKey{from, ip}
	if m, ok := r.arps[k]; ok {
		return m, m != nil
	}
	var found net.HardwareAddr
	p := r.f.Port(from)
	if src, ok := firstAddr(p.IPs, false); ok && ip.Is4() {
		req := header.ARPRequestFrame(p.MAC, src, ip)
		r.f.Inject(from, req, r.now, &r.arpO)
		for _, o := range r.arpO.Outputs {
			if o.Port != from || o.Kind != fabric.Delivered {
				continue
			}
			if m, ok := header.ARPReplySender(o.Frame, ip); ok {
				found = net.HardwareAddr(m[:])
				break
			}
		}
	}
	if found == nil {
		found, _ = r.res.owner(ip)
	}
	r.arps[k] = found
	return found, found != nil
}

// runExpectError checks that the topology is rejected as expected.
func runExpectError(sc *Scenario, rep *Report) {
	ee := sc.ExpectError
	_, errs, _ := sc.Topology.build(fabric.Options{})
	where := fmt.Sprintf("%s:%d", sc.File, ee.Line)
	if len(errs) == 0 {
		rep.Failures = append(rep.Failures, fmt.Sprintf("expect_error (%s): the topology was accepted, want it rejected with %s", where, ee))
		return
	}
	for _, e := range errs {
		if ee.matches(e) {
			rep.Passed = true
			rep.Rejection = e.Error()
			return
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "expect_error (%s): the topology was rejected, but not with %s; the errors:\n", where, ee)
	for _, e := range errs {
		fmt.Fprintf(&b, "    %v\n", e)
	}
	rep.Failures = append(rep.Failures, b.String())
}

// String describes the expected error.
func (ee *ExpectError) String() string {
	var parts []string
	if ee.HasCode {
		parts = append(parts, ee.Code.String())
	}
	if ee.Message != "" {
		parts = append(parts, fmt.Sprintf("message %q", ee.Message))
	}
	if ee.Field != "" {
		parts = append(parts, fmt.Sprintf("field %q", ee.Field))
	}
	if ee.Object != "" {
		parts = append(parts, fmt.Sprintf("object %q", ee.Object))
	}
	return strings.Join(parts, ", ")
}

func (ee *ExpectError) matches(e *InputError) bool {
	var hp hnsProblem
	isHNS := errors.As(e.Err, &hp)
	if ee.HasCode && (!isHNS || hp.p.Code != ee.Code) {
		return false
	}
	if ee.Object != "" && (!isHNS || !strings.Contains(hp.p.Object, ee.Object)) {
		return false
	}
	if ee.Message != "" && !strings.Contains(e.Error(), ee.Message) {
		return false
	}
	if ee.Field != "" && !strings.Contains(e.Field, ee.Field) {
		return false
	}
	return true
}
