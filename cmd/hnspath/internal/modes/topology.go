package modes

import (
	"encoding/json"
	"fmt"
	"net/netip"

	"github.com/hnspath/hnspath/emulator/fabric"
)

// Mode names, in the order they are run and shown.
const (
	NAT         = "nat"
	Transparent = "transparent"
	L2Bridge    = "l2bridge"
	L2Tunnel    = "l2tunnel"
	Overlay     = "overlay"
)

// All lists every mode.
var All = []string{NAT, Transparent, L2Bridge, L2Tunnel, Overlay}

// networkType is the HNS network type of each mode.
var networkType = map[string]string{
	NAT: "NAT", Transparent: "Transparent", L2Bridge: "L2Bridge", L2Tunnel: "L2Tunnel", Overlay: "Overlay",
}

// Limits of the address plan below.
const (
	maxLocal     = 40 // host endpoints: .20-.59 on the underlay, .2-.41 in container subnets
	maxNodes     = 8  // remote nodes: NICs 10.0.0.5-12
	maxRemoteEps = 16 // endpoints per remote node
	maxLAN       = 50 // LAN peers: 10.0.0.200-249
	maxInternet  = 200
)

// The address plan shared by every mode (modelled on the topologies of
// emulator/fabric/testdata, whose tests show each mode's frames):
//
//	underlay 10.0.0.0/24 (fd00:10::/64): router .1, host1 .4, remote node k .5+k,
//	         LAN peers .200+m; container addresses of transparent and
//	         l2tunnel (host .20+i, node k .64+16k+j)
//	internet 198.18.0.0/15 (2001:db8:18::/64), RFC 2544's benchmarking
//	         range, behind the router: peer m at .10+m
//	nat      172.16.0.0/16 on every host (Docker's default), .2+i
//	l2bridge 10.244.1.0/24 (fd00:244:1::/64) on the host, 10.244.2+k.0/24 on node k
//	overlay  as l2bridge, VXLAN VNI 4096, IPv4 only
var (
	underlay4  = netip.MustParsePrefix("10.0.0.0/24")
	underlay6  = netip.MustParsePrefix("fd00:10::/64")
	internet4  = netip.MustParsePrefix("198.18.0.0/15")
	internet6  = netip.MustParsePrefix("2001:db8:18::/64")
	routerMAC  = "02:00:00:00:00:01"
	overlayVNI = 4096
)

// nth returns the address n after the prefix's base address.
func nth(p netip.Prefix, n int) netip.Addr {
	a := p.Masked().Addr()
	b := a.AsSlice()
	carry := n
	for i := len(b) - 1; i >= 0 && carry > 0; i-- {
		s := int(b[i]) + carry
		b[i] = byte(s)
		carry = s >> 8
	}
	out, _ := netip.AddrFromSlice(b)
	return out
}

func withLen(a netip.Addr, bits int) string { return netip.PrefixFrom(a, bits).String() }

// placed is where a party sits in one mode.
type placed struct {
	// port is the fabric port the party sends from and receives at.
	port string
	// v4 and v6 are its addresses in the mode (invalid: none).
	v4, v6 netip.Addr
	// host is the host an endpoint runs on ("host1" or a node's name).
	host string
	// mac is the endpoint's MAC.
	mac string
	// pfx are the subnets it is on (on-link destinations); gw4 is its
	// IPv4 gateway.
	pfx []netip.Prefix
	gw4 netip.Addr
	// mtu is an endpoint's MTU when it is below 1500 (overlay: 1450).
	mtu int
}

// addr returns the party's address of a family.
func (p *placed) addr(v6 bool) netip.Addr {
	if v6 {
		return p.v6
	}
	return p.v4
}

// world is one mode's topology and where every party sits in it.
type world struct {
	mode  string
	wl    *Workload
	topo  fabric.Topology
	at    map[string]*placed // by party name
	hosts map[string]netip.Addr
	// v6Rejected is set when the mode gives endpoints no IPv6 address
	// (HNS rejects them); the text is HNS's.
	v6Rejected string
}

// hostNIC returns the underlay address of host h ("host1" or a node).
func (w *world) hostNIC(h string, v6 bool) netip.Addr {
	a := w.hosts[h]
	if v6 {
		a = nth(underlay6, int(a.As4()[3]))
	}
	return a
}

