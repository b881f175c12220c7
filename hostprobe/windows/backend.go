package windows

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hnspath/hnspath/emulator/fabric"
	"github.com/hnspath/hnspath/emulator/hns"
	"github.com/hnspath/hnspath/emulator/vfp"
	"github.com/hnspath/hnspath/hostprobe"
	"github.com/hnspath/hnspath/pktmon"
	"github.com/hnspath/hnspath/result"
)

// Options tune the Windows backend.
type Options struct {
	// Host is the topology host to build (default: the only host).
	Host string
	// Prefix is the session prefix (default: a fresh NewPrefix).
	Prefix string
	// WorkDir receives the ETL, pcapng and text files and the session journal (default:
	// the temporary directory; Clean looks for journals there).
	WorkDir string
	// Gap is the time between two inputs, so that a captured packet can be told to
	// belong to one (default DefaultGap).
	Gap time.Duration
	// CloseOnSignal tears the objects down on SIGINT/SIGTERM and exits.
	CloseOnSignal bool
	// Container is the command that starts a minimal process-isolated container in an
	// HNS namespace, as argv with the placeholders {namespace} (the namespace's HNS ID)
	// and {name} (a name for the container: the namespace's prefixed name). HNS gives a
	// Host namespace a network compartment only when a container starts in it
	// (hcsshim#1048, Windows-Containers#401); without one no input can be sent. Leave it
	// empty when the namespaces get compartments otherwise: Setup then checks them and
	// fails on NamespaceId 0.
	Container []string
	// ContainerStop stops such a container (argv, placeholder {name}); Close runs it
	// before it deletes the namespace.
	ContainerStop []string
	// CompartmentTries is how often Setup re-reads a namespace's NamespaceId after
	// starting its container, CompartmentWait the pause between reads (defaults 40 and
	// 250ms).
	CompartmentTries int
	CompartmentWait  time.Duration
}

// DefaultGap is the default time between inputs.
const DefaultGap = 250 * time.Millisecond

// Sender sends an input's traffic from a network compartment: sockets opened on an OS
// thread switched to the compartment (sender_windows.go). Windows has no AF_PACKET, so
// only UDP datagrams and TCP connection attempts (a SYN) are sent.
type Sender interface {
	UDP(compartment uint32, local, remote netip.AddrPort, payload []byte) error
	TCPConnect(compartment uint32, local, remote netip.AddrPort, timeout time.Duration) error
	// UDPBatch sends datagrams from one compartment, reusing a socket per address pair,
	// and returns how many it sent (for throughput).
	UDPBatch(compartment uint32, ds []Datagram) (int, error)
}

// Datagram is one UDP datagram to send.
type Datagram struct {
	Local, Remote netip.AddrPort
	Payload       []byte
}

// Backend is the Windows backend (see the package documentation). Its logic runs on any
// platform against the HCN, Runner and Sender interfaces; NewBackend wires Windows' own
// (off Windows they return errors.ErrUnsupported).
type Backend struct {
	opts Options
	hcn  HCN
	run  Runner
	send Sender

	// mu protects the fields below. Setup holds it during each HCN call, so that Close
	// (from a signal) waits for an object being created and then deletes it too.
	mu         sync.Mutex
	plan       *Plan
	feats      Features
	done       int               // calls of plan executed
	ids        map[string]string // prefixed name -> HNS ID
	comps      map[string]uint32 // namespace prefixed name -> compartment ID
	macs       map[string]string // endpoint port -> MAC (lower case, colons)
	ips        map[string]netip.Addr
	containers []string // containers started (names), newest last
	journal    *journal
	syntax     *PktmonSyntax
	capturing  bool // a pktmon capture of ours runs
	closed     bool // Close ran: Setup stops
	stop       func()
	// closing is set by Close before it waits for the lock, so that Setup stops at its
	// next step instead of racing Close for the lock.
	closing atomic.Bool
}

var _ hostprobe.Backend = (*Backend)(nil)

// NewBackendWith returns a backend over the given HCN, runner and sender (tests pass
// fakes).
func NewBackendWith(opts Options, h HCN, r Runner, s Sender) *Backend {
	if opts.Gap <= 0 {
		opts.Gap = DefaultGap
	}
	if opts.WorkDir == "" {
		opts.WorkDir = os.TempDir()
	}
	if opts.CompartmentTries <= 0 {
		opts.CompartmentTries = 40
	}
	if opts.CompartmentWait < 0 {
		opts.CompartmentWait = 0
	} else if opts.CompartmentWait == 0 {
		opts.CompartmentWait = 250 * time.Millisecond
	}
	return &Backend{opts: opts, hcn: h, run: r, send: s, ids: map[string]string{}, comps: map[string]uint32{},
		macs: map[string]string{}, ips: map[string]netip.Addr{}}
}

