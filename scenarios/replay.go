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
	// OnResult, when set, receives each input packet's result (with its
	// trace when Trace is set).
	OnResult func(*result.Packet)

	// create opens an output file (tests replace it with a failing writer).
	create func(path string) (io.WriteCloser, error)
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
	// Files are the pcapng files written completely, by port. Nothing is
	// listed here when the replay failed.
	Files map[string]string
	// Partial are the pcapng files of a replay that failed, by port: what
	// was written before the failure, under a name that says so
	// (PORT.partial.pcapng). Files that could not be written are removed
	// and listed nowhere.
	Partial map[string]string
	// Mapped notes how capture locations were mapped to ports (pktmon
	// captures), and Skipped counts packet appearances not injected
	// because an earlier appearance of their packet group was.
	Mapped  []string
	Skipped int
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
	if s.Skipped > 0 {
		fmt.Fprintf(w, "later appearances of packet groups (not injected): %d\n", s.Skipped)
	}
	if len(s.Files) > 0 {
		fmt.Fprintln(w, "files:")
		for _, k := range sortedKeys(s.Files) {
			fmt.Fprintf(w, "  %s: %s\n", k, s.Files[k])
		}
	}
	if len(s.Partial) > 0 {
		fmt.Fprintln(w, "partial files (the replay failed; they hold only the packets before the failure):")
		for _, k := range sortedKeys(s.Partial) {
			fmt.Fprintf(w, "  %s: %s\n", k, s.Partial[k])
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
	outs    []*outFile
	sum     *ReplaySummary
	deliv   []int // by port id
}

// outFile is an output written under a temporary name and renamed when
// complete.
type outFile struct {
	port string
	path string // final name
	tmp  string // name while being written
	w    io.WriteCloser
	ng   *pcapio.NgWriter
	err  error // first write or close error
}

// failWriter remembers the first error of w.
type failWriter struct {
	w   io.Writer
	err *error
}

func (f failWriter) Write(b []byte) (int, error) {
	n, err := f.w.Write(b)
	if err != nil && *f.err == nil {
		*f.err = err
	}
	return n, err
}

// finish flushes and closes every output. When ok, each file is renamed
// to its final name and listed in Files; otherwise (the replay failed),
// each is renamed to PORT.partial.pcapng and listed in Partial, and a
// file of an earlier run under its final name is removed. A file that
// could not be written completely is removed in both cases.
func (rp *replayer) finish(ok bool) error {
	var errs []error
	for _, o := range rp.outs {
		if o.ng != nil {
			if err := o.ng.Flush(); err != nil && o.err == nil {
				o.err = err
			}
		}
		if err := o.w.Close(); err != nil && o.err == nil {
			o.err = err
		}
		if !ok || o.err != nil {
			// A file of an earlier run under the final name would look like
			// this run's output (this run would have replaced it).
			os.Remove(o.path)
		}
		if o.err != nil {
			os.Remove(o.tmp)
			errs = append(errs, fmt.Errorf("writing %s: %w (file removed)", o.path, o.err))
			continue
		}
		dst := o.path
		if !ok {
			dst = strings.TrimSuffix(o.path, ".pcapng") + ".partial.pcapng"
		}
		if err := os.Rename(o.tmp, dst); err != nil {
			os.Remove(o.tmp)
			errs = append(errs, err)
			continue
		}
		if ok {
			rp.sum.Files[o.port] = dst
		} else {
			rp.sum.Partial[o.port] = dst
		}
	}
	return errors.Join(errs...)
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
	o := &outFile{port: p.Name, path: path, tmp: path + ".tmp"}
	fh, err := rp.opts.create(o.tmp)
	if err != nil {
		return nil, err
	}
	o.w = fh
	rp.outs = append(rp.outs, o)
	w, err := pcapio.NewNgWriter(failWriter{fh, &o.err}, pcapio.NgOptions{Application: "hnspath replay", Descriptions: map[string]string{p.Name: portDescriptions[p.Kind]}})
	if err != nil {
		return nil, err
	}
	o.ng = w
	rp.writers[id] = w
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
	return replay(f, r, opts)
}

// source is where replayed packets come from: a capture reader, or the
// first appearances of a pktmon capture's packet groups.
type source interface {
	Next() (pcapio.Packet, error)
}

func replay(f *fabric.Fabric, src source, opts ReplayOptions) (*ReplaySummary, error) {
	if opts.create == nil {
		opts.create = func(path string) (io.WriteCloser, error) { return os.Create(path) }
	}
	sum := &ReplaySummary{Delivered: map[string]int{}, Dropped: map[string]int{}, Outcomes: map[string]int{}, Files: map[string]string{}, Partial: map[string]string{}}
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
	err := rp.run(src, jw)
	sum.Elapsed = time.Since(start)
	if jw != nil {
		if ferr := jw.Flush(); err == nil {
			err = ferr
		}
	}
	if ferr := rp.finish(err == nil); ferr != nil {
		err = errors.Join(err, ferr)
		if len(sum.Files) > 0 {
			// A file failed to write: the outputs are not a whole set.
			for k, v := range sum.Files {
				partial := strings.TrimSuffix(v, ".pcapng") + ".partial.pcapng"
				if os.Rename(v, partial) == nil {
					sum.Partial[k] = partial
				}
				delete(sum.Files, k)
			}
		}
	}
	for id, n := range rp.deliv {
		if n > 0 {
			sum.Delivered[f.Port(fabric.PortID(id)).Name] = n
		}
	}
	return sum, err
}

func (rp *replayer) run(r source, jw *result.Writer) error {
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
		if jw != nil || rp.opts.OnResult != nil {
			res := toResult(rp.f, "replay", rp.sum.Packets, id, now, pkt.Data, &out, rp.opts.Trace)
			if jw != nil {
				if err := jw.Write(res); err != nil {
					return err
				}
			}
			if rp.opts.OnResult != nil {
				rp.opts.OnResult(res)
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