// buildWorld lays out the workload as mode. With v6 false, endpoints get no
// IPv6 addresses.
func buildWorld(mode string, wl *Workload, peers []*Peer, v6 bool) (*world, error) {
	w := &world{mode: mode, wl: wl, at: map[string]*placed{}, hosts: map[string]netip.Addr{}}
	if len(wl.Endpoints) > maxLocal {
		return nil, fmt.Errorf("%d endpoints on the host: at most %d", len(wl.Endpoints), maxLocal)
	}
	hosts := []hostJSON{w.host("host1", 0, mode, wl.Endpoints, v6, wl)}
	for k, n := range wl.Nodes {
		if len(n.Endpoints) > maxRemoteEps {
			return nil, fmt.Errorf("node %s: %d endpoints: at most %d", n.Name, len(n.Endpoints), maxRemoteEps)
		}
		hosts = append(hosts, w.host(n.Name, k+1, mode, n.Endpoints, v6, wl))
	}
	var ps []map[string]any
	lan, inet := 0, 0
	for _, p := range peers {
		pl := &placed{port: p.Name}
		gw := "198.18.0.1"
		if p.Where == LAN {
			if lan >= maxLAN {
				return nil, fmt.Errorf("more than %d lan peers", maxLAN)
			}
			pl.v4, pl.v6 = nth(underlay4, 200+lan), nth(underlay6, 200+lan)
			gw = "10.0.0.1"
			lan++
		} else {
			if inet >= maxInternet {
				return nil, fmt.Errorf("more than %d internet peers", maxInternet)
			}
			pl.v4, pl.v6 = nth(internet4, 10+inet), nth(internet6, 10+inet)
			inet++
		}
		bits4, bits6 := 24, 64
		if p.Where != LAN {
			bits4 = 15
		}
		pl.pfx = []netip.Prefix{netip.PrefixFrom(pl.v4, bits4).Masked(), netip.PrefixFrom(pl.v6, bits6).Masked()}
		pl.gw4 = netip.MustParseAddr(gw)
		if mode == L2Tunnel {
			// On Azure, the only place l2tunnel runs, the virtual network
			// answers every ARP with its gateway's MAC and routes
			// everything itself [I]: peers send to the gateway even on
			// the same subnet.
			pl.pfx = nil
		}
		idx := len(ps)
		ps = append(ps, map[string]any{
			"name": p.Name, "mac": fmt.Sprintf("02:00:00:01:%02x:%02x", idx>>8, idx&0xff),
			"ip": withLen(pl.v4, bits4), "ips": []string{withLen(pl.v6, bits6)}, "gateway": gw,
		})
		w.at[p.Name] = pl
	}
	topo := map[string]any{
		"hosts": hosts,
		"peers": ps,
		"underlay": map[string]any{"router": map[string]any{
			"mac": routerMAC,
			"ips": []string{"10.0.0.1/24", "198.18.0.1/15", "fd00:10::1/64", "2001:db8:18::1/64"},
		}},
	}
	b, err := json.Marshal(topo)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &w.topo); err != nil {
		return nil, fmt.Errorf("%s topology: %w", mode, err)
	}
	return w, nil
}

type hostJSON = map[string]any

