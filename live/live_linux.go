package live

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
	"syscall"
	"time"

	"github.com/hnspath/hnspath/emulator/fabric"
	"github.com/hnspath/hnspath/hostprobe/linux"
	"github.com/hnspath/hnspath/pcapio"
	"golang.org/x/sys/unix"
)

// emuMTU is the MTU of the emulator's veth ends: never the bottleneck.
const emuMTU = 9000

// rx is one ring block of a port, handed to the owner.
type rx struct {
	port  int32
	block int32
}

// attached is one port bound to a veth pair.
type attached struct {
	name string
	id   fabric.PortID
	fd   int
	ring *ring
	back chan int32 // blocks the owner is done with
	ctr  Counters
}

type dropKey struct {
	host, comp, where, reason string
}

// Run attaches cfg.Ports, moves frames between them and the fabric until ctx
// is done, then removes everything it created and returns what happened.
// The fabric is used only by the goroutine that called Run.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	f := cfg.Fabric
	if len(cfg.Ports) == 0 && len(cfg.Interfaces) == 0 {
		return nil, errors.New("no ports to attach")
	}
	// Existing interfaces are opened first, in the caller's namespace (before
	// anything else runs on this goroutine's thread).
	type ext struct{ port, ifname string }
	var exts []ext
	for port, ifname := range cfg.Interfaces {
		exts = append(exts, ext{port, ifname})
	}
	sort.Slice(exts, func(i, j int) bool { return exts[i].port < exts[j].port })
	extFDs := make([]int, 0, len(exts))
	runtime.LockOSThread()
	for _, e := range exts {
		fd, err := openPacket(e.ifname)
		if err != nil {
			runtime.UnlockOSThread()
			for _, fd := range extFDs {
				unix.Close(fd)
			}
			return nil, fmt.Errorf("port %q: interface %s: %w", e.port, e.ifname, err)
		}
		extFDs = append(extFDs, fd)
	}
	runtime.UnlockOSThread()
	lab, err := linux.NewLab()
	if err != nil {
		return nil, err
	}
	if cfg.Log != nil {
		lab.SetLog(cfg.Log)
	}
	var ports []*attached
	stateWritten := false
	defer func() {
		for _, p := range ports {
			p.ring.close()
			if p.fd >= 0 {
				unix.Close(p.fd)
			}
		}
		if stateWritten {
			os.Remove(filepath.Join(cfg.RunDir, StateFile))
		}
		if cerr := lab.Close(); cerr != nil && cfg.Log != nil {
			fmt.Fprintf(cfg.Log, "live: teardown: %v\n", cerr)
		}
	}()
	emu, err := lab.NewNamespace("emu")
	if err != nil {
		return nil, err
	}
	st := &State{Session: lab.Session(), PID: os.Getpid()}
	byID := make(map[fabric.PortID]int32)
	for i, e := range exts {
		a := &attached{name: e.port, id: fabric.NoPort, fd: extFDs[i], back: make(chan int32, ringBlocks)}
		a.ctr.Port = e.port
		ports = append(ports, a) // closed by the deferred teardown from here on
	}
	for i, e := range exts {
		a := ports[i]
		id, ok := f.PortByName(e.port)
		if !ok {
			return nil, fmt.Errorf("port %q: no such port in the topology", e.port)
		}
		if _, dup := byID[id]; dup {
			return nil, fmt.Errorf("port %q: attached twice", e.port)
		}
		if k := f.Port(id).Kind; k == fabric.PortRouter || k == fabric.PortHostOS {
			return nil, fmt.Errorf("port %q is a %s port: only endpoints, NICs and peers can be attached", e.port, k)
		}
		if a.ring, err = setupRing(a.fd); err != nil {
			return nil, fmt.Errorf("port %q: %w", e.port, err)
		}
		a.id = id
		byID[id] = int32(i)
		st.Ports = append(st.Ports, PortNamespace{Port: e.port, Interface: e.ifname})
	}
	for i, name := range cfg.Ports {
		id, ok := f.PortByName(name)
		if !ok {
			return nil, fmt.Errorf("port %q: no such port in the topology", name)
		}
		if _, dup := byID[id]; dup {
			return nil, fmt.Errorf("port %q: attached twice", name)
		}
		p := f.Port(id)
		addrs, mtu, err := portAddrs(&cfg.Topology, f, p)
		if err != nil {
			return nil, fmt.Errorf("port %q: %w", name, err)
		}
		ns, err := lab.NewNamespace(nsName(name))
		if err != nil {
			return nil, fmt.Errorf("port %q: %w", name, err)
		}
		if err := setupPort(emu, ns, fmt.Sprintf("v%d", i), p, addrs, mtu); err != nil {
			return nil, fmt.Errorf("port %q: %w", name, err)
		}
		a := &attached{name: name, id: id, fd: -1, back: make(chan int32, ringBlocks)}
		a.ctr.Port = name
		ifname := fmt.Sprintf("v%d", i)
		if err := emu.Do(func() error {
			fd, err := openPacket(ifname)
			a.fd = fd
			if err == nil {
				a.ring, err = setupRing(fd)
			}
			return err
		}); err != nil {
			return nil, fmt.Errorf("port %q: %w", name, err)
		}
		byID[id] = int32(len(ports))
		ports = append(ports, a)
		st.Ports = append(st.Ports, PortNamespace{Port: name, Namespace: ns.FullName(), Interface: "eth0"})
	}
	if cfg.RunDir != "" {
		if err := writeState(cfg.RunDir, st); err != nil {
			return nil, fmt.Errorf("run dir: %w", err)
		}
		stateWritten = true
	}

	var pcap *pcapio.NgWriter
	if cfg.Pcap != nil {
		pcap, err = pcapio.NewNgWriter(cfg.Pcap, pcapio.NgOptions{Application: "hnspath live", Comment: "live session " + st.Session})
		if err != nil {
			return nil, err
		}
	}

	blocks := make(chan rx, ringBlocks*len(ports))
	done := make(chan struct{})
	var wg sync.WaitGroup
	for i, a := range ports {
		wg.Add(1)
		go read(int32(i), a, blocks, done, &wg)
	}
	defer func() {
		close(done)
		wg.Wait()
	}()
	if cfg.Ready != nil {
		cfg.Ready(st)
	}

	drops := make(map[dropKey]uint64)
	unmapped := make(map[string]uint64)
	var res fabric.Outcome
	start := time.Now()
	var werr error
	record := func(port string, frame []byte, t time.Time) {
		if pcap == nil || werr != nil {
			return
		}
		werr = pcap.Write(pcapio.Packet{Port: port, Time: t, Data: frame})
	}
	var a *attached
	var now time.Time
	inject := func(frame []byte) {
		a.ctr.Received++
		record(a.name, frame, now)
		f.Inject(a.id, frame, int64(now.Sub(start)), &res)
		for _, o := range res.Outputs {
			if o.Kind != fabric.Delivered {
				continue
			}
			j, ok := byID[o.Port]
			if !ok {
				unmapped[f.Port(o.Port).Name]++
				continue
			}
			b := ports[j]
			if _, err := unix.Write(b.fd, o.Frame); err != nil {
				if errors.Is(err, unix.EMSGSIZE) {
					b.ctr.TooBig++
				}
				continue
			}
			b.ctr.Sent++
			record(b.name, o.Frame, now)
		}
		for i := range res.Drops {
			d := &res.Drops[i]
			drops[dropKey{d.Host, d.Component, d.Where, d.Reason.Text()}]++
		}
		if cfg.Trace != nil {
			writeTrace(cfg.Trace, a.name, &res)
		}
	}
