package linux

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/vishvananda/netlink"
)

// childEnv selects a child-process role when the test binary re-executes itself
// (TestCrashThenClean, TestSIGTERMClosesLab).
const childEnv = "HNSP_TEST_CHILD"

// rootNetns is readlink(/proc/self/ns/net) when the tests start: the namespace every
// thread must be back in afterwards.
var rootNetns string

// socketsAtStart is the number of socket fds when the tests start.
var socketsAtStart int

func TestMain(m *testing.M) {
	if role := os.Getenv(childEnv); role != "" {
		os.Exit(runChild(role))
	}
	rootNetns, _ = os.Readlink("/proc/self/ns/net")
	socketsAtStart = countSockets()
	code := m.Run()
	if CheckPrivileges() == nil {
		if err := checkNoLeftovers(""); err != nil {
			fmt.Fprintf(os.Stderr, "FAIL: leak check after all tests: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

// runChild is the body of a re-executed test binary: it builds a small lab, says
// "READY <session>" on stdout and waits to be killed. With role "sigterm" it registers
// CloseOnSignal first.
func runChild(role string) int {
	if role == "backend" {
		return runBackendChild()
	}
	if strings.HasPrefix(role, "sig-") {
		return runSignalChild(role)
	}
	l, err := NewLab()
	if err != nil {
		fmt.Println("ERROR", err)
		return 1
	}
	if role == "sigterm" {
		l.CloseOnSignal()
	}
	err = func() error {
		a, err := l.NewNamespace("a")
		if err != nil {
			return err
		}
		b, err := l.NewNamespace("b")
		if err != nil {
			return err
		}
		if err := a.AddVeth("eth0", b, "eth0"); err != nil {
			return err
		}
		if err := b.AddBridge("br0"); err != nil {
			return err
		}
		if err := a.AddMasquerade(Masquerade{OutIface: "eth0"}); err != nil {
			return err
		}
		_, err = l.NewCapturer(CapturePoint{a, "eth0"}, CapturePoint{b, "eth0"})
		return err
	}()
	if err != nil {
		fmt.Println("ERROR", err)
		return 1
	}
	fmt.Println("READY", l.Session())
	time.Sleep(time.Minute)
	return 2
}

// countSockets counts this process's socket fds.
func countSockets() int {
	ents, _ := os.ReadDir("/proc/self/fd")
	n := 0
	for _, e := range ents {
		if t, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name())); err == nil && strings.HasPrefix(t, "socket:") {
			n++
		}
	}
	return n
}

// checkNoLeftovers returns an error listing anything left with the given session name
// ("" for any session): namespaces under NetnsDir, markers, links and nftables tables
// in the root namespace; and, for "", threads outside the root namespace, netns fds and
// sockets this process still holds.
func checkNoLeftovers(session string) error {
	prefix := Prefix
	if session != "" {
		prefix = session
	}
	var left []string
	for _, dir := range []string{NetnsDir, MarkerDir} {
		ents, err := os.ReadDir(dir)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), prefix) && !otherLiveSession(e.Name()) {
				left = append(left, filepath.Join(dir, e.Name()))
			}
		}
	}
	links, err := netlink.LinkList()
	if err != nil {
		return err
	}
	for _, l := range links {
		if strings.HasPrefix(l.Attrs().Name, "hnsp") {
			left = append(left, "root link "+l.Attrs().Name)
		}
	}
	c, err := nftables.New()
	if err != nil {
		return err
	}
	tables, err := c.ListTables()
	if err != nil {
		return err
	}
	for _, t := range tables {
		if strings.HasPrefix(t.Name, "hnsp") {
			left = append(left, "root nftables table "+t.Name)
		}
	}
	if session == "" {
		tasks, _ := filepath.Glob("/proc/self/task/*/ns/net")
		for _, task := range tasks {
			if ns, err := os.Readlink(task); err == nil && ns != rootNetns {
				left = append(left, fmt.Sprintf("thread %s in %s, want %s", task, ns, rootNetns))
			}
		}
		fds, _ := os.ReadDir("/proc/self/fd")
		for _, e := range fds {
			if t, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name())); err == nil && strings.HasPrefix(t, "net:") && t != rootNetns {
				left = append(left, "fd "+e.Name()+" holds "+t)
			}
		}
		if n := countSockets(); n != socketsAtStart {
			left = append(left, fmt.Sprintf("%d sockets open, want %d as at start", n, socketsAtStart))
		}
	}
	if len(left) > 0 {
		return fmt.Errorf("left behind: %s", strings.Join(left, ", "))
	}
	return nil
}

