package linux

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
)

// TestCloseIdempotent checks that Close deletes what the lab made, treats objects that
// are already gone as deleted, succeeds again when called twice, and makes every later
// call fail with a "lab is closed" error.
func TestCloseIdempotent(t *testing.T) {
	if err := CheckPrivileges(); err != nil {
		t.Skip(err)
	}
	l, err := NewLab()
	must(t, err)
	a, err := l.NewNamespace("a")
	must(t, err)
	b, err := l.NewNamespace("b")
	must(t, err)
	must(t, a.AddVeth("eth0", b, "eth0"))
	must(t, b.AddBridge("br0"))
	must(t, a.AddMasquerade(Masquerade{}))
	if _, err := l.NewNamespace("a"); err == nil {
		t.Errorf("NewNamespace(a) twice: got nil error, want one")
	}
	if got := l.Namespace("b"); got != b {
		t.Errorf("Namespace(b): got %v, want %v", got, b)
	}
	want := []string{
		"marker " + filepath.Join(MarkerDir, l.Session()),
		"netns " + l.Session() + "-a",
		"netns " + l.Session() + "-b",
		"link " + l.Session() + "-a/eth0",
		"link " + l.Session() + "-b/eth0",
		"link " + l.Session() + "-b/br0",
		"nftables table inet " + l.Session() + " in " + l.Session() + "-a",
	}
	if got := l.Objects(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("Objects():\ngot  %q\nwant %q", got, want)
	}
	// Delete some of it behind the lab's back: the veth (both ends) and b's namespace mount.
	must(t, a.op("test delete", func() error {
		lk, err := a.nl.LinkByName("eth0")
		if err != nil {
			return err
		}
		return a.nl.LinkDel(lk)
	}))
	must(t, deleteNamedNS(b.Path()))

	if err := l.Close(); err != nil {
		t.Errorf("Close: got %v, want nil (already-deleted objects count as deleted)", err)
	}
	if err := l.Close(); err != nil {
		t.Errorf("second Close: got %v, want nil", err)
	}
	if err := checkNoLeftovers(l.Session()); err != nil {
		t.Error(err)
	}
	if got := l.Objects(); len(got) != 0 {
		t.Errorf("Objects() after Close: got %q, want none", got)
	}
	for name, err := range map[string]error{
		"NewNamespace": func() error { _, err := l.NewNamespace("c"); return err }(),
		"AddBridge":    a.AddBridge("br1"),
		"Do":           a.Do(func() error { return nil }),
		"SetSysctl":    a.SetSysctl("net.ipv4.ip_forward", "1"),
		"NewInjector":  func() error { _, err := a.NewInjector("lo"); return err }(),
		"NewCapturer":  func() error { _, err := l.NewCapturer(CapturePoint{a, "lo"}); return err }(),
	} {
		if !errors.Is(err, errClosed) {
			t.Errorf("%s after Close: got %v, want an error wrapping %q", name, err, errClosed)
		}
	}
}

// TestDoSwitchesAndRestores checks that Do runs in the namespace, that no thread is left
// in it afterwards (also after a panic, and with many concurrent calls), and that a panic
// in fn reaches the caller.
func TestDoSwitchesAndRestores(t *testing.T) {
	l := newTestLab(t)
	a := newNS(t, l, "a")
	var inside string
	must(t, a.Do(func() error {
		var err error
		inside, err = os.Readlink("/proc/thread-self/ns/net")
		return err
	}))
	var want string
	must(t, a.op("stat", func() error {
		var st syscall.Stat_t
		if err := syscall.Fstat(int(a.fd), &st); err != nil {
			return err
		}
		want = "net:[" + strconv.FormatUint(st.Ino, 10) + "]"
		return nil
	}))
	if inside != want || inside == rootNetns {
		t.Errorf("namespace inside Do: got %s, want %s (root is %s)", inside, want, rootNetns)
	}

	errSentinel := errors.New("sentinel")
	if err := a.Do(func() error { return errSentinel }); !errors.Is(err, errSentinel) {
		t.Errorf("Do returning an error: got %v, want it to wrap %v", err, errSentinel)
	}
	func() {
		defer func() {
			if p := recover(); p != "boom" {
				t.Errorf("recovered %v, want the panic value %q", p, "boom")
			}
		}()
		a.Do(func() error { panic("boom") })
		t.Errorf("Do with a panicking fn returned normally")
	}()

	var wg sync.WaitGroup
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := a.Do(func() error { runtime.Gosched(); return nil }); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	tasks, _ := filepath.Glob("/proc/self/task/*/ns/net")
	for _, task := range tasks {
		if ns, err := os.Readlink(task); err == nil && ns != rootNetns {
			t.Errorf("%s: got %s, want the root namespace %s", task, ns, rootNetns)
		}
	}
	if got, _ := os.Readlink("/proc/thread-self/ns/net"); got != rootNetns {
		t.Errorf("caller's thread: got %s, want %s", got, rootNetns)
	}
}