loop:
	for {
		var in rx
		select {
		case <-ctx.Done():
			break loop
		case in = <-blocks:
		}
		a = ports[in.port]
		now = time.Now()
		frames(a.ring.block(in.block), inject)
		a.ring.release(in.block)
		a.back <- in.block
	}
	if pcap != nil && werr == nil {
		werr = pcap.Flush()
	}
	r := &Result{Session: st.Session, Unmapped: unmapped}
	for _, a := range ports {
		r.Ports = append(r.Ports, a.ctr)
	}
	for k, n := range drops {
		r.Drops = append(r.Drops, DropCount{Host: k.host, Component: k.comp, Where: k.where, Reason: k.reason, Count: n})
	}
	sort.Slice(r.Drops, func(i, j int) bool { return r.Drops[i].Count > r.Drops[j].Count })
	if werr != nil {
		return r, fmt.Errorf("pcap: %w", werr)
	}
	return r, nil
}

func writeTrace(w interface{ Write([]byte) (int, error) }, port string, res *fabric.Outcome) {
	fmt.Fprintf(w, "in %s: %d out, %d dropped\n", port, len(res.Outputs), len(res.Drops))
	for _, e := range res.Trace.Events {
		fmt.Fprintf(w, "  %s %s %s %s %s\n", e.Host, e.Component, e.Port, e.Action, e.Detail)
	}
}

