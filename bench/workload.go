package bench

import (
	"context"
	"errors"
	"fmt"

	"github.com/hnspath/hnspath/bench/result"
)

// KV is a workload key/value pair such as {"flows", "10000"}.
type KV = result.KV

// A Workload is a named, parameterised benchmark: a mode of the datapath with a flow
// count, packet sizes, a new-flow ratio, or a pcap replayed through a topology.
type Workload interface {
	// Name returns the base benchmark name, written as "Benchmark"+Name: an upper-case
	// ASCII letter, then letters, digits, '_' or '-' (for example "NAT", "Overlay").
	Name() string
	// Keys returns the workload's parameters in display order, e.g. mode=nat,
	// flows=10000, size=64. They become "/key=value" parts of the benchmark name.
	// The key "cores" is reserved: the runner adds it.
	Keys() []KV
	// Prepare generates the traffic and anything the processors share. The runner calls
	// it once, before any clock starts.
	Prepare(ctx context.Context) (*Prepared, error)
}

// Prepared is a workload ready to run: pre-built frames and a way to build the
// per-core datapath state that processes them.
type Prepared struct {
	// Frames are the frames to send, in order, from the destination MAC to the end of
	// the payload. The runner shards them by flow and replays each shard's frames
	// in a loop. Processors must not modify or retain them: a processor that rewrites
	// headers copies each frame into its own buffer first, as a NIC's DMA would.
	Frames [][]byte
	// Flow gives each frame's flow index, in [0, Flows). Frames of one flow go to one
	// core, as RSS does with the 5-tuple hash (see ShardOf). Nil means every frame is
	// its own flow.
	Flow []uint32
	// Flows is the number of flow indices; 0 means len(Frames).
	Flows int
	// Stateful marks datapaths that keep per-flow state (NAT sessions, the VFP unified
	// flow table). For them each trial starts from empty processors and first measures
	// the first packet of every flow (the slow path), the same packets again (cached),
	// and the live heap per flow; see result.FirstPacket.
	Stateful bool
	// NewProcessor returns a processor with empty state for shard shard of shards.
	// It is called before trials and between them, never on the clock. For a stateless
	// workload the runner keeps the processors of a core count for all its trials.
	NewProcessor func(shard, shards int) (Processor, error)
	// Close, if not nil, releases what Prepare acquired. The runner calls it once at
	// the end of the run.
	Close func() error
}

// A Processor is the datapath state of one core (one RSS shard).
type Processor interface {
	// Process handles a batch of frames and returns how many it forwarded (the rest
	// were dropped). It must not modify or retain frames. Only one goroutine calls a
	// Processor at a time.
	Process(frames [][]byte) (forwarded int)
}

// A FlowCounter is a Processor that counts the flows it has created. The runner
// reports flows created during the steady-state phase as new flows per second.
type FlowCounter interface {
	// FlowsCreated returns the number of flows created since the processor was made.
	FlowsCreated() uint64
}

// ShardOf returns the shard in [0, shards) of flow index flow. It mixes the index with
// the splitmix64 finalizer, so consecutive flows spread evenly as random 5-tuples do
// under a Toeplitz RSS hash. shards must be positive.
func ShardOf(flow uint32, shards int) int {
	z := uint64(flow) + 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	z ^= z >> 31
	return int(z % uint64(shards))
}

// Define returns a Workload with the given name, keys and Prepare function.
func Define(name string, keys []KV, prepare func(ctx context.Context) (*Prepared, error)) Workload {
	return &defined{name: name, keys: keys, prepare: prepare}
}

type defined struct {
	name    string
	keys    []KV
	prepare func(ctx context.Context) (*Prepared, error)
}

func (d *defined) Name() string { return d.name }
func (d *defined) Keys() []KV   { return d.keys }
func (d *defined) Prepare(ctx context.Context) (*Prepared, error) {
	return d.prepare(ctx)
}

// ErrWorkload is wrapped by errors about a workload's definition or prepared traffic.
var ErrWorkload = errors.New("bad workload")

// validate checks p and fills in Flow and Flows when they are left out.
func (p *Prepared) validate(name string) error {
	if p == nil {
		return fmt.Errorf("%w: %s: Prepare returned nil", ErrWorkload, name)
	}
	if len(p.Frames) == 0 {
		return fmt.Errorf("%w: %s: no frames", ErrWorkload, name)
	}
	if p.NewProcessor == nil {
		return fmt.Errorf("%w: %s: NewProcessor is nil", ErrWorkload, name)
	}
	for i, f := range p.Frames {
		if len(f) == 0 {
			return fmt.Errorf("%w: %s: frame %d: empty", ErrWorkload, name, i+1)
		}
	}
	if p.Flow == nil {
		p.Flow = make([]uint32, len(p.Frames))
		for i := range p.Flow {
			p.Flow[i] = uint32(i)
		}
		if p.Flows == 0 {
			p.Flows = len(p.Frames)
		}
	}
	if len(p.Flow) != len(p.Frames) {
		return fmt.Errorf("%w: %s: %d flow indices for %d frames", ErrWorkload, name, len(p.Flow), len(p.Frames))
	}
	if p.Flows == 0 {
		p.Flows = len(p.Frames)
	}
	for i, f := range p.Flow {
		if int64(f) >= int64(p.Flows) {
			return fmt.Errorf("%w: %s: frame %d: flow %d, want < %d", ErrWorkload, name, i+1, f, p.Flows)
		}
	}
	return nil
}
