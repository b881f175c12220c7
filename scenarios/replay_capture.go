package scenarios

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"

	"github.com/hnspath/hnspath/emulator/fabric"
	"github.com/hnspath/hnspath/pcapio"
	"github.com/hnspath/hnspath/pktmon"
	"github.com/hnspath/hnspath/result"
)

// TopologyPorts lists a topology's ports with their MACs, for mapping a
// real capture's components and interfaces to them (pktmon.NewPortMap).
func TopologyPorts(t *Topology) ([]pktmon.Port, error) {
	f, err := t.Build(fabric.Options{})
	if err != nil {
		return nil, err
	}
	return fabricPorts(f), nil
}

func fabricPorts(f *fabric.Fabric) []pktmon.Port {
	var out []pktmon.Port
	for _, p := range f.Ports() {
		mac := ""
		if p.MAC != ([6]byte{}) {
			mac = net.HardwareAddr(p.MAC[:]).String()
		}
		out = append(out, pktmon.Port{Name: p.Name, MAC: mac, Kind: p.Kind.String()})
	}
	return out
}

// CaptureReplay is what ReplayCapture did.
type CaptureReplay struct {
	Summary *ReplaySummary
	Map     *pktmon.PortMap
	// Injected are the packet groups injected, in order: the result of
	// input packet i (1-based) is that of Injected[i-1].
	Injected []*pktmon.Group
	// Ports are the injection ports, by the same index.
	Ports []string
	// Unmapped are the groups whose first appearance maps to no port (not
	// injected), with why.
	Unmapped []Unmapped
	// Notes say where a group was injected elsewhere than at its first
	// appearance's port, and why; Origins is the same note (or "") by the
	// index of Injected.
	Notes   []string
	Origins []string
}

// Unmapped is a packet group that could not be injected.
type Unmapped struct {
	Group *pktmon.Group
	Why   string
}

// ReplayCapture replays a real pktmon capture (pktmon's or etl2pcapng's
// pcapng, or pktmon's text) through a topology. Each packet group
// (PktGroupId) is injected once, at its first appearance, at the port
// that appearance's component or interface maps to (pktmon.NewPortMap,
// with overrides NAME=PORT), or failing that at the port whose MAC is the
// frame's source MAC. Raw IP packets get an Ethernet header from the
// port's MAC to the next hop's (learnt by ARP in the topology).
func ReplayCapture(t *Topology, c *pktmon.Capture, overrides map[string]string, opts ReplayOptions) (*CaptureReplay, error) {
	f, err := t.Build(fabric.Options{Trace: opts.Trace, ObserveWire: opts.OutDir != ""})
	if err != nil {
		return nil, err
	}
	pm, err := pktmon.NewPortMap(c, fabricPorts(f), overrides)
	if err != nil {
		return nil, err
	}
	cr := &CaptureReplay{Map: pm}
	r := &runner{f: f, arps: map[arpKey]net.HardwareAddr{}}
	r.res = newResolver(f, t, r.arp)
	src := &groupSource{c: c, pm: pm, f: f, r: r, cr: cr}
	for _, g := range c.Groups() {
		src.groups = append(src.groups, g)
	}
	sum, err := replay(f, src, opts)
	if sum != nil {
		sum.Mapped = pm.Notes
		sum.Skipped = src.skipped
		cr.Summary = sum
	}
	if err != nil {
		return cr, err
	}
	switch {
	case len(cr.Injected) > 0:
	case len(cr.Unmapped) > 0:
		return cr, fmt.Errorf("no packet group of the capture could be injected: %s", cr.Unmapped[0].Why)
	default:
		return cr, fmt.Errorf("the capture has no packets")
	}
	return cr, nil
}

// groupSource yields the first appearance of each packet group.
type groupSource struct {
	c       *pktmon.Capture
	pm      *pktmon.PortMap
	f       *fabric.Fabric
	r       *runner
	cr      *CaptureReplay
	groups  []*pktmon.Group
	next    int
	skipped int
}

func (s *groupSource) Next() (pcapio.Packet, error) {
	for s.next < len(s.groups) {
		g := s.groups[s.next]
		s.next++
		a := g.Appearances[0]
		port, ok := s.pm.PortOf(a)
		if !ok {
			port, ok = s.pm.SourcePort(a)
		}
		if !ok {
			s.cr.Unmapped = append(s.cr.Unmapped, Unmapped{g, fmt.Sprintf("%s:%d: PktGroupId %d: first seen at %s, which maps to no port, and its source MAC is no port's (give --port NAME=PORT)",
				a.Source, a.Line, g.ID, s.c.Where(a))})
			continue
		}
		note := s.origin(a, &port)
		if note != "" {
			s.cr.Notes = append(s.cr.Notes, fmt.Sprintf("%s:%d: PktGroupId %d: %s", a.Source, a.Line, g.ID, note))
		}
		id, _ := s.f.PortByName(port)
		frame := a.Frame
		if a.RawIP {
			var err error
			if frame, err = s.ether(id, a.Frame); err != nil {
				return pcapio.Packet{}, fmt.Errorf("%s:%d: PktGroupId %d: raw IP packet at %s: %w", a.Source, a.Line, g.ID, port, err)
			}
		}
		s.skipped += len(g.Appearances) - 1
		s.cr.Injected = append(s.cr.Injected, g)
		s.cr.Ports = append(s.cr.Ports, port)
		s.cr.Origins = append(s.cr.Origins, note)
		return pcapio.Packet{Index: len(s.cr.Injected), Port: port, Time: a.Time, Data: frame}, nil
	}
	return pcapio.Packet{}, io.EOF
}

