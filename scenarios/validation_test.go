package scenarios

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hnspath/hnspath/emulator/fabric"
)

// natTopology returns a topology of one host with a NAT network, the NIC
// line nic, and endpoints, with names but no MAC (HNS derives them).
func natTopology(nic string, endpoints int, extra string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `hosts:
  - name: host1
    nics:
      - %s
    hns:
      Networks:
        - Name: nat
          Type: NAT
          Ipams:
            - Type: Static
              Subnets:
                - IpAddressPrefix: 172.16.0.0/16
                  Routes: [{NextHop: 172.16.0.1, DestinationPrefix: 0.0.0.0/0}]
      Endpoints:
`, nic)
	for i := 0; i < endpoints; i++ {
		a := i + 2
		fmt.Fprintf(&b, "        - {Name: ep%d, HostComputeNetwork: nat, IpConfigurations: [{IpAddress: 172.16.%d.%d, PrefixLength: 16}]}\n", i, a>>8, a&0xff)
	}
	b.WriteString(extra)
	return b.String()
}

const natNIC = `{name: eth0, mac: "00:15:5d:00:00:04", ip: 10.0.0.4/24, gateway: 10.0.0.1}`

// TestGeneratedMACsUnique builds a host with 10,000 endpoints whose MACs
// HNS derives: 24 derived bits collide among 10,000 endpoints (birthday
// bound) and the vSwitch refused the second port with "MAC ... already on
// port"; every endpoint must get its own MAC.
func TestGeneratedMACsUnique(t *testing.T) {
	n := 10_000
	if testing.Short() {
		n = 2_000
	}
	topo, err := ParseTopology("many.yaml", []byte(natTopology(natNIC, n, "")))
	if err != nil {
		t.Fatal(err)
	}
	f, err := topo.Build(fabric.Options{})
	if err != nil {
		t.Fatalf("Build with %d endpoints: %v", n, err)
	}
	seen := map[string]string{}
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("host1/ep%d", i)
		p, ok := f.PortByName(name)
		if !ok {
			t.Fatalf("no port %s", name)
		}
		mac := f.Port(p).MAC.String()
		if o, dup := seen[mac]; dup {
			t.Fatalf("%s and %s share MAC %s", o, name, mac)
		}
		seen[mac] = name
	}
}

// TestTopologyMTU checks that an MTU Windows would not take is refused at
// its line: 0 and 1 (below 68, RFC 791) and, on a NIC with IPv6, below
// 1280 (RFC 8200).
func TestTopologyMTU(t *testing.T) {
	for _, tt := range []struct {
		name, nic, extra string
		want             string // "" = valid
	}{
		{"mtu 0", `{name: eth0, mac: "00:15:5d:00:00:04", ip: 10.0.0.4/24, mtu: 0}`, "", "mtu.yaml:4:70: hosts[0].nics[0].mtu: MTU 0 is below 68"},
		{"mtu 1", `{name: eth0, mac: "00:15:5d:00:00:04", ip: 10.0.0.4/24, mtu: 1}`, "", "mtu.yaml:4:70: hosts[0].nics[0].mtu: MTU 1 is below 68"},
		{"mtu 68", `{name: eth0, mac: "00:15:5d:00:00:04", ip: 10.0.0.4/24, mtu: 68}`, "", ""},
		{"mtu 1000 with IPv6", `{name: eth0, mac: "00:15:5d:00:00:04", ip: 10.0.0.4/24, ipv6: "fd00::4/64", mtu: 1000}`, "",
			"hosts[0].nics[0].mtu: MTU 1000 is below 1280, the IPv6 minimum"},
		{"underlay mtu 1", natNIC, "underlay:\n  mtu: 1\n", "underlay.mtu: MTU 1 is below 68"},
		{"default", natNIC, "", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseTopology("mtu.yaml", []byte(natTopology(tt.nic, 1, tt.extra)))
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("error %v, want none", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("error %v, want %q", err, tt.want)
			}
		})
	}
}