// read hands the blocks of a's ring to the owner, in ring order, until done.
// While the owner holds blocks it waits for one back rather than poll (poll
// reports a block the owner holds as readable).
func read(i int32, a *attached, out chan<- rx, done <-chan struct{}, wg *sync.WaitGroup) {
	defer wg.Done()
	pfd := []unix.PollFd{{Fd: int32(a.fd), Events: unix.POLLIN | unix.POLLERR}}
	var next int32
	held := 0
	for {
		select {
		case <-done:
			return
		default:
		}
		if held < ringBlocks && a.ring.ready(next) {
			select {
			case out <- rx{port: i, block: next}:
			case <-done:
				return
			}
			next = (next + 1) % ringBlocks
			held++
			continue
		}
		if held > 0 {
			select {
			case <-a.back:
				held--
			case <-done:
				return
			}
			continue
		}
		if _, err := unix.Poll(pfd, 100); err != nil && !errors.Is(err, unix.EINTR) {
			return
		}
	}
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// openPacket opens an AF_PACKET socket bound to ifname in the calling
// thread's namespace, that does not see its own writes.
func openPacket(ifname string) (int, error) {
	ifi, err := net.InterfaceByName(ifname)
	if err != nil {
		return -1, err
	}
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_ALL)))
	if err != nil {
		return -1, fmt.Errorf("AF_PACKET socket: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifi.Index}); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("bind %s: %w", ifname, err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_IGNORE_OUTGOING, 1); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("PACKET_IGNORE_OUTGOING: %w", err)
	}
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 8<<20)
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, 8<<20)
	return fd, nil
}

// setupPort creates the veth pair emuIf (in emu) <-> eth0 (in ns) and gives
// eth0 the port's MAC, addresses, MTU and default route, with offloads off
// so that every frame is a real, checksummed, MTU-sized frame.
func setupPort(emu, ns *linux.Namespace, emuIf string, p *fabric.Port, addrs []netip.Prefix, mtu int) error {
	if err := emu.AddVeth(emuIf, ns, "eth0"); err != nil {
		return err
	}
	hw := net.HardwareAddr(p.MAC[:])
	has6 := false
	for _, a := range addrs {
		has6 = has6 || a.Addr().Is6()
	}
	steps := []func() error{
		func() error { return ns.SetMAC("eth0", hw) },
		func() error { return ns.SetMTU("eth0", mtu) },
		func() error { return emu.SetMTU(emuIf, emuMTU) },
		func() error { return ns.SetOffloads("eth0", false) },
		func() error { return emu.SetOffloads(emuIf, false) },
		func() error {
			if has6 {
				return nil
			}
			return ns.SetSysctl("net.ipv6.conf.all.disable_ipv6", "1")
		},
		func() error { return emu.SetSysctl("net.ipv6.conf.all.disable_ipv6", "1") },
	}
	for _, a := range addrs {
		steps = append(steps, func() error { return ns.AddAddr("eth0", a) })
	}
	steps = append(steps,
		func() error { return ns.SetUp("lo", "eth0") },
		func() error { return emu.SetUp(emuIf) })
	for _, gw := range []netip.Addr{p.Gateway, p.Gateway6} {
		if !gw.IsValid() {
			continue
		}
		dst := netip.PrefixFrom(netip.IPv4Unspecified(), 0)
		if gw.Is6() {
			dst = netip.PrefixFrom(netip.IPv6Unspecified(), 0)
		}
		steps = append(steps, func() error {
			return ns.AddRoute(linux.Route{Dst: dst, Gw: gw, Dev: "eth0", OnLink: true})
		})
	}
	for _, s := range steps {
		if err := s(); err != nil {
			return err
		}
	}
	return nil
}

// Exec runs argv in the network namespace of port of the session in runDir,
// replacing this process (its exit status is the program's).
func Exec(runDir, port string, argv []string) error {
	st, err := ReadState(runDir)
	if err != nil {
		return err
	}
	nsname, err := st.Namespace(port)
	if err != nil {
		return err
	}
	if len(argv) == 0 {
		return errors.New("no command to run")
	}
	path, err := exec.LookPath(argv[0])
	if err != nil {
		return err
	}
	runtime.LockOSThread() // never unlocked: the thread execs or the process exits
	fd, err := unix.Open(filepath.Join(linux.NetnsDir, nsname), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("session %s: port %s: %w (has the session ended?)", st.Session, port, err)
	}
	if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
		return fmt.Errorf("setns %s: %w", nsname, err)
	}
	unix.Close(fd)
	return syscall.Exec(path, argv, os.Environ())
}
