package scenarios

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/hnspath/hnspath/emulator/fabric"
	"github.com/hnspath/hnspath/pcapio"
	"github.com/hnspath/hnspath/result"
)

// ReplayOptions configure Replay.
type ReplayOptions struct {
	// Port is the port of packets from pcap files and from pcapng
	// interfaces without a name.
	Port string
	// OutDir, when set, receives one pcapng per port (PORT.pcapng, '/'
	// written as '_'): the frames delivered or seen on the wire there and
	// the frames dropped nearest to it (with comment and drop verdict).
	OutDir string
	// Results, when set, receives one result.Packet per input as JSON Lines.
	Results io.Writer
	// Trace records traces (into Results); slower.
	Trace bool
	// Progress, when set, is called with the packet count every 65536
	// packets.
	Progress func(packets int)
}

// ReplaySummary counts what happened to a replayed capture.
type ReplaySummary struct {
	// Packets is the number of input packets.
	Packets int
	// Delivered counts delivered frames per port.
	Delivered map[string]int
	// Dropped counts drops per reason slug.
	Dropped map[string]int
	// Outcomes counts input packets per outcome (delivered, dropped,
	// consumed).
	Outcomes map[string]int
	// Elapsed is the wall time of the replay.
	Elapsed time.Duration
	// Files are the pcapng files written, by port.
	Files map[string]string
}

// PacketsPerSecond returns the replay rate.
func (s *ReplaySummary) PacketsPerSecond() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Packets) / s.Elapsed.Seconds()
}

// Write prints the summary as text.
func (s *ReplaySummary) Write(w io.Writer) {
	fmt.Fprintf(w, "packets: %d in %s (%.0f pkts/s)\n", s.Packets, s.Elapsed.Round(time.Millisecond), s.PacketsPerSecond())
	for _, k := range []string{result.OutcomeDelivered, result.OutcomeDropped, result.OutcomeConsumed} {
		fmt.Fprintf(w, "  %-9s %d\n", k, s.Outcomes[k])
	}
	printCounts(w, "delivered at", s.Delivered)
	printCounts(w, "dropped for", s.Dropped)
	if len(s.Files) > 0 {
		fmt.Fprintln(w, "files:")
		for _, k := range sortedKeys(s.Files) {
			fmt.Fprintf(w, "  %s: %s\n", k, s.Files[k])
		}
	}
}