// otherLiveSession reports whether a namespace or marker name belongs to a session of
// another process that is still running (a test of another package running at the same
// time, such as cmd/hnspath's probe tests under go test ./...): not a leftover of ours.
func otherLiveSession(name string) bool {
	session, ok := sessionOf(name)
	if !ok {
		return false
	}
	marker := filepath.Join(MarkerDir, session)
	b, err := os.ReadFile(marker)
	if err != nil {
		return false
	}
	pid, _, err := parseMarker(b)
	return err == nil && pid != os.Getpid() && markerAlive(marker)
}

// readLine reads one line from r within d.
func readLine(r *bufio.Reader, d time.Duration) (string, error) {
	type res struct {
		s   string
		err error
	}
	ch := make(chan res, 1)
	go func() {
		s, err := r.ReadString('\n')
		ch <- res{strings.TrimSpace(s), err}
	}()
	select {
	case x := <-ch:
		return x.s, x.err
	case <-time.After(d):
		return "", fmt.Errorf("no line within %v", d)
	}
}

// newTestLab skips the test without privileges (with CheckPrivileges' reason) and returns
// a lab that is closed, and checked for leftovers, when the test ends.
func newTestLab(t *testing.T) *Lab {
	t.Helper()
	if err := CheckPrivileges(); err != nil {
		t.Skip(err)
	}
	l, err := NewLab()
	if err != nil {
		t.Fatalf("NewLab: %v", err)
	}
	t.Cleanup(func() {
		if err := l.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if err := checkNoLeftovers(l.Session()); err != nil {
			t.Errorf("after Close: %v", err)
		}
	})
	return l
}

// newNS creates a namespace with IPv6 off (so no MLD/ND noise in captures) and ICMP
// error rate limiting off.
func newNS(t *testing.T, l *Lab, name string) *Namespace {
	t.Helper()
	n, err := l.NewNamespace(name)
	if err != nil {
		t.Fatalf("NewNamespace(%q): %v", name, err)
	}
	for _, kv := range [][2]string{
		{"net.ipv6.conf.default.disable_ipv6", "1"},
		{"net.ipv6.conf.all.disable_ipv6", "1"},
		{"net.ipv4.icmp_ratelimit", "0"},
	} {
		must(t, n.SetSysctl(kv[0], kv[1]))
	}
	return n
}

// must fails the test on err.
func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// mac returns the MAC of ifname in n.
func mac(t *testing.T, n *Namespace, ifname string) net.HardwareAddr {
	t.Helper()
	l, err := n.Link(ifname)
	must(t, err)
	return l.MAC
}

// addr parses a hard-coded address.
func addr(s string) netip.Addr { return netip.MustParseAddr(s) }

// pfx parses a hard-coded prefix.
func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }

// ip4 returns a as a 4-byte net.IP for gopacket.
func ip4(s string) net.IP { return net.IP(addr(s).AsSlice()) }

// serialize builds a frame with gopacket, fixing lengths and computing checksums (the
// transport layer's pseudo-header uses the IPv4 layer before it).
func serialize(t *testing.T, ls ...gopacket.SerializableLayer) []byte {
	t.Helper()
	var ip *layers.IPv4
	for _, l := range ls {
		switch x := l.(type) {
		case *layers.IPv4:
			ip = x
		case *layers.TCP:
			must(t, x.SetNetworkLayerForChecksum(ip))
		case *layers.UDP:
			must(t, x.SetNetworkLayerForChecksum(ip))
		}
	}
	buf := gopacket.NewSerializeBuffer()
	must(t, gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...))
	return append([]byte(nil), buf.Bytes()...)
}

// ethIPv4 returns Ethernet and IPv4 layers for a frame from src to dst.
func ethIPv4(srcMAC, dstMAC net.HardwareAddr, src, dst string, proto layers.IPProtocol) (*layers.Ethernet, *layers.IPv4) {
	return &layers.Ethernet{SrcMAC: srcMAC, DstMAC: dstMAC, EthernetType: layers.EthernetTypeIPv4},
		&layers.IPv4{Version: 4, TTL: 64, Id: 0x1234, Protocol: proto, SrcIP: ip4(src), DstIP: ip4(dst)}
}

// decode decodes a captured frame with gopacket.
func decode(b []byte) gopacket.Packet {
	return gopacket.NewPacket(b, layers.LayerTypeEthernet, gopacket.Default)
}

// ipv4Frames keeps the frames of fs that carry ARP or IPv4, leaving out IPv6 and the
// IGMP reports a bridge sends when it comes up (noise for these tests).
func ipv4Frames(fs []Frame) []Frame {
	var out []Frame
	for _, f := range fs {
		p := decode(f.Data)
		ip, _ := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		if p.Layer(layers.LayerTypeARP) != nil || ip != nil && ip.Protocol != layers.IPProtocolIGMP {
			out = append(out, f)
		}
	}
	return out
}