// NewBackend returns a Windows backend over the host's HNS, commands and sockets.
func NewBackend(opts Options) *Backend {
	h, r, s := hostAdapters()
	return NewBackendWith(opts, h, r, s)
}

// Name returns result.BackendWindows.
func (b *Backend) Name() string { return result.BackendWindows }

// errClosed is returned by Setup when Close ran meanwhile.
var errClosed = errors.New("windows: closed during setup")

// Setup checks the host's HNS features, then executes the plan's calls in order,
// starts a container in each namespace that has no compartment and reads the
// endpoints' MACs and addresses back; on an error it undoes what it did.
func (b *Backend) Setup(ctx context.Context, topo *fabric.Topology) error {
	prefix := b.opts.Prefix
	if prefix == "" {
		var err error
		if prefix, err = NewPrefix(); err != nil {
			return err
		}
	}
	feats, err := b.hcn.Features()
	if err != nil {
		return fmt.Errorf("windows: HNS features: %w", err)
	}
	plan, err := NewPlan(topo, b.opts.Host, prefix)
	if err != nil {
		return err
	}
	if err := checkFeatures(plan, feats); err != nil {
		return err
	}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return errClosed
	}
	b.plan, b.feats = plan, feats
	b.journal = newJournal(b.opts.WorkDir, prefix)
	b.mu.Unlock()
	if b.opts.CloseOnSignal {
		b.onSignal()
	}
	for _, c := range plan.Calls {
		if err := b.step(ctx, func() error {
			if err := b.exec(ctx, c); err != nil {
				return fmt.Errorf("windows: %s: %w", c, err)
			}
			b.done++
			return nil
		}); err != nil {
			return errors.Join(err, b.Close())
		}
	}
	for _, c := range plan.Calls {
		if c.Op != OpCreateNamespace {
			continue
		}
		if err := b.step(ctx, func() error { return b.compartment(ctx, c.Name) }); err != nil {
			return errors.Join(err, b.Close())
		}
	}
	for port, ep := range plan.Ports {
		if err := b.step(ctx, func() error {
			o, err := b.hcn.Get(hns.KindEndpoint, b.ids[ep])
			if err != nil {
				return fmt.Errorf("windows: endpoint %s: %w", ep, err)
			}
			b.macs[port] = pktmon.NormMAC(o.MAC)
			for _, a := range o.IPv4 {
				if ip, err := netip.ParseAddr(a); err == nil && ip.Is4() {
					b.ips[port] = ip
				}
			}
			return nil
		}); err != nil {
			return errors.Join(err, b.Close())
		}
	}
	return nil
}

// step runs fn with the lock held, unless the context ended or Close ran.
func (b *Backend) step(ctx context.Context, fn func() error) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed || b.closing.Load() {
		return errClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return fn()
}

