//go:build windows

package windows

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/Microsoft/hcsshim/hcn"
	"github.com/hnspath/hnspath/emulator/fabric"
	"github.com/hnspath/hnspath/emulator/vfp"
	"github.com/hnspath/hnspath/hostprobe"
	"github.com/hnspath/hnspath/pktmon"
	"github.com/hnspath/hnspath/result"
	"golang.org/x/sys/windows"
)

// Backend is the Windows backend (see the package documentation).
type Backend struct {
	opts Options

	mu    sync.Mutex // protects the fields below
	plan  *Plan
	done  int               // calls of plan executed
	ids   map[string]string // prefixed name -> HNS ID
	comps map[string]uint32 // namespace prefixed name -> compartment ID
	macs  map[string]string // endpoint port -> MAC (lower case, colons)
	ips   map[string]netip.Addr
	stop  func()
}

var _ hostprobe.Backend = (*Backend)(nil)

// NewBackend returns a Windows backend.
func NewBackend(opts Options) *Backend {
	if opts.Gap <= 0 {
		opts.Gap = DefaultGap
	}
	if opts.WorkDir == "" {
		opts.WorkDir = os.TempDir()
	}
	return &Backend{opts: opts, ids: map[string]string{}, comps: map[string]uint32{}, macs: map[string]string{}, ips: map[string]netip.Addr{}}
}

// Name returns result.BackendWindows.
func (b *Backend) Name() string { return result.BackendWindows }

// Setup executes the plan's calls in order; on an error it undoes what it did.
func (b *Backend) Setup(ctx context.Context, topo *fabric.Topology) error {
	prefix := b.opts.Prefix
	if prefix == "" {
		var err error
		if prefix, err = NewPrefix(); err != nil {
			return err
		}
	}
	plan, err := NewPlan(topo, b.opts.Host, prefix)
	if err != nil {
		return err
	}
	b.mu.Lock()
	b.plan = plan
	b.mu.Unlock()
	if b.opts.CloseOnSignal {
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM)
		quit := make(chan struct{})
		go func() {
			select {
			case sig := <-ch:
				err := b.Close()
				if err != nil {
					fmt.Fprintln(os.Stderr, "hostprobe/windows: teardown:", err)
				}
				code := 130
				if sig == syscall.SIGTERM {
					code = 143
				}
				os.Exit(code)
			case <-quit:
			}
		}()
		b.stop = func() { signal.Stop(ch); close(quit) }
	}
	for i, c := range plan.Calls {
		if err := ctx.Err(); err != nil {
			return errors.Join(err, b.Close())
		}
		if err := b.exec(c); err != nil {
			return errors.Join(fmt.Errorf("windows: %s: %w", c, err), b.Close())
		}
		b.mu.Lock()
		b.done = i + 1
		b.mu.Unlock()
	}
	for port, ep := range plan.Ports {
		e, err := hcn.GetEndpointByID(b.ids[ep])
		if err != nil {
			return errors.Join(fmt.Errorf("windows: endpoint %s: %w", ep, err), b.Close())
		}
		b.macs[port] = pktmon.NormMAC(e.MacAddress)
		for _, ipc := range e.IpConfigurations {
			if a, err := netip.ParseAddr(ipc.IpAddress); err == nil && a.Is4() {
				b.ips[port] = a
			}
		}
	}
	return nil
}