// host lays out one host (index k: 0 is the host being planned) with its
// endpoints in mode.
func (w *world) host(name string, k int, mode string, eps []*Endpoint, v6 bool, wl *Workload) hostJSON {
	nic := nth(underlay4, 4+k) // host1 .4, node k .4+k
	w.hosts[name] = nic
	h := hostJSON{
		"name": name,
		"nics": []map[string]any{{
			"name": "eth0", "mac": fmt.Sprintf("00:15:5d:00:00:%02x", 4+k),
			"ip": withLen(nic, 24), "ipv6": withLen(nth(underlay6, 4+k), 64), "gateway": "10.0.0.1",
		}},
		"routes": []map[string]any{{"prefix": "::/0", "via": "fd00:10::1"}},
	}
	if wl.Profile != "" {
		h["profile"] = wl.Profile
	}
	var sub4, sub6 netip.Prefix
	var gw4, gw6 netip.Addr
	first := 2 // first endpoint address in the subnet
	switch mode {
	case NAT:
		sub4 = netip.MustParsePrefix("172.16.0.0/16")
		sub6 = netip.MustParsePrefix("fd00:172:16::/64") // HNS rejects it (see run.go)
	case Transparent, L2Tunnel:
		sub4, sub6 = underlay4, underlay6
		first = 20
		if k > 0 {
			first = 64 + 16*(k-1)
		}
		gw4, gw6 = nth(underlay4, 1), nth(underlay6, 1)
	case L2Bridge, Overlay:
		sub4 = netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 244, byte(1 + k), 0}), 24)
		sub6 = netip.PrefixFrom(netip.AddrFrom16([16]byte{0xfd, 0, 0x02, 0x44, 0, byte(1 + k)}), 64)
	}
	if !gw4.IsValid() {
		gw4 = nth(sub4, 1)
		if sub6.IsValid() {
			gw6 = nth(sub6, 1)
		}
	}
	if !v6 || !wl.any6() {
		sub6 = netip.Prefix{}
	}
	subnets := []map[string]any{{
		"IpAddressPrefix": sub4.String(),
		"Routes":          []map[string]any{{"NextHop": gw4.String(), "DestinationPrefix": "0.0.0.0/0"}},
	}}
	if mode == Overlay {
		subnets[0]["Policies"] = []map[string]any{{"Type": "VSID", "Settings": map[string]any{"IsolationId": overlayVNI}}}
	}
	if sub6.IsValid() {
		subnets = append(subnets, map[string]any{
			"IpAddressPrefix": sub6.String(),
			"Routes":          []map[string]any{{"NextHop": gw6.String(), "DestinationPrefix": "::/0"}},
		})
	}
	netName := mode
	network := map[string]any{
		"Name": netName, "Type": networkType[mode],
		"Ipams": []map[string]any{{"Type": "Static", "Subnets": subnets}},
	}
	if mode == Overlay {
		network["Flags"] = 8 // EnableNonPersistent, as flannel creates it
		pols := []map[string]any{{"Type": "DrMacAddress", "Settings": map[string]any{"Address": drMAC(k)}}}
		for j := range len(wl.Nodes) + 1 {
			if j == k {
				continue
			}
			pols = append(pols, map[string]any{"Type": "RemoteSubnetRoute", "Settings": map[string]any{
				"DestinationPrefix": fmt.Sprintf("10.244.%d.0/24", 1+j), "IsolationId": overlayVNI,
				"ProviderAddress": nth(underlay4, 4+j).String(), "DistributedRouterMacAddress": drMAC(j),
			}})
		}
		pols = append(pols, map[string]any{"Type": "HostRoute", "Settings": map[string]any{}})
		network["Policies"] = pols
	}
	var hnsEps []map[string]any
	for i, e := range eps {
		pl := &placed{port: name + "/" + e.Name, host: name, v4: nth(sub4, first+i), pfx: []netip.Prefix{sub4}, gw4: gw4}
		if sub6.IsValid() && e.has6() {
			pl.v6 = nth(sub6, first+i)
			pl.pfx = append(pl.pfx, sub6)
		}
		if mode == Overlay {
			pl.mtu = 1500 - 50 // EncapOverhead 50 (windows-behaviour.md §3.5)
		}
		switch mode {
		case NAT:
			pl.mac = fmt.Sprintf("00-15-5D-AA-%02X-%02X", k, 2+i)
		case Overlay:
			// win-overlay's MAC: 0E-2A and the IPv4 address in hex
			// (windows-behaviour.md §3.5).
			a := pl.v4.As4()
			pl.mac = fmt.Sprintf("0E-2A-%02X-%02X-%02X-%02X", a[0], a[1], a[2], a[3])
		default:
			pl.mac = fmt.Sprintf("00-15-5D-%02X-01-%02X", 1+k, 2+i)
		}
		ips := []map[string]any{{"IpAddress": pl.v4.String(), "PrefixLength": sub4.Bits()}}
		if pl.v6.IsValid() {
			ips = append(ips, map[string]any{"IpAddress": pl.v6.String(), "PrefixLength": sub6.Bits()})
		}
		var pols []map[string]any
		switch mode {
		case NAT:
			for _, x := range e.Expose {
				pols = append(pols, map[string]any{"Type": "PortMapping", "Settings": map[string]any{
					"Protocol": x.Proto, "InternalPort": x.Internal, "ExternalPort": x.External}})
			}
		case L2Bridge:
			// Flannel host-gw's win-bridge delegate: OutBoundNAT except
			// the cluster, service and node subnets (microsoft/SDN
			// Kubernetes/flannel/l2bridge/cni/config/cni.conf).
			pols = append(pols, map[string]any{"Type": "OutBoundNAT", "Settings": map[string]any{
				"Exceptions": []string{"10.244.0.0/16", "10.96.0.0/12", underlay4.String()}}})
		case Overlay:
			// sdnoverlay's delegate (windows-container-networking
			// example/flannel_overlay.conf) and win-overlay's
			// EncapOverhead 50 (windows-behaviour.md §3.5).
			pols = append(pols,
				map[string]any{"Type": "EncapOverhead", "Settings": map[string]any{"Overhead": 50}},
				map[string]any{"Type": "OutBoundNAT", "Settings": map[string]any{"Exceptions": []string{"10.244.0.0/16", "10.96.0.0/12"}}})
		}
		ep := map[string]any{"Name": e.Name, "HostComputeNetwork": netName, "MacAddress": pl.mac, "IpConfigurations": ips}
		if len(pols) > 0 {
			ep["Policies"] = pols
		}
		hnsEps = append(hnsEps, ep)
		w.at[e.Name] = pl
	}
	h["hns"] = map[string]any{"Networks": []any{network}, "Endpoints": hnsEps}
	return h
}

// drMAC is the distributed router MAC of host k on the overlay
// (0E-2A-0A-F4-0k-01, as flannel's example in the fabric tests).
func drMAC(k int) string { return fmt.Sprintf("0E-2A-0A-F4-%02X-01", 1+k) }

// any6 reports whether any endpoint has an IPv6 address in the traffic.
func (wl *Workload) any6() bool {
	for _, e := range wl.endpoints() {
		if e.has6() {
			return true
		}
	}
	return false
}

// has6 reports whether the endpoint has an IPv6 address in the traffic.
func (e *Endpoint) has6() bool {
	for _, a := range e.Addrs {
		if a.Is6() {
			return true
		}
	}
	return false
}
