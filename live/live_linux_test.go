package live

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/hnspath/hnspath/emulator/fabric"
	"github.com/hnspath/hnspath/hostprobe/linux"
	"github.com/hnspath/hnspath/scenarios"
)

// The test binary doubles as `hnspath live exec`: with HNSPATH_LIVE_EXEC set
// to "RUNDIR PORT" it runs its arguments after "--" in the port's namespace.
func TestMain(m *testing.M) {
	if v := os.Getenv("HNSPATH_LIVE_EXEC"); v != "" {
		dir, port, _ := strings.Cut(v, " ")
		args := os.Args
		for i, a := range args {
			if a == "--" {
				args = args[i+1:]
				break
			}
		}
		err := Exec(dir, port, args)
		os.Stderr.WriteString(err.Error() + "\n")
		os.Exit(126)
	}
	if dir := os.Getenv("HNSPATH_LIVE_RUN"); dir != "" {
		// A live session on testdata/nat.yaml until SIGINT/SIGTERM (or kill -9).
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
		defer stop()
		topo, err := scenarios.LoadTopology("testdata/nat.yaml")
		if err != nil {
			panic(err)
		}
		f, err := topo.Build(fabric.Options{})
		if err != nil {
			panic(err)
		}
		if _, err := Run(ctx, Config{Topology: topo.Topology, Fabric: f, Ports: []string{"host1/web", "server"}, RunDir: dir}); err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// child starts a live session in another process and waits for its state file.
func child(t *testing.T) (*exec.Cmd, *State) {
	t.Helper()
	dir := t.TempDir()
	c := exec.Command(os.Args[0])
	c.Env = append(os.Environ(), "HNSPATH_LIVE_RUN="+dir)
	c.Stderr = os.Stderr
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 600; i++ {
		if st, err := ReadState(dir); err == nil {
			return c, st
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.Process.Kill()
	c.Wait()
	t.Fatal("live session did not write its state file in 30s")
	return nil, nil
}

// After SIGTERM the session removes everything; after kill -9 its namespaces
// stay until linux.Clean (what `hnspath probe clean` runs) removes them.
func TestNoResidue(t *testing.T) {
	needRoot(t)
	c, st := child(t)
	if l, _ := linux.Leftovers(st.Session + "-"); len(l) == 0 {
		t.Fatalf("running session %s: no namespaces found", st.Session)
	}
	c.Process.Signal(syscall.SIGTERM)
	if err := c.Wait(); err != nil {
		t.Errorf("after SIGTERM: %v", err)
	}
	if l, err := linux.Leftovers(st.Session + "-"); len(l) > 0 || err != nil {
		t.Errorf("after SIGTERM: leftovers %v (%v)", l, err)
	}

	c, st = child(t)
	c.Process.Kill()
	c.Wait()
	l, _ := linux.Leftovers(st.Session + "-")
	if len(l) == 0 {
		t.Fatalf("after kill -9: nothing left, want the namespaces that Clean removes")
	}
	removed, err := linux.Clean(st.Session + "-")
	if err != nil {
		t.Errorf("clean: %v", err)
	}
	t.Logf("clean removed %v", removed)
	if l, err := linux.Leftovers(st.Session + "-"); len(l) > 0 || err != nil {
		t.Errorf("after kill -9 and clean: leftovers %v (%v)", l, err)
	}
}

// session is a running live session for a test.
type session struct {
	t    *testing.T
	dir  string
	stop func() *Result
}

func needRoot(t *testing.T, tools ...string) {
	t.Helper()
	if err := linux.CheckPrivileges(); err != nil {
		t.Skipf("live needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN): %v", err)
	}
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed (Debian: apt-get install -y %s)", tool, tool)
		}
	}
}

func start(t *testing.T, topoFile string, ports ...string) *session {
	return startPcap(t, nil, topoFile, ports...)
}

func startPcap(t *testing.T, pcap io.Writer, topoFile string, ports ...string) *session {
	t.Helper()
	topo, err := scenarios.LoadTopology(topoFile)
	if err != nil {
		t.Fatal(err)
	}
	f, err := topo.Build(fabric.Options{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	type out struct {
		r   *Result
		err error
	}
	done := make(chan out, 1)
	go func() {
		r, err := Run(ctx, Config{Topology: topo.Topology, Fabric: f, Ports: ports, RunDir: dir, Pcap: pcap, Ready: func(*State) { close(ready) }})
		done <- out{r, err}
	}()
	select {
	case <-ready:
	case o := <-done:
		cancel()
		t.Fatalf("live session did not start: %v", o.err)
	}
	s := &session{t: t, dir: dir}
	var res *Result
	s.stop = func() *Result {
		if cancel != nil {
			cancel()
			cancel = nil
			o := <-done
			if o.err != nil {
				t.Errorf("live session: %v", o.err)
			}
			res = o.r
		}
		return res
	}
	t.Cleanup(func() { s.stop() })
	return s
}

// cmd returns a command that runs argv in port's namespace.
func (s *session) cmd(ctx context.Context, port string, argv ...string) *exec.Cmd {
	c := exec.CommandContext(ctx, os.Args[0], append([]string{"--"}, argv...)...)
	c.Env = append(os.Environ(), "HNSPATH_LIVE_EXEC="+s.dir+" "+port)
	return c
}

// oneShot starts argv in port's namespace; the channel gets its output when it exits.
func (s *session) oneShot(port string, argv ...string) <-chan string {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	ch := make(chan string, 1)
	c := s.cmd(ctx, port, argv...)
	c.Stderr = os.Stderr
	go func() {
		defer cancel()
		out, _ := c.Output()
		ch <- string(out)
	}()
	return ch
}

// server starts argv in port's namespace until the test ends; its output is in the buffer.
func (s *session) server(port string, argv ...string) *bytes.Buffer {
	ctx, cancel := context.WithCancel(context.Background())
	c := s.cmd(ctx, port, argv...)
	var out bytes.Buffer
	c.Stdout, c.Stderr = &out, &out
	if err := c.Start(); err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() { cancel(); c.Wait() })
	return &out
}

func (s *session) run(port string, argv ...string) string {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c := s.cmd(ctx, port, argv...)
	var stderr bytes.Buffer
	c.Stderr = &stderr
	out, err := c.Output()
	if err != nil {
		s.t.Fatalf("%s: %v: %v\n%s%s", port, argv, err, out, stderr.Bytes())
	}
	return string(out)
}

// httpServer serves the text "hello from PORT" and logs each client address.
const httpServer = `
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = ("hello from " + sys.argv[3] + " to " + self.client_address[0] + "\n").encode()
        self.send_response(200); self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
    def log_message(self, *a): pass
http.server.HTTPServer((sys.argv[1], int(sys.argv[2])), H).serve_forever()
`

func curl(url string) []string {
	return []string{"curl", "-sS", "-m", "10", "--retry", "20", "--retry-connrefused", "--retry-delay", "1", url}
}

// A container on nat reaches an outside server; the server sees the NIC's
// address (WinNAT's source NAT); from outside, the published port 8082
// reaches the container's port 80 and the container sees the client's own
// address (windows-behaviour.md §2: WinNAT port mappings keep the source).
func TestHTTPThroughNAT(t *testing.T) {
	needRoot(t, "python3", "curl")
	s := start(t, "testdata/nat.yaml", "host1/web", "server", "client")
	s.server("server", "python3", "-c", httpServer, "198.18.0.10", "80", "server")
	s.server("host1/web", "python3", "-c", httpServer, "0.0.0.0", "80", "web")

	if got, want := s.run("host1/web", curl("http://198.18.0.10/")...), "hello from server to 10.0.0.4\n"; got != want {
		t.Errorf("outbound: got %q, want %q", got, want)
	}
	if got, want := s.run("client", curl("http://10.0.0.4:8082/")...), "hello from web to 10.0.0.99\n"; got != want {
		t.Errorf("published port: got %q, want %q", got, want)
	}
	r := s.stop()
	for _, c := range r.Ports {
		if c.Received == 0 || c.Sent == 0 {
			t.Errorf("port %s: %+v, want frames both ways", c.Port, c)
		}
	}
}

// udpPeer sends one datagram from the container (port 40000) to the server's
// port 53; the server answers from 198.19.0.7:53 (another address: WinNAT's
// address-dependent filtering drops it), then from 198.18.0.10:5300 (same
// address, another port: passes) and 198.18.0.10:53. The container prints the
// source of everything it receives until the 53 answer.
const udpClient = `
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("0.0.0.0", 40000)); s.settimeout(2)
while True:
    s.sendto(b"query", ("198.18.0.10", 53))
    try:
        while True:
            d, a = s.recvfrom(2048)
            print(a[0], a[1], d.decode(), flush=True)
            if a[1] == 53: raise SystemExit(0)
    except socket.timeout:
        pass
`

const udpServer = `
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("198.18.0.10", 53))
o = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); o.bind(("198.18.0.10", 5300))
x = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
x.setsockopt(socket.SOL_IP, 19, 1)  # IP_TRANSPARENT: send from 198.19.0.7, an address behind the server peer
x.bind(("198.19.0.7", 53))
while True:
    d, a = s.recvfrom(2048)
    x.sendto(b"other address", a)
    o.sendto(b"other port", a)
    s.sendto(b"answer", a)
`

func TestUDPAddressDependentFiltering(t *testing.T) {
	needRoot(t, "python3")
	s := start(t, "testdata/nat.yaml", "host1/web", "server")
	s.server("server", "python3", "-c", udpServer)
	out := s.run("host1/web", "python3", "-c", udpClient)
	if !strings.Contains(out, "198.18.0.10 5300 other port\n") || !strings.HasSuffix(out, "198.18.0.10 53 answer\n") {
		t.Errorf("container received:\n%s\nwant the answers from 198.18.0.10:5300 and :53", out)
	}
	if strings.Contains(out, "other address") {
		t.Errorf("container received the datagram from 198.19.0.7 that address-dependent filtering drops:\n%s", out)
	}
	r := s.stop()
	found := false
	for _, d := range r.Drops {
		if d.Component == "winnat" && strings.Contains(strings.ToLower(d.Reason), "filter") {
			found = true
		}
	}
	if !found {
		t.Errorf("drops %+v: want a winnat filtering drop", r.Drops)
	}
}

// tcpMSS: the server accepts one connection on port 9000, reads until EOF and
// prints the byte count and the MSS of its socket; the client connects,
// prints its MSS and sends 1 MB.
const tcpMSSServer = `
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("0.0.0.0", 9000)); s.listen(1)
c, a = s.accept(); n = 0
while True:
    d = c.recv(65536)
    if not d: break
    n += len(d)
print(a[0], n, c.getsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG), flush=True)
`

const tcpMSSClient = `
import socket, sys, time
for i in range(50):
    try:
        s = socket.create_connection((sys.argv[1], 9000), timeout=10); break
    except OSError:
        time.sleep(0.2)
print(s.getsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG), flush=True)
s.sendall(b"x" * 1000000); s.close()
`

// Across two overlay nodes the pods' vNICs have an MTU of 1450 (the 50-byte
// VXLAN EncapOverhead, windows-behaviour.md §4: microsoft/SDN#517), so TCP
// negotiates an MSS of 1450-40 = 1410 and a 1 MB stream arrives whole,
// encapsulated in frames that fit the underlay's 1500.
func TestOverlayTCPMSS(t *testing.T) {
	needRoot(t, "python3")
	var pcap bytes.Buffer
	s := startPcap(t, &pcap, "testdata/overlay.yaml", "host1/pod-a", "host2/pod-c")
	srv := s.oneShot("host2/pod-c", "python3", "-c", tcpMSSServer)
	// TCP_MAXSEG is the MSS less the 12-byte timestamp option Linux puts in
	// every segment: 1410 - 12.
	if got, want := s.run("host1/pod-a", "python3", "-c", tcpMSSClient, "10.244.2.2"), "1398\n"; got != want {
		t.Errorf("client TCP_MAXSEG: got %q, want %q", got, want)
	}
	if got, want := <-srv, "10.244.1.2 1000000 1398\n"; got != want {
		t.Errorf("server: got %q, want %q (client address, bytes, TCP_MAXSEG)", got, want)
	}
	r := s.stop()
	for _, d := range r.Drops {
		if strings.Contains(strings.ToLower(d.Reason), "mtu") {
			t.Errorf("drop %+v: nothing should exceed the MTU", d)
		}
	}
	// The SYNs as gopacket decodes them: MSS option 1410 both ways.
	rd, err := pcapgo.NewNgReader(&pcap, pcapgo.DefaultNgReaderOptions)
	if err != nil {
		t.Fatal(err)
	}
	syns := 0
	for {
		data, _, err := rd.ReadPacketData()
		if err != nil {
			break
		}
		pk := gopacket.NewPacket(data, layers.LayerTypeEthernet, gopacket.Default)
		tcp, ok := pk.Layer(layers.LayerTypeTCP).(*layers.TCP)
		if !ok || !tcp.SYN {
			continue
		}
		for _, o := range tcp.Options {
			if o.OptionType == layers.TCPOptionKindMSS {
				syns++
				if mss := binary.BigEndian.Uint16(o.OptionData); mss != 1410 {
					t.Errorf("SYN %v:%v: MSS %d, want 1410", tcp.SrcPort, tcp.DstPort, mss)
				}
			}
		}
	}
	if syns < 2 {
		t.Errorf("pcap: %d SYNs with an MSS option, want the SYN and the SYN-ACK", syns)
	}
}

// A NodePort service on an l2bridge node: without DSR the backend sees the
// load balancer's SourceVIP (10.244.1.254) instead of the client, with DSR
// it sees the client's own address (windows-behaviour.md §3.6, §4 issue 12;
// kubernetes/kubernetes#93166).
func TestL2BridgeLBClientAddress(t *testing.T) {
	needRoot(t, "python3", "curl", "ip")
	s := start(t, "testdata/l2bridge.yaml", "host1/pod-b", "client")
	// The model does not answer the pod's ARP for the SourceVIP (nothing in the
	// topology owns 10.244.1.254); like the scenario l2bridge-nodeport-client-ip,
	// the pod sends its replies to the node's MAC.
	s.run("host1/pod-b", "ip", "neigh", "replace", "10.244.1.254", "lladdr", "00:15:5d:00:00:04", "dev", "eth0")
	s.server("host1/pod-b", "python3", "-c", httpServer, "0.0.0.0", "8080", "pod-b")
	if got, want := s.run("client", curl("http://10.0.0.4:30080/")...), "hello from pod-b to 10.244.1.254\n"; got != want {
		t.Errorf("NodePort without DSR: got %q, want %q", got, want)
	}
	if got, want := s.run("client", curl("http://10.0.0.4:30081/")...), "hello from pod-b to 10.0.0.99\n"; got != want {
		t.Errorf("NodePort with DSR: got %q, want %q", got, want)
	}
}

// A port attached to an existing interface: the outside server runs in a
// namespace the test made itself, on the peer end of a veth pair whose other
// end the session opens (Run is called inside that namespace).
func TestExistingInterface(t *testing.T) {
	needRoot(t, "python3", "curl", "ip")
	lab, err := linux.NewLab()
	if err != nil {
		t.Fatal(err)
	}
	defer lab.Close()
	x, err := lab.NewNamespace("x")
	if err != nil {
		t.Fatal(err)
	}
	mac, _ := net.ParseMAC("02:00:00:00:01:10")
	for _, step := range []func() error{
		func() error { return x.AddVeth("ext0", x, "srv0") },
		func() error { return x.SetMAC("srv0", mac) },
		func() error { return x.SetOffloads("srv0", false) },
		func() error { return x.SetOffloads("ext0", false) },
		func() error { return x.AddAddr("srv0", netip.MustParsePrefix("198.18.0.10/15")) },
		func() error { return x.SetUp("lo", "srv0", "ext0") },
		func() error {
			return x.AddRoute(linux.Route{Dst: netip.MustParsePrefix("0.0.0.0/0"), Gw: netip.MustParseAddr("198.18.0.1"), Dev: "srv0"})
		},
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	topo, err := scenarios.LoadTopology("testdata/nat.yaml")
	if err != nil {
		t.Fatal(err)
	}
	f, err := topo.Build(fabric.Options{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- x.Do(func() error {
			_, err := Run(ctx, Config{Topology: topo.Topology, Fabric: f, Ports: []string{"host1/web"},
				Interfaces: map[string]string{"server": "ext0"}, RunDir: dir, Ready: func(*State) { close(ready) }})
			return err
		})
	}()
	select {
	case <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("live session did not start: %v", err)
	}
	s := &session{t: t, dir: dir}
	srv := exec.Command("ip", "netns", "exec", x.FullName(), "python3", "-c", httpServer, "198.18.0.10", "80", "server")
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Wait()
	defer srv.Process.Kill()
	got := s.run("host1/web", curl("http://198.18.0.10/")...)
	cancel()
	if err := <-done; err != nil {
		t.Errorf("live session: %v", err)
	}
	if want := "hello from server to 10.0.0.4\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if _, err := ReadState(dir); err == nil {
		t.Errorf("state file left in %s after the session", dir)
	}
}