// onSignal tears down on SIGINT/SIGTERM and exits 130/143.
func (b *Backend) onSignal() {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM)
	quit := make(chan struct{})
	go func() {
		select {
		case sig := <-ch:
			if err := b.Close(); err != nil {
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
	b.mu.Lock()
	b.stop = func() { signal.Stop(ch); close(quit) }
	b.mu.Unlock()
}

// checkFeatures refuses a plan the host's HNS cannot build: DSR load balancers without
// DSR support.
func checkFeatures(p *Plan, f Features) error {
	for _, c := range p.Calls {
		if c.Op != OpCreateLoadBalancer {
			continue
		}
		var lb hns.HostComputeLoadBalancer
		if err := json.Unmarshal(c.JSON, &lb); err != nil {
			return fmt.Errorf("windows: %s: %w", c, err)
		}
		if lb.Flags&hns.LoadBalancerFlagsDSR != 0 && !f.DSR {
			return fmt.Errorf("windows: %s: the load balancer uses DSR (EnableDirectServerReturn) but this host's HNS %d.%d does not support it (hcn.DSRSupported)", c, f.Major, f.Minor)
		}
	}
	return nil
}

// exec runs one call; the caller holds b.mu.
func (b *Backend) exec(ctx context.Context, c Call) error {
	h := b.hcn
	switch c.Op {
	case OpCreateNetwork:
		id, err := h.CreateNetwork(c.JSON)
		if err != nil {
			return err
		}
		b.created(c, id)
	case OpCreateNamespace:
		id, comp, err := h.CreateNamespace(c.JSON)
		if err != nil {
			return err
		}
		b.created(c, id)
		b.comps[c.Name] = comp
	case OpCreateEndpoint:
		id, err := h.CreateEndpoint(c.JSON, b.ids[c.Network])
		if err != nil {
			return err
		}
		b.created(c, id)
	case OpAttach:
		return h.AddNamespaceEndpoint(b.ids[c.Namespace], b.ids[c.Endpoint])
	case OpCreateLoadBalancer:
		id, err := h.CreateLoadBalancer(c.JSON, b.idsOf(c.Endpoints))
		if err != nil {
			return err
		}
		b.created(c, id)
	case OpUpdateLoadBalancer:
		if b.feats.ModifyLoadBalancer {
			return h.UpdateLoadBalancer(b.ids[c.Name], b.idsOf(c.Endpoints))
		}
		// HNS before 15.4 cannot modify a load balancer: delete it and create it again
		// with the new backends (what kube-proxy's winkernel proxier does there).
		var orig *Call
		for i := range b.plan.Calls {
			if b.plan.Calls[i].Op == OpCreateLoadBalancer && b.plan.Calls[i].Name == c.Name {
				orig = &b.plan.Calls[i]
			}
		}
		if orig == nil {
			return fmt.Errorf("no load balancer %s in the plan", c.Name)
		}
		if err := deleteGone(h, hns.KindLoadBalancer, b.ids[c.Name]); err != nil {
			return fmt.Errorf("delete to re-create (HNS %d.%d cannot modify a load balancer): %w", b.feats.Major, b.feats.Minor, err)
		}
		b.journal.gone(hns.KindLoadBalancer, b.ids[c.Name])
		delete(b.ids, c.Name)
		id, err := h.CreateLoadBalancer(orig.JSON, b.idsOf(c.Endpoints))
		if err != nil {
			return fmt.Errorf("re-create (HNS %d.%d cannot modify a load balancer): %w", b.feats.Major, b.feats.Minor, err)
		}
		b.created(*orig, id)
	case OpDeleteLoadBalancer:
		return b.deleted(c, deleteGone(h, hns.KindLoadBalancer, b.ids[c.Name]))
	case OpDetach:
		return detachGone(h, hns.KindNamespace, b.ids[c.Namespace], b.ids[c.Endpoint])
	case OpDeleteEndpoint:
		return b.deleted(c, deleteGone(h, hns.KindEndpoint, b.ids[c.Name]))
	case OpDeleteNamespace:
		return b.deleted(c, deleteGone(h, hns.KindNamespace, b.ids[c.Name]))
	case OpDeleteNetwork:
		return b.deleted(c, deleteGone(h, hns.KindNetwork, b.ids[c.Name]))
	default:
		return fmt.Errorf("unknown op %v", c.Op)
	}
	return nil
}

// created records a new object's ID, in memory and in the session journal.
func (b *Backend) created(c Call, id string) {
	b.ids[c.Name] = id
	b.journal.add(c.Kind, id, c.Name)
}

// deleted records that a delete succeeded.
func (b *Backend) deleted(c Call, err error) error {
	if err == nil {
		b.journal.gone(c.Kind, b.ids[c.Name])
	}
	return err
}

func (b *Backend) idsOf(names []string) []string {
	out := make([]string, 0, len(names))
	for _, n := range names {
		out = append(out, b.ids[n])
	}
	return out
}

// compartment makes sure namespace ns has a network compartment: when HNS gave it none
// (NamespaceId 0, a Host namespace without a container), it starts the configured
// container in it and re-reads it until it has one. The caller holds b.mu.
func (b *Backend) compartment(ctx context.Context, ns string) error {
	id := b.ids[ns]
	if b.comps[ns] != 0 {
		return nil
	}
	o, err := b.hcn.Get(hns.KindNamespace, id)
	if err != nil {
		return fmt.Errorf("windows: namespace %s: %w", ns, err)
	}
	if o.Compartment != 0 {
		b.comps[ns] = o.Compartment
		return nil
	}
	if len(b.opts.Container) == 0 {
		return fmt.Errorf("windows: namespace %s (%s) has no network compartment (NamespaceId 0): HNS creates one only when a container starts in the namespace (hcsshim#1048); give a command that starts a process-isolated container in it (--windows-container, docs/windows-probe.md)", ns, id)
	}
	args := fill(b.opts.Container, map[string]string{"{namespace}": id, "{name}": ns})
	out, err := b.run.Run(ctx, args[0], args[1:]...)
	if err != nil {
		return fmt.Errorf("windows: namespace %s: starting its container (%s): %w: %s", ns, strings.Join(args, " "), err, clip(strings.TrimSpace(decodeOutput(out)), 200))
	}
	b.containers = append(b.containers, ns)
	for try := 0; try < b.opts.CompartmentTries; try++ {
		if try > 0 && b.opts.CompartmentWait > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(b.opts.CompartmentWait):
			}
		}
		o, err := b.hcn.Get(hns.KindNamespace, id)
		if err != nil {
			return fmt.Errorf("windows: namespace %s: %w", ns, err)
		}
		if o.Compartment != 0 {
			b.comps[ns] = o.Compartment
			return nil
		}
	}
	return fmt.Errorf("windows: namespace %s (%s) still has no network compartment (NamespaceId 0) after its container started (%s): the container did not join the namespace", ns, id, strings.Join(args, " "))
}

