package linux_test

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/hnspath/hnspath/hostprobe/linux"
)

// Example builds the Linux analogue of an HNS nat network with one port mapping, injects
// a frame from the outside and prints what the container's interface saw. It needs root,
// so it is compiled but not run by go test.
func Example() {
	if err := linux.CheckPrivileges(); err != nil {
		fmt.Println(err)
		return
	}
	lab, err := linux.NewLab()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer lab.Close()
	stop := lab.CloseOnSignal()
	defer stop()

	host, _ := lab.NewNamespace("host")
	ctr, _ := lab.NewNamespace("web")
	peer, _ := lab.NewNamespace("client")
	steps := []error{
		host.AddBridge("br0"),
		host.AddVeth("web", ctr, "eth0"),
		host.SetMaster("web", "br0"),
		host.AddVeth("eth0", peer, "eth0"),
		host.AddAddr("br0", netip.MustParsePrefix("172.16.0.1/24")),
		host.AddAddr("eth0", netip.MustParsePrefix("198.18.0.1/24")),
		ctr.AddAddr("eth0", netip.MustParsePrefix("172.16.0.2/24")),
		peer.AddAddr("eth0", netip.MustParsePrefix("198.18.0.99/24")),
		host.SetUp("br0", "web", "eth0"),
		ctr.SetUp("eth0"),
		peer.SetUp("eth0"),
		ctr.AddRoute(linux.Route{Dst: netip.MustParsePrefix("0.0.0.0/0"), Gw: netip.MustParseAddr("172.16.0.1")}),
		host.SetSysctl("net.ipv4.ip_forward", "1"),
		host.AddMasquerade(linux.Masquerade{OutIface: "eth0", Src: netip.MustParsePrefix("172.16.0.0/24")}),
		host.AddDNAT(linux.DNAT{Proto: linux.ProtoTCP, Dst: netip.MustParseAddr("198.18.0.1"), DstPort: 8082,
			To: netip.MustParseAddrPort("172.16.0.2:80")}),
	}
	for _, err := range steps {
		if err != nil {
			fmt.Println(err)
			return
		}
	}
	capt, err := lab.NewCapturer(linux.CapturePoint{NS: ctr, Ifname: "eth0"}, linux.CapturePoint{NS: peer, Ifname: "eth0"})
	if err != nil {
		fmt.Println(err)
		return
	}
	inj, err := peer.NewInjector("eth0")
	if err != nil {
		fmt.Println(err)
		return
	}
	var frame []byte // an Ethernet/IPv4/TCP SYN to 198.18.0.1:8082, e.g. built with gopacket
	if err := inj.Inject(frame); err != nil {
		fmt.Println(err)
		return
	}
	frames, err := capt.Drain(100*time.Millisecond, 2*time.Second)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, f := range frames.On("web/eth0") {
		fmt.Println(f.Dir, len(f.Data))
	}
}