// exec runs one call.
func (b *Backend) exec(c Call) error {
	switch c.Op {
	case OpCreateNetwork:
		var n hcn.HostComputeNetwork
		if err := json.Unmarshal(c.JSON, &n); err != nil {
			return err
		}
		created, err := n.Create()
		if err != nil {
			return err
		}
		b.ids[c.Name] = created.Id
	case OpCreateNamespace:
		var ns hcn.HostComputeNamespace
		if err := json.Unmarshal(c.JSON, &ns); err != nil {
			return err
		}
		created, err := ns.Create()
		if err != nil {
			return err
		}
		b.ids[c.Name] = created.Id
		b.comps[c.Name] = created.NamespaceId
	case OpCreateEndpoint:
		var e hcn.HostComputeEndpoint
		if err := json.Unmarshal(c.JSON, &e); err != nil {
			return err
		}
		e.HostComputeNetwork = b.ids[c.Network]
		created, err := e.Create()
		if err != nil {
			return err
		}
		b.ids[c.Name] = created.Id
	case OpAttach:
		return hcn.AddNamespaceEndpoint(b.ids[c.Namespace], b.ids[c.Endpoint])
	case OpCreateLoadBalancer:
		var lb hcn.HostComputeLoadBalancer
		if err := json.Unmarshal(c.JSON, &lb); err != nil {
			return err
		}
		for _, ep := range c.Endpoints {
			lb.HostComputeEndpoints = append(lb.HostComputeEndpoints, b.ids[ep])
		}
		created, err := lb.Create()
		if err != nil {
			return err
		}
		b.ids[c.Name] = created.Id
	case OpUpdateLoadBalancer:
		lb, err := hcn.GetLoadBalancerByID(b.ids[c.Name])
		if err != nil {
			return err
		}
		lb.HostComputeEndpoints = nil
		for _, ep := range c.Endpoints {
			lb.HostComputeEndpoints = append(lb.HostComputeEndpoints, b.ids[ep])
		}
		_, err = lb.Update(lb.Id)
		return err
	case OpDeleteLoadBalancer:
		return notFoundOK((&hcn.HostComputeLoadBalancer{Id: b.ids[c.Name]}).Delete())
	case OpDetach:
		return notFoundOK(hcn.RemoveNamespaceEndpoint(b.ids[c.Namespace], b.ids[c.Endpoint]))
	case OpDeleteEndpoint:
		return notFoundOK((&hcn.HostComputeEndpoint{Id: b.ids[c.Name]}).Delete())
	case OpDeleteNamespace:
		return notFoundOK((&hcn.HostComputeNamespace{Id: b.ids[c.Name]}).Delete())
	case OpDeleteNetwork:
		return notFoundOK((&hcn.HostComputeNetwork{Id: b.ids[c.Name]}).Delete())
	default:
		return fmt.Errorf("unknown op %v", c.Op)
	}
	return nil
}

// notFoundOK treats "not found" as a successful delete (CNI pkg/hns RemoveHcnEndpoint).
func notFoundOK(err error) error {
	if err != nil && hcn.IsNotFoundError(err) {
		return nil
	}
	return err
}

