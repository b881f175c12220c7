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