// TestSysctl checks that sysctls are written inside the namespace only and that keys
// outside net/ are refused.
func TestSysctl(t *testing.T) {
	l := newTestLab(t)
	a := newNS(t, l, "a")
	rootBefore, err := os.ReadFile("/proc/sys/net/ipv4/ip_forward")
	must(t, err)
	tests := []struct {
		key, value, want string
		wantErr          string
	}{
		{key: "net.ipv4.ip_forward", value: "1", want: "1"},
		{key: "net/ipv4/conf/lo/rp_filter", value: "0", want: "0"},
		{key: "net.ipv4.conf.all.arp_ignore", value: "1", want: "1"},
		{key: "kernel.hostname", value: "x", wantErr: "only net.* keys"},
		{key: "net/../kernel/hostname", value: "x", wantErr: `"." or ".."`},
		{key: "net.ipv4.no_such_key", value: "1", wantErr: "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			err := a.SetSysctl(tt.key, tt.value)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("SetSysctl(%q): got %v, want an error containing %q", tt.key, err, tt.wantErr)
				}
				return
			}
			must(t, err)
			got, err := a.Sysctl(tt.key)
			must(t, err)
			if got != tt.want {
				t.Errorf("Sysctl(%q): got %q, want %q", tt.key, got, tt.want)
			}
		})
	}
	rootAfter, err := os.ReadFile("/proc/sys/net/ipv4/ip_forward")
	must(t, err)
	if string(rootAfter) != string(rootBefore) {
		t.Errorf("root ip_forward: got %q after, want %q as before", rootAfter, rootBefore)
	}
}