// fill replaces placeholders in each argument.
func fill(argv []string, repl map[string]string) []string {
	out := make([]string, len(argv))
	for i, a := range argv {
		for k, v := range repl {
			a = strings.ReplaceAll(a, k, v)
		}
		out[i] = a
	}
	return out
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

// Close stops a capture of ours and the containers it started, then removes every
// object Setup created, newest first; objects already gone count as removed. It waits
// for an HCN call in flight and may be called more than once, also from a signal.
func (b *Backend) Close() error {
	b.closing.Store(true)
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	if b.stop != nil {
		b.stop()
		b.stop = nil
	}
	var errs []error
	ctx := context.Background()
	if b.capturing {
		if _, err := b.run.Run(ctx, "pktmon", "stop"); err != nil {
			errs = append(errs, fmt.Errorf("windows: pktmon stop: %w", err))
		} else {
			b.capturing = false
		}
	}
	for i := len(b.containers) - 1; i >= 0; i-- {
		if len(b.opts.ContainerStop) == 0 {
			break
		}
		args := fill(b.opts.ContainerStop, map[string]string{"{name}": b.containers[i], "{namespace}": b.ids[b.containers[i]]})
		if out, err := b.run.Run(ctx, args[0], args[1:]...); err != nil {
			errs = append(errs, fmt.Errorf("windows: stopping container %s: %w: %s", b.containers[i], err, clip(strings.TrimSpace(decodeOutput(out)), 200)))
		}
	}
	b.containers = nil
	if b.plan == nil {
		return errors.Join(errs...)
	}
	failed := false
	for _, c := range b.plan.Teardown(b.done) {
		if _, ok := b.ids[c.Name]; !ok && c.Op != OpDetach {
			continue
		}
		if err := b.exec(ctx, c); err != nil {
			failed = true
			errs = append(errs, fmt.Errorf("windows: %s: %w", c, err))
		}
	}
	if !failed {
		b.done = 0
		b.journal.remove()
	}
	return errors.Join(errs...)
}

// switchPort returns the VFP port name of an endpoint port, by its MAC.
func (b *Backend) switchPort(ctx context.Context, port string) (string, error) {
	b.mu.Lock()
	mac, ok := b.macs[port]
	b.mu.Unlock()
	if !ok {
		return "", fmt.Errorf("windows: no endpoint at port %q", port)
	}
	out, err := b.command(ctx, "vfpctrl", ListVMSwitchPortArgs()...)
	if err != nil {
		return "", err
	}
	ports, err := ParseSwitchPorts("vfpctrl /list-vmswitch-port", strings.NewReader(out))
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

// command runs a command and returns its decoded output.
func (b *Backend) command(ctx context.Context, name string, args ...string) (string, error) {
	out, err := b.run.Run(ctx, name, args...)
	text := decodeOutput(out)
	if err != nil {
		return text, fmt.Errorf("windows: %s %s: %w: %s", name, strings.Join(args, " "), err, clip(strings.TrimSpace(text), 300))
	}
	return text, nil
}

// HostRules reads the VFP rules the host programmed on an endpoint port's switch port
// (vfpctrl /port P /list-rule), for DiffRules against the emulator's.
func (b *Backend) HostRules(ctx context.Context, port string) ([]*vfp.Layer, error) {
	sp, err := b.switchPort(ctx, port)
	if err != nil {
		return nil, err
	}
	out, err := b.command(ctx, "vfpctrl", ListRuleArgs(sp)...)
	if err != nil {
		return nil, err
	}
	return ParseListRule("vfpctrl /list-rule", strings.NewReader(out))
}

// AskVFP asks the host's VFP what it would do with tuple t on an endpoint port
// (vfpctrl /port P /process-tuples).
func (b *Backend) AskVFP(ctx context.Context, port string, t Tuple) (TupleVerdict, error) {
	sp, err := b.switchPort(ctx, port)
	if err != nil {
		return TupleVerdict{}, err
	}
	out, err := b.command(ctx, "vfpctrl", ProcessTuplesArgs(sp, t)...)
	if err != nil {
		return TupleVerdict{}, err
	}
	return ParseProcessTuples("vfpctrl /process-tuples", strings.NewReader(out))
}