// Run sends each input from its endpoint's compartment while pktmon captures, then
// reads the capture back into results.
func (b *Backend) Run(ctx context.Context, scenario string, inputs []hostprobe.Input, opts hostprobe.RunOptions) ([]*result.Packet, error) {
	b.mu.Lock()
	plan := b.plan
	b.mu.Unlock()
	if plan == nil {
		return nil, fmt.Errorf("windows: run: %w", hostprobe.ErrNotSetUp)
	}
	comps, err := b.components(ctx)
	if err != nil {
		return nil, err
	}
	pm := PortMap{ByComponent: map[int][]PortRole{}}
	var capture []int
	for port, mac := range b.macs {
		for _, c := range comps {
			if c.MAC() == mac {
				pm.ByComponent[c.ID] = append(pm.ByComponent[c.ID], PortRole{Port: port, Kind: result.KindDelivered, Direction: "Rx"})
				capture = append(capture, c.ID)
			}
		}
	}
	etl := filepath.Join(b.opts.WorkDir, plan.Prefix+scenario+".etl")
	pcapng := strings.TrimSuffix(etl, ".etl") + ".pcapng"
	if _, err := runPktmon(ctx, FilterRemoveArgs()...); err != nil {
		return nil, err
	}
	if _, err := runPktmon(ctx, StartArgs(etl, capture)...); err != nil {
		return nil, err
	}
	stopCapture := func() error {
		_, err := runPktmon(context.Background(), StopArgs()...)
		return err
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
				if err := b.exec(c); err != nil {
					return nil, errors.Join(fmt.Errorf("windows: before input %d: %s: %w", i+1, c, err), stopCapture())
				}
			}
		}
		sent[i] = time.Now()
		if why := b.send(in); why != "" {
			notSent[i] = why
		}
		select {
		case <-ctx.Done():
		case <-time.After(b.opts.Gap):
		}
	}
	if _, err := runPktmon(context.Background(), StopArgs()...); err != nil {
		return nil, err
	}
	if _, err := runPktmon(context.Background(), Etl2PcapArgs(etl, pcapng)...); err != nil {
		return nil, err
	}
	f, err := os.Open(pcapng)
	if err != nil {
		return nil, fmt.Errorf("windows: %w", err)
	}
	defer f.Close()
	recs, err := pktmon.ReadPcapng(f, pcapng)
	if err != nil {
		return nil, fmt.Errorf("windows: %w", err)
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

// components lists pktmon's components.
func (b *Backend) components(ctx context.Context) ([]pktmon.Component, error) {
	out, err := runPktmon(ctx, ListArgs()...)
	if err != nil {
		return nil, err
	}
	return pktmon.ParseComponents("pktmon list --json", out)
}

// send generates input in's traffic from its endpoint's compartment: a UDP datagram, or a
// TCP SYN (a connection attempt), from the frame's source port to its destination. It
// returns why it sent nothing, or "".
func (b *Backend) send(in hostprobe.Input) string {
	ep, ok := b.plan.Ports[in.Port]
	if !ok {
		return "only inputs at endpoint ports are sent on Windows"
	}
	t, ok := TupleOf(in.Frame, vfp.Out)
	if !ok {
		return "only IPv4 TCP and UDP inputs are sent on Windows (sockets, not raw frames)"
	}
	var ns string
	for _, c := range b.plan.Calls {
		if c.Op == OpCreateEndpoint && c.Name == ep {
			ns = c.Namespace
		}
	}
	comp, ok := b.comps[ns]
	if !ok {
		return "the endpoint has no compartment"
	}
	var why string
	err := inCompartment(comp, func() error {
		local := netip.AddrPortFrom(t.Src, t.SrcPort)
		remote := netip.AddrPortFrom(t.Dst, t.DstPort)
		switch t.Proto {
		case 17:
			c, err := net.DialUDP("udp4", net.UDPAddrFromAddrPort(local), net.UDPAddrFromAddrPort(remote))
			if err != nil {
				return err
			}
			defer c.Close()
			payload := udpPayload(in.Frame)
			_, err = c.Write(payload)
			return err
		case 6:
			if !t.SYN {
				why = "only TCP SYNs are sent on Windows (a socket cannot send other segments)"
				return nil
			}
			d := net.Dialer{LocalAddr: net.TCPAddrFromAddrPort(local), Timeout: b.opts.Gap / 2}
			c, err := d.Dial("tcp4", remote.String())
			if err == nil {
				c.Close()
			}
			return nil // a refused or timed-out connection still sent its SYN
		}
		return nil
	})
	if err != nil {
		return "send: " + err.Error()
	}
	return why
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
	return bytes.Clone(ip[ihl+8 : end])
}

var (
	iphlpapi                          = windows.NewLazySystemDLL("iphlpapi.dll")
	procGetCurrentThreadCompartmentId = iphlpapi.NewProc("GetCurrentThreadCompartmentId")
	procSetCurrentThreadCompartmentId = iphlpapi.NewProc("SetCurrentThreadCompartmentId")
)

// inCompartment runs fn on an OS thread switched to network compartment id (the HNS
// namespace's), and switches back. Sockets fn opens belong to the compartment.
func inCompartment(id uint32, fn func() error) error {
	runtime.LockOSThread()
	old, _, _ := procGetCurrentThreadCompartmentId.Call()
	if r, _, _ := procSetCurrentThreadCompartmentId.Call(uintptr(id)); r != 0 {
		runtime.UnlockOSThread()
		return fmt.Errorf("SetCurrentThreadCompartmentId(%d): error %d", id, r)
	}
	err := fn()
	if r, _, _ := procSetCurrentThreadCompartmentId.Call(old); r != 0 {
		// Leave the thread locked: the runtime ends it instead of reusing it in the
		// wrong compartment.
		return errors.Join(err, fmt.Errorf("SetCurrentThreadCompartmentId(%d) back: error %d", old, r))
	}
	runtime.UnlockOSThread()
	return err
}

// pktmon runs pktmon with args.
func runPktmon(ctx context.Context, args ...string) ([]byte, error) {
	out, err := exec.CommandContext(ctx, "pktmon", args...).CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("windows: pktmon %s: %w: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return out, nil
}

// vfpctrl runs vfpctrl with args.
func vfpctrl(ctx context.Context, args ...string) ([]byte, error) {
	out, err := exec.CommandContext(ctx, "vfpctrl", args...).CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("windows: vfpctrl %s: %w: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return out, nil
}

// switchPort returns the VFP port name of an endpoint port, by its MAC.
func (b *Backend) switchPort(ctx context.Context, port string) (string, error) {
	mac, ok := b.macs[port]
	if !ok {
		return "", fmt.Errorf("windows: no endpoint at port %q", port)
	}
	out, err := vfpctrl(ctx, ListVMSwitchPortArgs()...)
	if err != nil {
		return "", err
	}
	ports, err := ParseSwitchPorts("vfpctrl /list-vmswitch-port", bytes.NewReader(out))
	if err != nil {
		return "", err
	}
	for _, p := range ports {
		if p.MAC == mac {
			return p.Name, nil
		}
	}
	return "", fmt.Errorf("windows: no switch port with MAC %s (endpoint %s)", mac, port)
}

// HostRules reads the VFP rules the host programmed on an endpoint port's switch port
// (vfpctrl /port P /list-rule), for DiffRules against the emulator's.
func (b *Backend) HostRules(ctx context.Context, port string) ([]*vfp.Layer, error) {
	sp, err := b.switchPort(ctx, port)
	if err != nil {
		return nil, err
	}
	out, err := vfpctrl(ctx, ListRuleArgs(sp)...)
	if err != nil {
		return nil, err
	}
	return ParseListRule("vfpctrl /list-rule", bytes.NewReader(out))
}

// AskVFP asks the host's VFP what it would do with tuple t on an endpoint port
// (vfpctrl /port P /process-tuples).
func (b *Backend) AskVFP(ctx context.Context, port string, t Tuple) (TupleVerdict, error) {
	sp, err := b.switchPort(ctx, port)
	if err != nil {
		return TupleVerdict{}, err
	}
	out, err := vfpctrl(ctx, ProcessTuplesArgs(sp, t)...)
	if err != nil {
		return TupleVerdict{}, err
	}
	return ParseProcessTuples("vfpctrl /process-tuples", bytes.NewReader(out))
}

// NotBuilt lists what the plan leaves out of the topology (Plan.Unsupported).
func (b *Backend) NotBuilt() []hostprobe.NotBuilt {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.plan == nil {
		return nil
	}
	out := make([]hostprobe.NotBuilt, 0, len(b.plan.Unsupported))
	for _, u := range b.plan.Unsupported {
		out = append(out, hostprobe.NotBuilt{What: u})
	}
	return out
}

// Throughput is not implemented on Windows: sockets in a compartment do not replay a
// workload's frames.
func (b *Backend) Throughput(ctx context.Context, w hostprobe.Workload) (hostprobe.Throughput, error) {
	return hostprobe.Throughput{}, fmt.Errorf("windows: throughput: %w", errors.ErrUnsupported)
}

// Close removes every object Setup created, newest first; objects already gone count as
// removed. It may be called more than once.
func (b *Backend) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.stop != nil {
		b.stop()
		b.stop = nil
	}
	if b.plan == nil {
		return nil
	}
	var errs []error
	for _, c := range b.plan.Teardown(b.done) {
		if _, ok := b.ids[c.Name]; !ok && c.Op != OpDetach {
			continue
		}
		if err := b.exec(c); err != nil {
			errs = append(errs, fmt.Errorf("windows: %s: %w", c, err))
		}
	}
	b.done = 0
	b.plan = nil
	return errors.Join(errs...)
}

// Clean deletes the endpoints and networks whose names start with prefix (leftovers of a
// session that did not tear down), and the namespaces and load balancers that only
// reference those endpoints. prefix must start with PrefixBase.
func Clean(prefix string) (removed []string, err error) {
	if !strings.HasPrefix(prefix, PrefixBase) {
		return nil, fmt.Errorf("hostprobe/windows: clean: prefix %q does not start with %s", prefix, PrefixBase)
	}
	var errs []error
	eps, err := hcn.ListEndpoints()
	if err != nil {
		return nil, err
	}
	ours := map[string]bool{}
	for _, e := range eps {
		if strings.HasPrefix(e.Name, prefix) {
			ours[strings.ToUpper(e.Id)] = true
		}
	}
	onlyOurs := func(ids []string) bool {
		for _, id := range ids {
			if !ours[strings.ToUpper(id)] {
				return false
			}
		}
		return len(ids) > 0
	}
	if lbs, err := hcn.ListLoadBalancers(); err == nil {
		for _, lb := range lbs {
			if onlyOurs(lb.HostComputeEndpoints) {
				if err := notFoundOK(lb.Delete()); err != nil {
					errs = append(errs, err)
				} else {
					removed = append(removed, "loadbalancer "+lb.Id)
				}
			}
		}
	} else {
		errs = append(errs, err)
	}
	if nss, err := hcn.ListNamespaces(); err == nil {
		for _, ns := range nss {
			ids, err := hcn.GetNamespaceEndpointIds(ns.Id)
			if err != nil || !onlyOurs(ids) {
				continue
			}
			for _, id := range ids {
				_ = notFoundOK(hcn.RemoveNamespaceEndpoint(ns.Id, id))
			}
			if err := notFoundOK(ns.Delete()); err != nil {
				errs = append(errs, err)
			} else {
				removed = append(removed, "namespace "+ns.Id)
			}
		}
	} else {
		errs = append(errs, err)
	}
	for _, e := range eps {
		if strings.HasPrefix(e.Name, prefix) {
			if err := notFoundOK(e.Delete()); err != nil {
				errs = append(errs, err)
			} else {
				removed = append(removed, "endpoint "+e.Name)
			}
		}
	}
	nets, err := hcn.ListNetworks()
	if err != nil {
		return removed, errors.Join(append(errs, err)...)
	}
	for _, n := range nets {
		if strings.HasPrefix(n.Name, prefix) {
			if err := notFoundOK(n.Delete()); err != nil {
				errs = append(errs, err)
			} else {
				removed = append(removed, "network "+n.Name)
			}
		}
	}
	return removed, errors.Join(errs...)
}
