package hostprobe

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/hnspath/hnspath/emulator/drop"
	"github.com/hnspath/hnspath/emulator/fabric"
	"github.com/hnspath/hnspath/emulator/header"
	"github.com/hnspath/hnspath/emulator/trace"
	"github.com/hnspath/hnspath/result"
)

// Emulator is the Backend of the emulator itself (package emulator/fabric),
// with wire observation on, so that its results have the same outputs
// (delivered, wire-tx, wire-rx) as a scenario run's.
type Emulator struct {
	// Trace records each stage in the results.
	Trace bool

	f   *fabric.Fabric
	out fabric.Outcome
	now int64
}

// NewEmulator returns an emulator backend.
func NewEmulator() *Emulator { return &Emulator{} }

// Name returns result.BackendEmulator.
func (e *Emulator) Name() string { return result.BackendEmulator }

// Setup builds the fabric.
func (e *Emulator) Setup(ctx context.Context, topo *fabric.Topology) error {
	f, err := fabric.New(*topo, fabric.Options{Trace: e.Trace, ObserveWire: true})
	if err != nil {
		return fmt.Errorf("emulator: build topology: %w", err)
	}
	e.f = f
	return nil
}

// Fabric returns the fabric Setup built, or nil.
func (e *Emulator) Fabric() *fabric.Fabric { return e.f }

// Run injects the inputs at their virtual times, each after its steps. Inputs
// earlier than the previous one run at the previous one's time (the clock does not
// go back).
func (e *Emulator) Run(ctx context.Context, scenario string, inputs []Input, opts RunOptions) ([]*result.Packet, error) {
	if e.f == nil {
		return nil, fmt.Errorf("emulator: run: %w", ErrNotSetUp)
	}
	var out []*result.Packet
	for i, in := range inputs {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		in = opts.Input(i, in)
		for _, st := range in.Steps {
			if err := st.Apply(e.f); err != nil {
				return out, fmt.Errorf("emulator: before input %d: %w", i+1, err)
			}
		}
		id, ok := e.f.PortByName(in.Port)
		if !ok {
			return out, fmt.Errorf("emulator: input %d: unknown port %q", i+1, in.Port)
		}
		e.now = max(e.now, in.TimeNS)
		e.f.Inject(id, in.Frame, e.now, &e.out)
		p := FromOutcome(e.f, scenario, i+1, in, &e.out)
		out = append(out, p)
		opts.Done(i, p)
	}
	return out, nil
}

// Throughput replays w's frames through the fabric for w.Duration and counts
// the frames delivered at the sinks.
func (e *Emulator) Throughput(ctx context.Context, w Workload) (Throughput, error) {
	if e.f == nil {
		return Throughput{}, fmt.Errorf("emulator: throughput: %w", ErrNotSetUp)
	}
	if err := CheckWorkload(&w); err != nil {
		return Throughput{}, fmt.Errorf("emulator: %w", err)
	}
	in, ok := e.f.PortByName(w.In)
	if !ok {
		return Throughput{}, fmt.Errorf("emulator: workload %q: unknown port %q", w.Name, w.In)
	}
	sinks := make(map[fabric.PortID]bool)
	for _, s := range w.Sinks {
		id, ok := e.f.PortByName(s)
		if !ok {
			return Throughput{}, fmt.Errorf("emulator: workload %q: unknown sink port %q", w.Name, s)
		}
		sinks[id] = true
	}
	e.f.SetObserveWire(false)
	e.f.SetTrace(false)
	defer func() {
		e.f.SetObserveWire(true)
		e.f.SetTrace(e.Trace)
	}()
	t := Throughput{Backend: e.Name(), Workload: w.Name}
	start := time.Now()
	for i := 0; ; i++ {
		if i%w.Batch == 0 {
			if time.Since(start) >= w.Duration || ctx.Err() != nil {
				break
			}
		}
		e.now += 1000
		e.f.Inject(in, w.Frames[i%len(w.Frames)], e.now, &e.out)
		t.Sent++
		for _, o := range e.out.Outputs {
			if o.Kind == fabric.Delivered && sinks[o.Port] {
				t.Received++
			}
		}
	}
	t.Elapsed = time.Since(start)
	return t, ctx.Err()
}

// Close forgets the fabric.
func (e *Emulator) Close() error {
	e.f = nil
	return nil
}

// FromOutcome converts the outcome of one injected frame into a result,
// copying every frame (the outcome aliases the fabric's buffers). It is the
// conversion the scenario runner does, with the trace's addresses, MACs, ports and TTL
// (not its protocol names and flags).
func FromOutcome(f *fabric.Fabric, scenario string, index int, in Input, o *fabric.Outcome) *result.Packet {
	p := &result.Packet{Scenario: scenario, Backend: result.BackendEmulator, Index: index, In: in.Port,
		TimeNS: in.TimeNS, Frame: bytes.Clone(in.Frame)}
	for _, out := range o.Outputs {
		kind := result.KindDelivered
		switch out.Kind {
		case fabric.WireTx:
			kind = result.KindWireTx
		case fabric.WireRx:
			kind = result.KindWireRx
		}
		p.Outputs = append(p.Outputs, result.Output{Port: f.Port(out.Port).Name, Kind: kind, Frame: bytes.Clone(out.Frame)})
	}
	for _, d := range o.Drops {
		rd := result.Drop{Host: d.Host, Component: d.Component, Where: d.Where, Reason: d.Reason.Slug(), Text: d.Reason.Text(),
			Layer: d.Reason.Layer().String(), VFPLayer: d.Layer, VFPGroup: d.Group, VFPRule: d.Rule, Frame: bytes.Clone(d.Frame)}
		if c := d.Reason.Code(); c >= 0 {
			rd.Code = c
		}
		rd.Port = in.Port
		if d.Port != fabric.NoPort {
			rd.Port = f.Port(d.Port).Name
		}
		p.Drops = append(p.Drops, rd)
	}
	for _, ev := range o.Trace.Events {
		st := result.Stage{Host: ev.Host, Component: ev.Component, Port: ev.Port, Action: ev.Action, Detail: ev.Detail,
			VFPLayer: ev.Layer, VFPGroup: ev.Group, VFPRule: ev.Rule, Before: snapHeaders(ev.Before), After: snapHeaders(ev.After)}
		if ev.Reason != drop.None {
			st.Reason = ev.Reason.Slug()
		}
		p.Trace = append(p.Trace, st)
	}
	p.Outcome = Outcome(p)
	return p
}

// snapHeaders returns the addresses, MACs, ports and TTL of a trace snapshot; nil for an
// empty one.
func snapHeaders(s trace.Snapshot) *result.Headers {
	if s.Len == 0 && !s.Valid {
		return nil
	}
	h := &result.Headers{Len: s.Len, VLAN: int(s.VID), TTL: int(s.TTL), SrcPort: int(s.SrcPort), DstPort: int(s.DstPort)}
	if s.SrcMAC != (header.MAC{}) || s.DstMAC != (header.MAC{}) {
		h.SrcMAC, h.DstMAC = s.SrcMAC.String(), s.DstMAC.String()
	}
	if s.Src.IsValid() {
		h.Src = s.Src.String()
	}
	if s.Dst.IsValid() {
		h.Dst = s.Dst.String()
	}
	return h
}