// TestLinkSettings checks bridge settings, ports, MAC, MTU, addresses (IPv6 without
// DAD), routes and neighbours, read back from the kernel.
func TestLinkSettings(t *testing.T) {
	l := newTestLab(t)
	a, b := newNS(t, l, "a"), newNS(t, l, "b")
	must(t, a.SetSysctl("net.ipv6.conf.default.disable_ipv6", "0"))
	must(t, a.AddBridge("br0"))
	must(t, a.AddVeth("p1", b, "eth0"))
	must(t, a.SetMaster("p1", "br0"))
	must(t, a.SetMAC("br0", mustMAC("02:00:00:00:00:01")))
	must(t, a.SetMTU("p1", 1400))
	must(t, a.SetUp("br0", "p1"))
	must(t, a.AddAddr("br0", pfx("fd00::1/64")))
	must(t, a.AddAddr("br0", pfx("172.16.0.1/24")))
	must(t, a.AddRoute(Route{Dst: pfx("0.0.0.0/0"), Gw: addr("198.18.0.1"), Dev: "br0", OnLink: true}))
	must(t, a.AddRoute(Route{Dst: pfx("10.9.0.0/16"), Gw: addr("172.16.0.254"), Metric: 5}))
	must(t, a.AddNeighbor("br0", addr("172.16.0.9"), mustMAC("02:00:00:00:00:09")))
	must(t, a.AddFDB(FDBEntry{Dev: "p1", MAC: mustMAC("02:00:00:00:00:42"), Master: true}))

	stp, delay, err := a.bridgeSettings("br0")
	must(t, err)
	if stp != 0 || delay != 0 {
		t.Errorf("br0: got stp_state %d, forward_delay %d; want 0, 0", stp, delay)
	}
	br, err := a.Link("br0")
	must(t, err)
	p1, err := a.Link("p1")
	must(t, err)
	if p1.MasterIndex != br.Index || p1.MTU != 1400 || !p1.Up || p1.Kind != "veth" {
		t.Errorf("p1: got %+v, want master %d, mtu 1400, up, veth", p1, br.Index)
	}
	if br.MAC.String() != "02:00:00:00:00:01" || br.Kind != "bridge" {
		t.Errorf("br0: got %+v, want mac 02:00:00:00:00:01, bridge", br)
	}
	if ls, err := b.Links(); err != nil || len(ls) != 2 || ls[0].Name != "lo" || ls[1].Name != "eth0" {
		t.Errorf("b.Links(): got %+v, %v; want lo and eth0", ls, err)
	}
	must(t, a.op("read back", func() error {
		lk, _ := a.nl.LinkByName("br0")
		addrs, err := a.nl.AddrList(lk, 0)
		if err != nil {
			return err
		}
		found := false
		for _, ad := range addrs {
			if ad.IP.String() == "fd00::1" {
				found = true
				if ad.Flags&0x40 != 0 { // IFA_F_TENTATIVE
					t.Errorf("fd00::1: got flags %#x with IFA_F_TENTATIVE, want it usable at once (nodad)", ad.Flags)
				}
			}
		}
		if !found {
			t.Errorf("br0 addresses: got %v, want fd00::1", addrs)
		}
		routes, err := a.nl.RouteList(nil, 2) // AF_INET
		if err != nil {
			return err
		}
		var gotDefault, gotVia bool
		for _, r := range routes {
			dst := "0.0.0.0/0"
			if r.Dst != nil {
				dst = r.Dst.String()
			}
			switch {
			case dst == "0.0.0.0/0":
				gotDefault = r.Gw.String() == "198.18.0.1" && r.Flags&int(netlink.FLAG_ONLINK) != 0 && r.LinkIndex == br.Index
			case dst == "10.9.0.0/16":
				gotVia = r.Gw.String() == "172.16.0.254" && r.Priority == 5 && r.LinkIndex == br.Index
			}
		}
		if !gotDefault || !gotVia {
			t.Errorf("routes: got %v, want default via 198.18.0.1 onlink dev br0 and 10.9.0.0/16 via 172.16.0.254 metric 5", routes)
		}
		neighs, err := a.nl.NeighList(lk.Attrs().Index, 2)
		if err != nil {
			return err
		}
		found = false
		for _, n := range neighs {
			found = found || n.IP.String() == "172.16.0.9" && n.HardwareAddr.String() == "02:00:00:00:00:09" && n.State == 0x80 // NUD_PERMANENT
		}
		if !found {
			t.Errorf("neighbours of br0: got %v, want 172.16.0.9 permanent at 02:00:00:00:00:09", neighs)
		}
		return nil
	}))
	fdb, err := a.FDB("p1")
	must(t, err)
	found := false
	for _, e := range fdb {
		found = found || e.MAC.String() == "02:00:00:00:00:42" && e.Master
	}
	if !found {
		t.Errorf("FDB(p1): got %+v, want a master entry for 02:00:00:00:00:42", fdb)
	}

	// b/eth0 is down, so it is not ready, and neither is its peer p1 (no carrier).
	if err := b.WaitReady(50*time.Millisecond, "eth0", "nope0"); err == nil || !strings.Contains(err.Error(), "not ready: eth0 (down), nope0 (no such link)") {
		t.Errorf("b.WaitReady: got %v, want eth0 down and nope0 missing", err)
	}
	if err := a.WaitReady(50 * time.Millisecond); err == nil || !strings.Contains(err.Error(), "p1 (no carrier)") {
		t.Errorf("a.WaitReady: got %v, want p1 without carrier", err)
	}
	must(t, b.SetUp("eth0"))
	must(t, l.WaitReady(5*time.Second))

	for name, err := range map[string]error{
		"long name":     a.AddBridge("this-name-is-too-long"),
		"bad mtu":       a.SetMTU("p1", 10),
		"missing link":  a.SetUp("nope0"),
		"bad mac":       a.SetMAC("br0", []byte{1, 2}),
		"route no dev":  a.AddRoute(Route{Dst: pfx("10.0.0.0/8")}),
		"route family":  a.AddRoute(Route{Dst: pfx("10.0.0.0/8"), Gw: addr("fd00::9")}),
		"vni too large": a.AddVXLAN(VXLAN{Name: "vx0", VNI: 1 << 24}),
		"other lab":     a.AddVeth("x0", nil, "x1"),
	} {
		if err == nil {
			t.Errorf("%s: got nil error, want one", name)
		}
	}
}

