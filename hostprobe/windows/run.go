package windows

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/hnspath/hnspath/emulator/vfp"
	"github.com/hnspath/hnspath/hostprobe"
	"github.com/hnspath/hnspath/internal/input"
	"github.com/hnspath/hnspath/pktmon"
	"github.com/hnspath/hnspath/result"
)

// pktmonSyntax returns this host's pktmon syntax, asking `pktmon help` once.
func (b *Backend) pktmonSyntax(ctx context.Context) (PktmonSyntax, error) {
	b.mu.Lock()
	s := b.syntax
	b.mu.Unlock()
	if s != nil {
		return *s, nil
	}
	out, err := b.run.Run(ctx, "pktmon", "help")
	text := decodeOutput(out)
	// pktmon help may exit non-zero after printing its help: judge by the output.
	syn, derr := DetectPktmonSyntax(text)
	if derr != nil {
		return PktmonSyntax{}, errors.Join(fmt.Errorf("windows: %w", derr), err)
	}
	b.mu.Lock()
	b.syntax = &syn
	b.mu.Unlock()
	return syn, nil
}

// portMap maps the endpoints' pktmon components (by MAC) to their ports: an appearance
// there whose destination MAC is the endpoint's is a delivery to it. An endpoint whose
// vNIC is not among the components is an error naming it: without its component no
// result could say where a packet went.
func (b *Backend) portMap(ctx context.Context, syn PktmonSyntax) (PortMap, []int, error) {
	out, err := b.command(ctx, "pktmon", syn.List...)
	if err != nil {
		return PortMap{}, nil, err
	}
	comps, err := pktmon.ParseComponents("pktmon "+strings.Join(syn.List, " "), []byte(out))
	if err != nil {
		return PortMap{}, nil, fmt.Errorf("windows: %w", err)
	}
	// Only endpoints in a namespace (a container's vNIC) have a component; remote
	// endpoints have none.
	local := map[string]bool{}
	b.mu.Lock()
	for _, c := range b.plan.Calls {
		if c.Op == OpCreateEndpoint && c.Namespace != "" {
			local[c.Port] = true
		}
	}
	macs := make(map[string]string, len(b.macs))
	for p, m := range b.macs {
		if local[p] {
			macs[p] = m
		}
	}
	b.mu.Unlock()
	pm := PortMap{ByComponent: map[int][]PortRole{}}
	var ids []int
	var missing []string
	ports := make([]string, 0, len(macs))
	for p := range macs {
		ports = append(ports, p)
	}
	sort.Strings(ports)
	for _, port := range ports {
		mac := macs[port]
		found := false
		for _, c := range comps {
			if mac != "" && pktmonComponentMAC(c) == mac {
				pm.ByComponent[c.ID] = append(pm.ByComponent[c.ID], PortRole{Port: port, Kind: result.KindDelivered, DstMAC: mac})
				ids = append(ids, c.ID)
				found = true
			}
		}
		if !found {
			missing = append(missing, fmt.Sprintf("%s (MAC %s)", port, mac))
		}
	}
	if len(pm.ByComponent) == 0 {
		return PortMap{}, nil, fmt.Errorf("windows: no pktmon component carries an endpoint's MAC (%d components listed; endpoints %s): nothing to capture at", len(comps), strings.Join(missing, ", "))
	}
	if len(missing) > 0 {
		return PortMap{}, nil, fmt.Errorf("windows: no pktmon component carries the MAC of %s", strings.Join(missing, ", "))
	}
	sort.Ints(ids)
	return pm, ids, nil
}

