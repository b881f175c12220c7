package hns

import (
	"encoding/json"
	"net/netip"
	"testing"

	"github.com/hnspath/hnspath/emulator/header"
	"github.com/hnspath/hnspath/emulator/host"
)

// TestNATEndpointMTU checks that a nat network's container vNIC gets the
// 1500-byte MTU of a Hyper-V network adapter (nothing lowers it on nat;
// only overlay has EncapOverhead), so a bigger frame from the container is
// refused at its port as on a real vNIC.
func TestNATEndpointMTU(t *testing.T) {
	var o Objects
	err := json.Unmarshal([]byte(`{
		"Networks": [{"Name": "nat", "Type": "NAT", "Ipams": [{"Type": "Static", "Subnets": [{"IpAddressPrefix": "172.16.0.0/16"}]}]}],
		"Endpoints": [{"Name": "web", "HostComputeNetwork": "nat", "IpConfigurations": [{"IpAddress": "172.16.0.2", "PrefixLength": 16}]}]
	}`), &o)
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Normalize(); err != nil {
		t.Fatal(err)
	}
	h := host.New("h")
	if _, err := h.AddNIC("eth0", header.MAC{0x00, 0x15, 0x5d, 0, 0, 4}, 1500, []netip.Prefix{netip.MustParsePrefix("10.0.0.4/24")}); err != nil {
		t.Fatal(err)
	}
	if _, err := Program(h, &o, ProgramOptions{}); err != nil {
		t.Fatal(err)
	}
	ei, ok := h.EndpointByName("web")
	if !ok {
		t.Fatal("no endpoint web")
	}
	e := h.Endpoints[ei]
	if got := h.Switches[e.Switch].Port(e.Port).MTU; got != 1500 {
		t.Errorf("nat vNIC MTU = %d, want 1500", got)
	}
}

// TestDefaultsAsRealNodes checks the defaults taken from real nodes' output
// (docs/fidelity.md §5): a nat network without a subnet is a /20
// inside 172.16.0.0/12 with its gateway at .1 (as 172.17.32.0/20 with
// gateway 172.17.32.1 in Get-HnsNetwork on Windows Server 2025), the same
// on every run and in the normalized objects; an endpoint with
// a static address in the pool gets the /20 holding it (172.27.148.101/20,
// gateway 172.27.144.1); an overlay endpoint without a MAC gets 0E-2A-<IP>.
func TestDefaultsAsRealNodes(t *testing.T) {
	program := func(t *testing.T, js string, hostIP string) *host.Host {
		t.Helper()
		var o Objects
		if err := json.Unmarshal([]byte(js), &o); err != nil {
			t.Fatal(err)
		}
		if err := o.Normalize(); err != nil {
			t.Fatal(err)
		}
		h := host.New("node1")
		if _, err := h.AddNIC("eth0", header.MAC{0x00, 0x15, 0x5d, 0, 0, 4}, 1500, []netip.Prefix{netip.MustParsePrefix(hostIP)}); err != nil {
			t.Fatal(err)
		}
		if _, err := Program(h, &o, ProgramOptions{}); err != nil {
			t.Fatal(err)
		}
		return h
	}
	gw := func(h *host.Host) netip.Addr {
		ei, _ := h.EndpointByName("web")
		return h.Endpoints[ei].Gateway
	}
	const noSubnet = `{"Networks": [{"Name": "nat", "Type": "NAT"}], "Endpoints": [{"Name": "web", "HostComputeNetwork": "nat"}]}`
	h := program(t, noSubnet, "10.0.0.4/24")
	g := gw(h)
	p, _ := g.Prefix(20)
	if !netip.MustParsePrefix("172.16.0.0/12").Contains(g) || g != p.Addr().Next() {
		t.Errorf("default nat gateway %s, want .1 of a /20 in 172.16.0.0/12", g)
	}
	if g2 := gw(program(t, noSubnet, "10.0.0.4/24")); g2 != g {
		t.Errorf("default prefix not repeatable: %s then %s", g, g2)
	}
	// The subnet is in the objects after Normalize, for every reader (the
	// Linux probe builds the same network).
	var o Objects
	if err := json.Unmarshal([]byte(noSubnet), &o); err != nil {
		t.Fatal(err)
	}
	if err := o.Normalize(); err != nil {
		t.Fatal(err)
	}
	if got := o.Networks[0].Prefixes(); len(got) != 1 || got[0] != p {
		t.Errorf("normalized nat network prefixes %v, want [%s]", got, p)
	}
	static := `{"Networks": [{"Name": "nat", "Type": "NAT"}], "Endpoints": [{"Name": "web", "HostComputeNetwork": "nat", "IpConfigurations": [{"IpAddress": "172.27.148.101", "PrefixLength": 20}]}]}`
	if g := gw(program(t, static, "10.0.0.4/24")); g != netip.MustParseAddr("172.27.144.1") {
		t.Errorf("gateway %s, want 172.27.144.1 (the /20 of the static address)", g)
	}
	overlay := `{"Networks": [{"Name": "vxlan0", "Type": "Overlay", "Ipams": [{"Type": "Static", "Subnets": [{"IpAddressPrefix": "10.244.1.0/24",
		"Policies": [{"Type": "VSID", "Settings": {"IsolationId": 4096}}], "Routes": [{"NextHop": "10.244.1.1", "DestinationPrefix": "0.0.0.0/0"}]}]}]}],
		"Endpoints": [{"Name": "web", "HostComputeNetwork": "vxlan0", "IpConfigurations": [{"IpAddress": "10.244.1.18", "PrefixLength": 24}]}]}`
	ho := program(t, overlay, "10.0.0.4/24")
	ei, _ := ho.EndpointByName("web")
	if got, want := ho.Endpoints[ei].MAC, (header.MAC{0x0e, 0x2a, 10, 244, 1, 18}); got != want {
		t.Errorf("overlay endpoint MAC %s, want %s", got, want)
	}
}