// origin corrects the injection port of a packet first seen leaving a
// physical NIC (direction Tx at a NIC's component): it did not come from
// the wire but from inside the host, so it is injected where its source
// MAC is (a container), or at the host's management OS when the source is
// the NIC's own MAC. It returns a note saying so, or "".
func (s *groupSource) origin(a *pktmon.Appearance, port *string) string {
	if !a.HasMeta || !pktmon.Outbound(a.Meta.Direction) || s.pm.Kinds[*port] != fabric.PortNIC.String() {
		return ""
	}
	from := ""
	if sp, ok := s.pm.SourcePort(a); ok && sp != *port {
		from = sp
	} else if host, _, ok := strings.Cut(*port, "/"); ok {
		if _, ok := s.f.PortByName(host + "/host"); ok {
			from = host + "/host"
		}
	}
	if from == "" {
		return ""
	}
	note := fmt.Sprintf("first seen leaving %s (%s): injected at %s, where it came from", *port, a.Meta.Direction, from)
	*port = from
	return note
}

// ether puts an Ethernet header on a raw IP packet injected at port id:
// from the port's MAC to the MAC of the destination (on-link) or of the
// port's gateway.
func (s *groupSource) ether(id fabric.PortID, ip []byte) ([]byte, error) {
	if len(ip) < 20 {
		return nil, fmt.Errorf("%d bytes, too short for an IP header", len(ip))
	}
	var dst netip.Addr
	etype := uint16(0x0800)
	switch ip[0] >> 4 {
	case 4:
		dst = netip.AddrFrom4([4]byte(ip[16:20]))
	case 6:
		if len(ip) < 40 {
			return nil, fmt.Errorf("%d bytes, too short for an IPv6 header", len(ip))
		}
		dst, etype = netip.AddrFrom16([16]byte(ip[24:40])), 0x86dd
	default:
		return nil, fmt.Errorf("IP version %d", ip[0]>>4)
	}
	p := s.f.Port(id)
	next := p.Gateway
	for _, pf := range s.r.res.pfx[s.r.res.stand(id)] {
		if pf.Contains(dst) {
			next = dst
		}
	}
	mac, ok := s.r.arp(id, next)
	if !ok {
		if mac, ok = s.r.res.owner(dst); !ok {
			return nil, fmt.Errorf("no MAC for next hop %v of %v", next, dst)
		}
	}
	b := make([]byte, 14+len(ip))
	copy(b, mac)
	copy(b[6:], p.MAC[:])
	binary.BigEndian.PutUint16(b[12:], etype)
	copy(b[14:], ip)
	return b, nil
}

// OutputFile is a file written under a temporary name: Commit renames it to
// its name when the run succeeded, or to NAME.partial.EXT when it did
// not, so that an output cut short never looks complete.
type OutputFile struct {
	Path string
	tmp  string
	f    *os.File
	err  error
}

// CreateOutput creates the output file path (as path.tmp until Commit).
func CreateOutput(path string) (*OutputFile, error) {
	o := &OutputFile{Path: path, tmp: path + ".tmp"}
	f, err := os.Create(o.tmp)
	if err != nil {
		return nil, err
	}
	o.f = f
	return o, nil
}

// Write implements io.Writer, remembering the first error.
func (o *OutputFile) Write(b []byte) (int, error) {
	n, err := o.f.Write(b)
	if err != nil && o.err == nil {
		o.err = err
	}
	return n, err
}

// PartialName is where an output of a failed run goes: "res.jsonl" ->
// "res.partial.jsonl".
func PartialName(path string) string {
	ext := ""
	if i := strings.LastIndexByte(path, '.'); i > strings.LastIndexAny(path, `/\`) && i > 0 {
		ext = path[i:]
	}
	return strings.TrimSuffix(path, ext) + ".partial" + ext
}

// Commit closes the file and renames it: to Path when ok, else to
// PartialName(Path), removing a file of an earlier run at Path. A file
// whose writing failed is removed. It returns the name the file now has
// ("" if removed).
func (o *OutputFile) Commit(ok bool) (string, error) {
	if err := o.f.Close(); err != nil && o.err == nil {
		o.err = err
	}
	if !ok || o.err != nil {
		// An earlier run's file under the final name would look like this
		// run's output.
		os.Remove(o.Path)
	}
	if o.err != nil {
		os.Remove(o.tmp)
		return "", fmt.Errorf("writing %s: %w (file removed)", o.Path, o.err)
	}
	dst := o.Path
	if !ok {
		dst = PartialName(o.Path)
	}
	if err := os.Rename(o.tmp, dst); err != nil {
		os.Remove(o.tmp)
		return "", err
	}
	return dst, nil
}

// ResultsOf collects results in memory (ReplayOptions.OnResult).
type ResultsOf struct{ Packets []*result.Packet }

// Add is an OnResult function.
func (r *ResultsOf) Add(p *result.Packet) { r.Packets = append(r.Packets, p) }
