package workload

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"unicode"
	"unsafe"

	"github.com/hnspath/hnspath/bench"
	"github.com/hnspath/hnspath/emulator/fabric"
	"github.com/hnspath/hnspath/emulator/packet"
	"github.com/hnspath/hnspath/pcapio"
)

// ReplayBench is the benchmark base name of replay workloads.
const ReplayBench = "Replay"

// A Packet is one frame of a capture to replay and the port it enters at.
type Packet struct {
	Port  string
	Frame []byte
}

// MaxReplayPackets bounds the packets read from a capture.
const MaxReplayPackets = MaxFrames

// ReadCapture reads the frames of a pcap or pcapng file through package
// pcapio. A packet enters at its pcapng interface's name when that is a port
// name, else at defaultPort. Frames cut short by the snap length are an error
// (naming the file and packet number), since replaying them would measure
// another packet.
func ReadCapture(path, defaultPort string) ([]Packet, error) {
	r, err := pcapio.Open(path, defaultPort)
	if err != nil {
		return nil, fmt.Errorf("read capture: %w", err)
	}
	defer r.Close()
	var out []Packet
	var a arena
	for {
		p, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read capture: %w", err)
		}
		if p.OrigLen > len(p.Data) {
			return nil, fmt.Errorf("read capture: %w", &pcapio.InputError{File: path, Packet: p.Index,
				Err: fmt.Errorf("frame cut to %d of %d bytes by the snap length", len(p.Data), p.OrigLen)})
		}
		if len(out) == MaxReplayPackets {
			return nil, fmt.Errorf("read capture: %s: more than %d packets", path, MaxReplayPackets)
		}
		b := a.alloc(len(p.Data))
		copy(b, p.Data)
		out = append(out, Packet{Port: p.Port, Frame: b})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("read capture: %s: no packets", path)
	}
	return out, nil
}

// A Replay is a capture replayed through a topology.
type Replay struct {
	// Name names the capture in the benchmark's "pcap" key (e.g. its file
	// name); characters a benchmark name cannot hold become '_'.
	Name string
	// Packets are the frames, in order, with their ports.
	Packets []Packet
	// Build makes a fabric of the topology with the given options (for
	// example scenarios.Topology.Build, or fabric.New of a topology).
	Build func(fabric.Options) (*fabric.Fabric, error)
}

// NewReplay returns a workload that replays r's packets in a loop, each at its
// port, on a constant virtual clock (so flows never expire). Frames are sharded
// by flow: the 5-tuple with the two ends in a fixed order, so a request and
// its untranslated reply share a core; the reply of a NATed flow carries other
// addresses and may go to another core, where it finds no session (use one
// core for captures of NATed round trips). Prepare fails when the capture's
// ports do not exist or when no packet at all is delivered.
func NewReplay(r Replay, opt Options) (bench.Workload, error) {
	if len(r.Packets) == 0 {
		return nil, fmt.Errorf("%w: replay %s: no packets", ErrParams, r.Name)
	}
	if r.Build == nil {
		return nil, fmt.Errorf("%w: replay %s: no topology", ErrParams, r.Name)
	}
	keys := []bench.KV{{Key: "pcap", Value: keyValue(captureName(r.Name))}}
	ports := map[string]bool{}
	for _, p := range r.Packets {
		ports[p.Port] = true
	}
	if len(ports) == 1 {
		keys = append(keys, bench.KV{Key: "port", Value: keyValue(r.Packets[0].Port)})
	}
	return bench.Define(ReplayBench, keys, func(ctx context.Context) (*bench.Prepared, error) {
		return prepareReplay(ctx, r, opt)
	}), nil
}

// captureName returns a capture's file name without directory and extension.
func captureName(path string) string {
	b := filepath.Base(path)
	return strings.TrimSuffix(b, filepath.Ext(b))
}