// Run sends each input from its endpoint's compartment while pktmon captures at the
// endpoints' components, then converts the capture (pcapng without and with drops only,
// and text for each appearance's metadata) and reads it back into results.
func (b *Backend) Run(ctx context.Context, scenario string, inputs []hostprobe.Input, opts hostprobe.RunOptions) ([]*result.Packet, error) {
	b.mu.Lock()
	plan, closed := b.plan, b.closed
	b.mu.Unlock()
	if plan == nil || closed {
		return nil, fmt.Errorf("windows: run: %w", hostprobe.ErrNotSetUp)
	}
	syn, err := b.pktmonSyntax(ctx)
	if err != nil {
		return nil, err
	}
	pm, capture, err := b.portMap(ctx, syn)
	if err != nil {
		return nil, err
	}
	base := filepath.Join(b.opts.WorkDir, plan.Prefix+scenario)
	etl := base + ".etl"
	files := [3]string{base + ".pcapng", base + "-drops.pcapng", base + ".txt"}
	// A capture left running (by us or anyone) would make start fail: stop it first.
	// Its error (nothing to stop) does not matter. Filters are left alone: they may be
	// the host's own; the capture names its components instead.
	_, _ = b.run.Run(ctx, "pktmon", "stop")
	if _, err := b.command(ctx, "pktmon", syn.Start(etl, capture)...); err != nil {
		return nil, err
	}
	b.mu.Lock()
	b.capturing = true
	b.mu.Unlock()
	stopCapture := func() error {
		b.mu.Lock()
		defer b.mu.Unlock()
		if !b.capturing {
			return nil
		}
		if _, err := b.command(context.Background(), "pktmon", "stop"); err != nil {
			return err
		}
		b.capturing = false
		return nil
	}
	inputs = append([]hostprobe.Input(nil), inputs...) // rewritten by opts.Input below
	sent := make([]time.Time, len(inputs))
	notSent := map[int]string{}
	for i, in := range inputs {
		in = opts.Input(i, in)
		inputs[i] = in
		for _, st := range in.Steps {
			calls, err := plan.StepCalls(st)
			if err != nil {
				return nil, errors.Join(fmt.Errorf("windows: before input %d: %w", i+1, err), stopCapture())
			}
			for _, c := range calls {
				if err := b.step(ctx, func() error { return b.exec(ctx, c) }); err != nil {
					return nil, errors.Join(fmt.Errorf("windows: before input %d: %s: %w", i+1, c, err), stopCapture())
				}
			}
		}
		sent[i] = time.Now()
		if why := b.sendInput(plan, in); why != "" {
			notSent[i] = why
		}
		select {
		case <-ctx.Done():
		case <-time.After(b.opts.Gap):
		}
	}
	if err := stopCapture(); err != nil {
		return nil, err
	}
	if _, err := b.command(context.Background(), "pktmon", syn.Pcapng(etl, files[0], false)...); err != nil {
		return nil, err
	}
	if _, err := b.command(context.Background(), "pktmon", syn.Pcapng(etl, files[1], true)...); err != nil {
		return nil, err
	}
	if _, err := b.command(context.Background(), "pktmon", syn.Text(etl, files[2])...); err != nil {
		return nil, err
	}
	recs, err := readCapture(files)
	if err != nil {
		return nil, err
	}
	out, err := Results(scenario, inputs, sent, recs, pm)
	if err != nil {
		return nil, err
	}
	for i, p := range out {
		if why, ok := notSent[i]; ok {
			p.Drops = append(p.Drops, result.Drop{Port: p.In, Component: "hnspath", Reason: "windows-not-injected", Text: why, Layer: "hnspath"})
			p.Outcome = hostprobe.Outcome(p)
		}
		opts.Done(i, p)
	}
	return out, ctx.Err()
}

// readCapture reads the three conversions of one ETL and joins them (joinCapture).
func readCapture(files [3]string) ([]pktmon.PacketRecord, error) {
	var recs [2][]pktmon.PacketRecord
	for i := range 2 {
		f, err := os.Open(files[i])
		if err != nil {
			return nil, fmt.Errorf("windows: %w", err)
		}
		recs[i], err = pktmon.ReadPcapng(f, files[i])
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("windows: %w", err)
		}
	}
	data, err := input.ReadFile(files[2], 0)
	if err != nil {
		return nil, fmt.Errorf("windows: %w", err)
	}
	text, err := parsePktmonText(files[2], decodeOutput(data))
	if err != nil {
		return nil, fmt.Errorf("windows: %w", err)
	}
	out, err := joinCapture(recs[0], recs[1], text, files)
	if err != nil {
		return nil, fmt.Errorf("windows: %w", err)
	}
	return out, nil
}

// sendInput generates input in's traffic from its endpoint's compartment: a UDP
// datagram, or a TCP SYN (a connection attempt), from the frame's source to its
// destination. It returns why it sent nothing, or "".
func (b *Backend) sendInput(plan *Plan, in hostprobe.Input) string {
	ep, ok := plan.Ports[in.Port]
	if !ok {
		return "only inputs at endpoint ports are sent on Windows"
	}
	t, ok := TupleOf(in.Frame, vfp.Out)
	if !ok {
		return "only IPv4 TCP and UDP inputs are sent on Windows (sockets, not raw frames)"
	}
	var ns string
	for _, c := range plan.Calls {
		if c.Op == OpCreateEndpoint && c.Name == ep {
			ns = c.Namespace
		}
	}
	b.mu.Lock()
	comp := b.comps[ns]
	b.mu.Unlock()
	if comp == 0 {
		return "the endpoint has no compartment"
	}
	local := netip.AddrPortFrom(t.Src, t.SrcPort)
	remote := netip.AddrPortFrom(t.Dst, t.DstPort)
	var err error
	switch t.Proto {
	case 17:
		err = b.send.UDP(comp, local, remote, udpPayload(in.Frame))
	case 6:
		if !t.SYN {
			return "only TCP SYNs are sent on Windows (a socket cannot send other segments)"
		}
		err = b.send.TCPConnect(comp, local, remote, b.opts.Gap/2)
	default:
		return "only IPv4 TCP and UDP inputs are sent on Windows (sockets, not raw frames)"
	}
	if err != nil {
		return "send: " + err.Error()
	}
	return ""
}

// udpPayload returns the UDP payload of a frame (TupleOf accepted it).
func udpPayload(frame []byte) []byte {
	off := 14
	if len(frame) >= 18 && frame[12] == 0x81 && frame[13] == 0x00 {
		off = 18
	}
	ip := frame[off:]
	ihl := int(ip[0]&0x0f) * 4
	if len(ip) < ihl+8 {
		return nil
	}
	udpLen := int(ip[ihl+4])<<8 | int(ip[ihl+5])
	end := min(ihl+udpLen, len(ip))
	if end < ihl+8 {
		return nil
	}
	return bytes.Clone(ip[ihl+8 : end])
}