// TestCleanAfterCrash runs a child process that builds a lab and is killed with
// SIGKILL, then checks that Clean finds and removes its namespaces and marker, and
// leaves this (live) process's lab alone.
func TestCleanAfterCrash(t *testing.T) {
	live := newTestLab(t)
	liveNS := newNS(t, live, "live")
	session, cmd := startChild(t, "crash")
	for _, p := range []string{filepath.Join(NetnsDir, session+"-a"), filepath.Join(NetnsDir, session+"-b"), filepath.Join(MarkerDir, session)} {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("child's %s: %v", p, err)
		}
	}
	must(t, cmd.Process.Signal(syscall.SIGKILL))
	_ = cmd.Wait()
	if err := checkNoLeftovers(session); err == nil {
		t.Fatalf("after SIGKILL: got no leftovers, want the child's namespaces (the test would prove nothing)")
	}

	// A live session is skipped even when the prefix selects exactly it.
	if removed, err := Clean(live.Session() + "-"); err != nil || len(removed) != 0 {
		t.Errorf("Clean(live session): got %q, %v; want nothing removed", removed, err)
	}
	removed, err := Clean(session + "-")
	must(t, err)
	want := []string{
		"marker " + filepath.Join(MarkerDir, session),
		"netns " + session + "-a",
		"netns " + session + "-b",
	}
	if strings.Join(removed, "\n") != strings.Join(want, "\n") {
		t.Errorf("Clean(%q):\ngot  %q\nwant %q", session+"-", removed, want)
	}
	if err := checkNoLeftovers(session); err != nil {
		t.Error(err)
	}
	// Every session: may also remove leftovers of earlier crashed runs, never the live lab.
	if _, err := Clean(Prefix); err != nil {
		t.Errorf("Clean(%q): %v", Prefix, err)
	}
	if _, err := os.Stat(liveNS.Path()); err != nil {
		t.Errorf("Clean removed the live lab's namespace: %v", err)
	}
	if _, err := os.Stat(filepath.Join(MarkerDir, live.Session())); err != nil {
		t.Errorf("Clean removed the live lab's marker: %v", err)
	}
	if removed, err := Clean(Prefix); err != nil || len(removed) != 0 {
		t.Errorf("second Clean: got %q, %v; want nothing", removed, err)
	}
	if _, err := Clean("other-"); err == nil {
		t.Errorf("Clean(%q): got nil error, want a refusal", "other-")
	}
}

// TestSIGTERMClosesLab runs a child process that registers CloseOnSignal and checks
// that SIGTERM makes it tear everything down itself and exit with 128+15.
func TestSIGTERMClosesLab(t *testing.T) {
	if err := CheckPrivileges(); err != nil {
		t.Skip(err)
	}
	session, cmd := startChild(t, "sigterm")
	must(t, cmd.Process.Signal(syscall.SIGTERM))
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 143 {
		t.Errorf("child exit: got %v, want exit status 143", err)
	}
	if err := checkNoLeftovers(session); err != nil {
		t.Errorf("after SIGTERM, without Clean: %v", err)
	}
}

// startChild re-executes the test binary in the given role and waits for its READY line.
func startChild(t *testing.T, role string) (session string, cmd *exec.Cmd) {
	t.Helper()
	cmd = exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+role)
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	must(t, err)
	must(t, cmd.Start())
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		Clean(session + "-")
	})
	line, err := readLine(bufio.NewReader(out), 10*time.Second)
	if err != nil {
		t.Fatalf("child %s: %v", role, err)
	}
	session, ok := strings.CutPrefix(line, "READY ")
	if !ok {
		t.Fatalf("child %s: got %q, want READY <session>", role, line)
	}
	return session, cmd
}

// TestDummy creates a dummy link, or skips where the kernel has none (CONFIG_DUMMY).
func TestDummy(t *testing.T) {
	l := newTestLab(t)
	a := newNS(t, l, "a")
	err := a.AddDummy("d0")
	if errors.Is(err, ErrLinkKindUnsupported) {
		t.Skipf("this kernel cannot create dummy links: %v", err)
	}
	must(t, err)
	if d, err := a.Link("d0"); err != nil || d.Kind != "dummy" {
		t.Errorf("Link(d0): got %+v, %v; want kind dummy", d, err)
	}
}