// keyValue makes s usable as a benchmark key value: no spaces, '/' or '=',
// printable, not empty, not ending in "-<digits>" (see result.ValidateName).
func keyValue(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '/' || r == '=' || unicode.IsSpace(r) || !unicode.IsPrint(r) || r > unicode.MaxASCII {
			return '_'
		}
		return r
	}, s)
	if i := strings.LastIndexByte(s, '-'); i >= 0 && strings.Trim(s[i+1:], "0123456789") == "" {
		s = s[:i] + "_" + s[i+1:]
	}
	if s == "" || s == "." {
		s = "capture"
	}
	return s
}

func prepareReplay(ctx context.Context, r Replay, opt Options) (*bench.Prepared, error) {
	f, err := r.Build(fabric.Options{})
	if err != nil {
		return nil, fmt.Errorf("replay %s: build the topology: %w", r.Name, err)
	}
	frames := make([][]byte, len(r.Packets))
	flow := make([]uint32, len(r.Packets))
	byPtr := make(map[*byte]portRoute, len(r.Packets))
	ports := map[string]fabric.PortID{}
	ids := map[packet.Tuple]uint32{}
	var flows uint32
	var p packet.Parsed
	for i, pk := range r.Packets {
		in, ok := f.PortByName(pk.Port)
		if !ok {
			if pk.Port == "" {
				return nil, fmt.Errorf("%w: replay %s: packet %d has no port (give a default port)", ErrParams, r.Name, i+1)
			}
			return nil, fmt.Errorf("%w: replay %s: packet %d: the topology has no port %q", ErrParams, r.Name, i+1, pk.Port)
		}
		fr := pk.Frame
		if len(fr) == 0 {
			return nil, fmt.Errorf("%w: replay %s: packet %d is empty", ErrParams, r.Name, i+1)
		}
		if r, dup := byPtr[unsafe.SliceData(fr)]; dup && r.in != in {
			// The same bytes at another port: a copy of its own, to route it.
			fr = append([]byte(nil), fr...)
		}
		frames[i] = fr
		byPtr[unsafe.SliceData(fr)] = portRoute{in: in, out: fabric.NoPort}
		ports[pk.Port] = in
		p.Decode(fr)
		if !p.Valid() {
			flow[i] = flows // every undecodable frame is a flow of its own
			flows++
			continue
		}
		t := canonical(p.Tuple())
		id, ok := ids[t]
		if !ok {
			id = flows
			ids[t] = id
			flows++
		}
		flow[i] = id
	}
	s := &setup{build: r.Build}
	ps := newProcessors(s, frames, flow, false, opt)
	if len(ports) == 1 {
		s.routes = []route{{in: r.Packets[0].Port}}
	} else {
		ps.byPtr, ps.ports = byPtr, ports
	}
	// Send the capture once: it must deliver something.
	var res fabric.Outcome
	delivered := 0
	var firstDrop string
	for i, fr := range frames {
		if i&0xfff == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		in, _ := f.PortByName(r.Packets[i].Port)
		f.Inject(in, fr, startNS+int64(i), &res)
		switch {
		case len(res.Drops) > 0:
			if firstDrop == "" {
				firstDrop = fmt.Sprintf("packet %d at %s: %s", i+1, r.Packets[i].Port, describeDrop(&res.Drops[0]))
			}
		case hasDelivery(&res):
			delivered++
		}
	}
	if delivered == 0 {
		if firstDrop == "" {
			firstDrop = "no packet came out anywhere"
		}
		return nil, fmt.Errorf("replay %s: none of the %d packets is delivered through the topology (%s)", r.Name, len(frames), firstDrop)
	}
	return &bench.Prepared{Frames: frames, Flow: flow, Flows: int(flows), Stateful: true, NewProcessor: ps.new}, nil
}

func hasDelivery(res *fabric.Outcome) bool {
	for _, o := range res.Outputs {
		if o.Kind == fabric.Delivered {
			return true
		}
	}
	return false
}

// canonical orders the two ends of a tuple so that both directions of an
// untranslated flow give the same tuple.
func canonical(t packet.Tuple) packet.Tuple {
	if c := bytes.Compare(t.Src[:], t.Dst[:]); c > 0 || (c == 0 && t.SrcPort > t.DstPort) {
		return t.Reverse()
	}
	return t
}