func printCounts(w io.Writer, title string, m map[string]int) {
	if len(m) == 0 {
		return
	}
	fmt.Fprintf(w, "%s:\n", title)
	for _, k := range sortedKeys(m) {
		fmt.Fprintf(w, "  %-28s %d\n", k, m[k])
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// portFile returns the file name for a port's capture.
func portFile(port string) string {
	var b strings.Builder
	for _, c := range port {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '-':
			b.WriteRune(c)
		default:
			b.WriteByte('_')
		}
	}
	return b.String() + ".pcapng"
}

// replayer holds the per-port writers of a replay.
type replayer struct {
	f       *fabric.Fabric
	opts    ReplayOptions
	writers []*pcapio.NgWriter // by port id
	files   []*os.File
	sum     *ReplaySummary
	deliv   []int // by port id
}

func (rp *replayer) writer(id fabric.PortID) (*pcapio.NgWriter, error) {
	if rp.opts.OutDir == "" {
		return nil, nil
	}
	if w := rp.writers[id]; w != nil {
		return w, nil
	}
	p := rp.f.Port(id)
	path := filepath.Join(rp.opts.OutDir, portFile(p.Name))
	fh, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	rp.files = append(rp.files, fh)
	w, err := pcapio.NewNgWriter(fh, pcapio.NgOptions{Application: "hnspath replay", Descriptions: map[string]string{p.Name: portDescriptions[p.Kind]}})
	if err != nil {
		return nil, err
	}
	rp.writers[id] = w
	rp.sum.Files[p.Name] = path
	return w, nil
}

// Replay runs every packet of a capture through the topology, in order,
// with the capture's timestamps (relative to its first packet) as the
// virtual clock. It streams: packets are read, run and written one at a
// time, so memory does not grow with the capture (the emulator's own
// state, such as NAT sessions, grows with the flows in it).
func Replay(t *Topology, r *pcapio.Reader, opts ReplayOptions) (*ReplaySummary, error) {
	f, err := t.Build(fabric.Options{Trace: opts.Trace, ObserveWire: opts.OutDir != ""})
	if err != nil {
		return nil, err
	}
	sum := &ReplaySummary{Delivered: map[string]int{}, Dropped: map[string]int{}, Outcomes: map[string]int{}, Files: map[string]string{}}
	rp := &replayer{f: f, opts: opts, writers: make([]*pcapio.NgWriter, len(f.Ports())), sum: sum, deliv: make([]int, len(f.Ports()))}
	if opts.OutDir != "" {
		if err := os.MkdirAll(opts.OutDir, 0o755); err != nil {
			return nil, err
		}
	}
	var jw *result.Writer
	if opts.Results != nil {
		jw = result.NewWriter(opts.Results)
	}
	start := time.Now()
	err = rp.run(r, jw)
	sum.Elapsed = time.Since(start)
	var errs []error
	errs = append(errs, err)
	if jw != nil {
		errs = append(errs, jw.Flush())
	}
	for _, w := range rp.writers {
		if w != nil {
			errs = append(errs, w.Flush())
		}
	}
	for _, fh := range rp.files {
		errs = append(errs, fh.Close())
	}
	for id, n := range rp.deliv {
		if n > 0 {
			sum.Delivered[f.Port(fabric.PortID(id)).Name] = n
		}
	}
	return sum, errors.Join(errs...)
}

func (rp *replayer) run(r *pcapio.Reader, jw *result.Writer) error {
	var out fabric.Outcome
	var first time.Time
	var now int64
	ids := map[string]fabric.PortID{}
	for {
		pkt, err := r.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		port := pkt.Port
		if port == "" {
			port = rp.opts.Port
		}
		id, ok := ids[port]
		if !ok {
			if id, ok = rp.f.PortByName(port); !ok {
				if port == "" {
					return fmt.Errorf("packet %d has no port: give the port for a pcap file", pkt.Index)
				}
				return fmt.Errorf("packet %d: unknown port %q (ports: %s)", pkt.Index, port, portNames(rp.f))
			}
			ids[port] = id
		}
		if rp.sum.Packets == 0 {
			first = pkt.Time
		}
		now = max(now, int64(pkt.Time.Sub(first)))
		rp.f.Inject(id, pkt.Data, now, &out)
		rp.sum.Packets++
		if err := rp.record(pkt, &out); err != nil {
			return err
		}
		if jw != nil {
			if err := jw.Write(toResult(rp.f, "replay", rp.sum.Packets, id, now, pkt.Data, &out, rp.opts.Trace)); err != nil {
				return err
			}
		}
		if rp.opts.Progress != nil && rp.sum.Packets%65536 == 0 {
			rp.opts.Progress(rp.sum.Packets)
		}
	}
}

// record counts one outcome and writes its frames to the port captures.
func (rp *replayer) record(pkt pcapio.Packet, out *fabric.Outcome) error {
	delivered := false
	for _, o := range out.Outputs {
		if o.Kind == fabric.Delivered {
			delivered = true
			rp.deliv[o.Port]++
		}
		w, err := rp.writer(o.Port)
		if err != nil {
			return err
		}
		if w != nil {
			comment := ""
			if o.Kind != fabric.Delivered {
				comment = o.Kind.String()
			}
			if err := w.Write(pcapio.Packet{Port: rp.f.Port(o.Port).Name, Time: pkt.Time, Data: o.Frame, Comment: comment}); err != nil {
				return err
			}
		}
	}
	for i := range out.Drops {
		d := &out.Drops[i]
		rp.sum.Dropped[d.Reason.Slug()]++
		id := d.Port
		if id == fabric.NoPort {
			continue
		}
		w, err := rp.writer(id)
		if err != nil {
			return err
		}
		if w != nil && len(d.Frame) > 0 {
			rd := result.Drop{Host: d.Host, Component: d.Component, Where: d.Where, Reason: d.Reason.Slug(), Text: d.Reason.Text(),
				VFPLayer: d.Layer, VFPGroup: d.Group, VFPRule: d.Rule}
			c := fmt.Sprintf("%s; packet %d", DropComment(&rd), pkt.Index)
			if err := w.Write(pcapio.Packet{Port: rp.f.Port(id).Name, Time: pkt.Time, Data: d.Frame, Comment: c, Verdict: &pcapio.DropVerdict}); err != nil {
				return err
			}
		}
	}
	switch {
	case delivered:
		rp.sum.Outcomes[result.OutcomeDelivered]++
	case len(out.Drops) > 0:
		rp.sum.Outcomes[result.OutcomeDropped]++
	default:
		rp.sum.Outcomes[result.OutcomeConsumed]++
	}
	return nil
}