// describe returns a one-line summary of a frame for failure messages.
func describe(f Frame) string {
	p := decode(f.Data)
	var parts []string
	for _, l := range p.Layers() {
		switch x := l.(type) {
		case *layers.ARP:
			parts = append(parts, fmt.Sprintf("arp op=%d %v>%v", x.Operation, net.IP(x.SourceProtAddress), net.IP(x.DstProtAddress)))
		case *layers.IPv4:
			parts = append(parts, fmt.Sprintf("ipv4 %v>%v ttl=%d", x.SrcIP, x.DstIP, x.TTL))
		case *layers.UDP:
			parts = append(parts, fmt.Sprintf("udp %d>%d", x.SrcPort, x.DstPort))
		case *layers.TCP:
			parts = append(parts, fmt.Sprintf("tcp %d>%d syn=%v ack=%v rst=%v", x.SrcPort, x.DstPort, x.SYN, x.ACK, x.RST))
		case *layers.ICMPv4:
			parts = append(parts, "icmp "+x.TypeCode.String())
		case *layers.VXLAN:
			parts = append(parts, fmt.Sprintf("vxlan vni=%d", x.VNI))
		}
	}
	return fmt.Sprintf("%s %s [%s]", f.Point, f.Dir, strings.Join(parts, " / "))
}

// describeAll summarizes frames, one per line.
func describeAll(fs []Frame) string {
	var b strings.Builder
	for _, f := range fs {
		b.WriteString("\n\t" + describe(f))
	}
	return b.String()
}

// checkChecksums checks the IPv4 header checksum and the TCP/UDP/ICMPv4 checksum of p
// against what gopacket computes when it serializes the same layers again.
func checkChecksums(t *testing.T, p gopacket.Packet) {
	t.Helper()
	ipL, _ := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
	if ipL == nil {
		t.Errorf("checksums: no IPv4 layer")
		return
	}
	opts := gopacket.SerializeOptions{ComputeChecksums: true}
	reser := func(l gopacket.SerializableLayer, payload []byte, off int) uint16 {
		buf := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(buf, opts, l, gopacket.Payload(payload)); err != nil {
			t.Fatalf("reserialize: %v", err)
		}
		b := buf.Bytes()
		return uint16(b[off])<<8 | uint16(b[off+1])
	}
	ip := *ipL
	if got, want := ipL.Checksum, reser(&ip, ipL.Payload, 10); got != want {
		t.Errorf("ipv4 checksum: got %#04x, want %#04x", got, want)
	}
	switch l := p.TransportLayer().(type) {
	case *layers.TCP:
		c := *l
		must(t, c.SetNetworkLayerForChecksum(ipL))
		if got, want := l.Checksum, reser(&c, l.Payload, 16); got != want {
			t.Errorf("tcp checksum: got %#04x, want %#04x", got, want)
		}
	case *layers.UDP:
		c := *l
		must(t, c.SetNetworkLayerForChecksum(ipL))
		if got, want := l.Checksum, reser(&c, l.Payload, 6); got != want {
			t.Errorf("udp checksum: got %#04x, want %#04x", got, want)
		}
	}
	if l, ok := p.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4); ok {
		c := *l
		if got, want := l.Checksum, reser(&c, l.Payload, 2); got != want {
			t.Errorf("icmp checksum: got %#04x, want %#04x", got, want)
		}
	}
}

// drain drains c with the test timings: 150 ms of quiet, at most 3 s.
func drain(t *testing.T, c *Capturer) Frames {
	t.Helper()
	fs, err := c.Drain(150*time.Millisecond, 3*time.Second)
	must(t, err)
	return fs
}

// step is one expected frame at a capture point.
type step struct {
	dir   Direction
	what  string // for messages
	check func(t *testing.T, p gopacket.Packet)
}

// expectSeq checks that got (already filtered) matches want frame by frame.
func expectSeq(t *testing.T, point string, got []Frame, want []step) {
	t.Helper()
	if len(got) != len(want) {
		var ws []string
		for _, w := range want {
			ws = append(ws, w.dir.String()+" "+w.what)
		}
		t.Errorf("%s: got %d frames:%s\nwant %d: %s", point, len(got), describeAll(got), len(want), strings.Join(ws, ", "))
		return
	}
	for i, w := range want {
		if got[i].Dir != w.dir {
			t.Errorf("%s frame %d (%s): got dir %v, want %v", point, i+1, w.what, got[i].Dir, w.dir)
		}
		if w.check != nil {
			w.check(t, decode(got[i].Data))
		}
	}
}

// netipAddrPort parses a hard-coded address:port.
func netipAddrPort(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

// mustMAC parses a hard-coded MAC address.
func mustMAC(s string) net.HardwareAddr {
	m, err := net.ParseMAC(s)
	if err != nil {
		panic(err)
	}
	return m
}
