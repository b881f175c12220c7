package workload

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"strconv"

	"github.com/hnspath/hnspath/emulator/fabric"
	"github.com/hnspath/hnspath/emulator/hns"
	"github.com/hnspath/hnspath/emulator/vfp"
)

// Addresses of the built-in topologies (topo/*.json).
var (
	macHost1  = mustMAC("00:15:5d:00:00:04")
	macHost2  = mustMAC("00:15:5d:00:00:05")
	macWeb    = mustMAC("00:15:5d:aa:00:02") // nat: host1/web
	macServer = mustMAC("02:00:00:00:01:10")
	macClient = mustMAC("02:00:00:00:00:99")
	macPodA   = mustMAC("00:15:5d:01:01:02") // l2bridge, l2tunnel, transparent (web), acl
	macPodB   = mustMAC("00:15:5d:01:01:03") // l2tunnel, acl
	macPodC   = mustMAC("00:15:5d:02:01:02") // l2bridge host2
	macNode2  = mustMAC("02:00:00:00:02:00") // lb: the node behind the backends

	// Overlay: pods and the distributed router MACs of the two hosts.
	macOvA   = mustMAC("0e:2a:0a:f4:01:02")
	macOvC   = mustMAC("0e:2a:0a:f4:02:02")
	macOvDR1 = mustMAC("0e:2a:0a:f4:01:01")
	macOvDR2 = mustMAC("0e:2a:0a:f4:02:01")

	ipHost1  = addr4("10.0.0.4")
	ipHost2  = addr4("10.0.0.5")
	ipServer = addr4("10.0.0.10")
	ipWeb    = addr4("172.16.0.2")
	ipPodA   = addr4("10.244.1.2")
	ipPodC   = addr4("10.244.2.2")
)

const (
	// overlayMaxSize is the largest frame an overlay container sends: its
	// 1450-byte MTU (1500 minus the 50-byte VXLAN overhead, microsoft/SDN#517)
	// plus Ethernet header and FCS.
	overlayMaxSize = 1450 + ethLen + FCSLen
	// overlayVNI is the VSID of the overlay topology.
	overlayVNI = 4096
	// portSpan is how many source ports a flow generator uses before it moves
	// on to the next destination port (or address).
	portSpan = 60_000
	// natSpan is the number of source ports of NATed workloads: WinNAT and VFP
	// map each (address, port) once (RFC 4787 EIM), so source ports bound the
	// port pool a workload uses: 1000 fits VFP's 1024-port OutBoundNAT pool
	// and WinNAT's 16384-port range split over up to 16 cores.
	natSpan = 1000
	// winnatPorts is WinNAT's dynamic port range (winnat.DefaultPortRange).
	winnatLo, winnatHi = 49152, 65535
	// maxClients bounds the extra client addresses (nat-inbound) and client
	// pods (lb) that large flow counts need.
	maxClients = 64
)

// spread returns the source and destination ports of flow i: span source
// ports from 1024, then the next destination port from 1024.
func spread(i, span int) (sport, dport uint16) {
	return uint16(1024 + i%span), uint16(1024 + i/span)
}

var modes = []Mode{
	{Name: "nat-outbound", Bench: "NATOutbound", Legs: 1, setup: natOutbound,
		Summary: "nat: container host1/web to an on-link server, WinNAT source NAT (dynamic sessions)"},
	{Name: "nat-inbound", Bench: "NATInbound", Legs: 2, setup: natInbound,
		Summary: "nat: a client to host1:8082 through a static port mapping to web:80, and web's reply"},
	{Name: "l2bridge", Bench: "L2Bridge", Legs: 1, setup: l2bridge,
		Summary: "l2bridge: pod-a on host1 to pod-c on host2 (MAC rewrite, OutBoundNAT exception, underlay router)"},
	{Name: "l2bridge-outboundnat", Bench: "L2BridgeOutboundNAT", Legs: 1, setup: l2bridgeOutboundNAT,
		Summary: "l2bridge: pod-a to an on-link server, VFP OutBoundNAT to the host's address"},
	{Name: "l2tunnel", Bench: "L2Tunnel", Legs: 1, setup: l2tunnel,
		Summary: "l2tunnel: pod-a to pod-b on the same host, through the physical gateway"},
	{Name: "transparent", Bench: "Transparent", Legs: 1, setup: transparent,
		Summary: "transparent: container web to an on-link client, no translation"},
	{Name: "overlay-encap", Bench: "OverlayEncap", Legs: 1, setup: overlayEncap,
		Summary: "overlay: pod-a on host1 to 10.244.2.2, VXLAN encapsulation until the frame reaches the peer host2"},
	{Name: "overlay-decap", Bench: "OverlayDecap", Legs: 1, setup: overlayDecap,
		Summary: "overlay: VXLAN frames from host1 arriving at host2/eth0, decapsulated to pod-c"},
	{Name: "overlay-roundtrip", Bench: "OverlayRoundtrip", Legs: 2, setup: overlayRoundtrip,
		Summary: "overlay: pod-a on host1 to pod-c on host2 and the reply, both through VXLAN"},
	{Name: "acl", Bench: "ACL", Param: "rules", Legs: 1, setup: acl,
		Summary: "l2bridge: pod-a to pod-b, whose port has N ACL rules (only the last allows the traffic)"},
	{Name: "lb", Bench: "LB", Param: "backends", Legs: 1, setup: lb,
		Summary: "l2bridge: pods to a ClusterIP (UDP 10.96.0.10:53) with N remote backends behind node2"},
}

// natGateway builds the nat topology's fabric and learns the gateway MAC the
// container web sends to.
func natGateway(topo fabric.Topology) (macAddr, error) {
	f, err := fabric.New(topo, fabric.Options{})
	if err != nil {
		return macAddr{}, err
	}
	return arpFor(f, "host1/web", macWeb, netip.AddrFrom4(ipWeb), netip.MustParseAddr("172.16.0.1"))
}

func natOutbound(p Params, total int) (*setup, error) {
	topo, err := loadTopo("nat")
	if err != nil {
		return nil, err
	}
	gw, err := natGateway(topo)
	if err != nil {
		return nil, err
	}
	return &setup{
		topo:     topo,
		routes:   []route{{mac: macWeb, in: "host1/web", out: "server"}},
		maxFlows: natSpan * (65536 - 1024),
		counter:  natSessions("host1"),
		legs: []leg{{
			build: func(a *arena, i, size int) ([]byte, error) {
				sp, dp := spread(i, natSpan)
				return a.udp4Frame(&udp4{dstMAC: gw, srcMAC: macWeb, src: ipWeb, dst: ipServer, sport: sp, dport: dp}, size), nil
			},
			check: func(i int, out []byte) error {
				_, dp := spread(i, natSpan)
				// host1 routes once: TTL 63; source NATed into WinNAT's range.
				return checkUDP4(out, want{src: ipHost1, dst: ipServer, dport: dp, ttl: 63, srcMAC: macHost1, dstMAC: macServer,
					sportIn: [2]uint16{winnatLo, winnatHi}})
			},
		}},
	}, nil
}

// clientAddr returns the address and source port of client flow i of
// nat-inbound and lb: portSpan ports per address.
func clientAddr(base [4]byte, i int) ([4]byte, uint16) {
	return addOffset(base, i/portSpan), uint16(1024 + i%portSpan)
}

func natInbound(p Params, total int) (*setup, error) {
	topo, err := loadTopo("nat")
	if err != nil {
		return nil, err
	}
	// The client peer answers for maxClients addresses.
	base := addr4("10.0.0.64")
	for pi := range topo.Peers {
		if topo.Peers[pi].Name == "client" {
			for k := 1; k < maxClients; k++ {
				topo.Peers[pi].IPs = append(topo.Peers[pi].IPs, netip.AddrFrom4(addOffset(base, k)).String()+"/24")
			}
		}
	}
	gw, err := natGateway(topo)
	if err != nil {
		return nil, err
	}
	return &setup{
		topo: topo,
		routes: []route{
			{mac: macClient, in: "client", out: "host1/web"},
			{mac: macWeb, in: "host1/web", out: "client"},
		},
		maxFlows: maxClients * portSpan,
		counter:  natSessions("host1"),
		legs: []leg{{
			// The client's request to the published port.
			build: func(a *arena, i, size int) ([]byte, error) {
				c, sp := clientAddr(base, i)
				return a.udp4Frame(&udp4{dstMAC: macHost1, srcMAC: macClient, src: c, dst: ipHost1, sport: sp, dport: 8082}, size), nil
			},
			check: func(i int, out []byte) error {
				c, sp := clientAddr(base, i)
				return checkUDP4(out, want{src: c, sport: sp, dst: ipWeb, dport: 80, ttl: 63, srcMAC: gw, dstMAC: macWeb})
			},
		}, {
			// web's reply, back through the session the mapping made.
			build: func(a *arena, i, size int) ([]byte, error) {
				c, sp := clientAddr(base, i)
				return a.udp4Frame(&udp4{dstMAC: gw, srcMAC: macWeb, src: ipWeb, dst: c, sport: 80, dport: sp}, size), nil
			},
			check: func(i int, out []byte) error {
				c, sp := clientAddr(base, i)
				return checkUDP4(out, want{src: ipHost1, sport: 8082, dst: c, dport: sp, ttl: 63, srcMAC: macHost1, dstMAC: macClient})
			},
		}},
	}, nil
}

// podFlow returns a leg from src (MAC srcMAC) to dst, with flows spread over
// source and destination ports.
func podFlow(srcMAC, dstMAC macAddr, src, dst [4]byte, span int, check func(i int, out []byte) error) leg {
	return leg{
		build: func(a *arena, i, size int) ([]byte, error) {
			sp, dp := spread(i, span)
			return a.udp4Frame(&udp4{dstMAC: dstMAC, srcMAC: srcMAC, src: src, dst: dst, sport: sp, dport: dp}, size), nil
		},
		check: check,
	}
}

func l2bridge(p Params, total int) (*setup, error) {
	topo, err := loadTopo("l2bridge")
	if err != nil {
		return nil, err
	}
	return &setup{
		topo:     topo,
		routes:   []route{{mac: macPodA, in: "host1/pod-a", out: "host2/pod-c"}},
		maxFlows: portSpan * (65536 - 1024),
		counter:  vfpFlows("host1", vfp.Out, "pod-a"),
		legs: []leg{podFlow(macPodA, macHost1, ipPodA, ipPodC, portSpan, func(i int, out []byte) error {
			sp, dp := spread(i, portSpan)
			// Not NATed (10.244.0.0/16 is an OutBoundNAT exception); routed by
			// host1 and by the router: TTL 62; the destination MAC rewritten
			// to pod-c's on ingress.
			return checkUDP4(out, want{src: ipPodA, sport: sp, dst: ipPodC, dport: dp, ttl: 62, dstMAC: macPodC})
		})},
	}, nil
}

func l2bridgeOutboundNAT(p Params, total int) (*setup, error) {
	topo, err := loadTopo("l2bridge")
	if err != nil {
		return nil, err
	}
	return &setup{
		topo:     topo,
		routes:   []route{{mac: macPodA, in: "host1/pod-a", out: "server"}},
		maxFlows: natSpan * (65536 - 1024),
		counter:  vfpFlows("host1", vfp.Out, "pod-a"),
		legs: []leg{podFlow(macPodA, macHost1, ipPodA, ipServer, natSpan, func(i int, out []byte) error {
			_, dp := spread(i, natSpan)
			// SNAT to the host's address; the host's MAC on the wire.
			return checkUDP4(out, want{src: ipHost1, dst: ipServer, dport: dp, ttl: 63, srcMAC: macHost1, dstMAC: macServer})
		})},
	}, nil
}

func l2tunnel(p Params, total int) (*setup, error) {
	topo, err := loadTopo("l2tunnel")
	if err != nil {
		return nil, err
	}
	src, dst := addr4("10.0.0.20"), addr4("10.0.0.21")
	return &setup{
		topo:     topo,
		routes:   []route{{mac: macPodA, in: "host1/pod-a", out: "host1/pod-b"}},
		maxFlows: portSpan * (65536 - 1024),
		counter:  vfpFlows("host1", vfp.Out, "pod-a"),
		legs: []leg{podFlow(macPodA, macPodB, src, dst, portSpan, func(i int, out []byte) error {
			sp, dp := spread(i, portSpan)
			// Hairpinned by the physical gateway: routed once, TTL 63.
			return checkUDP4(out, want{src: src, sport: sp, dst: dst, dport: dp, ttl: 63, dstMAC: macPodB})
		})},
	}, nil
}

func transparent(p Params, total int) (*setup, error) {
	topo, err := loadTopo("transparent")
	if err != nil {
		return nil, err
	}
	src, dst := addr4("10.0.0.20"), addr4("10.0.0.99")
	return &setup{
		topo:     topo,
		routes:   []route{{mac: macPodA, in: "host1/web", out: "client"}},
		maxFlows: portSpan * (65536 - 1024),
		counter:  vfpFlows("host1", vfp.Out, "web"),
		legs: []leg{podFlow(macPodA, macClient, src, dst, portSpan, func(i int, out []byte) error {
			sp, dp := spread(i, portSpan)
			// No translation: the container's own MAC and address on the wire.
			return checkUDP4(out, want{src: src, sport: sp, dst: dst, dport: dp, ttl: 64, srcMAC: macPodA, dstMAC: macClient})
		})},
	}, nil
}

// encapTopology is the overlay topology with host2 replaced by a peer that
// owns host2's NIC MAC and address: it receives the VXLAN frames and does
// nothing with them.
func encapTopology() (fabric.Topology, error) {
	topo, err := loadTopo("overlay")
	if err != nil {
		return topo, err
	}
	topo.Hosts = topo.Hosts[:1]
	topo.Peers = append(topo.Peers, fabric.PeerSpec{Name: "host2", MAC: "00:15:5d:00:00:05", IP: "10.0.0.5/24", Gateway: "10.0.0.1"})
	return topo, nil
}

// overlayRequest is the leg pod-a -> pod-c of the overlay workloads.
func overlayRequest(check func(i int, out []byte) error) leg {
	l := podFlow(macOvA, macOvDR1, ipPodA, ipPodC, portSpan, check)
	l.maxSize = overlayMaxSize
	return l
}

// checkEncap checks the VXLAN frame host1 sends for flow i of the request.
func checkEncap(i int, out []byte) error {
	inner, err := vxlanInner(out, want{src: ipHost1, dst: ipHost2, dport: 4789, srcMAC: macHost1, dstMAC: macHost2}, overlayVNI)
	if err != nil {
		return err
	}
	sp, dp := spread(i, portSpan)
	// The inner frame: to host2's DR MAC, addresses unchanged (an exception
	// of pod-a's OutBoundNAT), TTL as sent.
	return checkUDP4(inner, want{src: ipPodA, sport: sp, dst: ipPodC, dport: dp, ttl: 64, dstMAC: macOvDR2})
}

// checkAtPodC checks the request of flow i as pod-c receives it.
func checkAtPodC(i int, out []byte) error {
	sp, dp := spread(i, portSpan)
	return checkUDP4(out, want{src: ipPodA, sport: sp, dst: ipPodC, dport: dp, ttl: 64, dstMAC: macOvC})
}

func overlayEncap(p Params, total int) (*setup, error) {
	topo, err := encapTopology()
	if err != nil {
		return nil, err
	}
	return &setup{
		topo:     topo,
		routes:   []route{{mac: macOvA, in: "host1/pod-a", out: "host2"}},
		maxFlows: portSpan * (65536 - 1024),
		counter:  vfpFlows("host1", vfp.Out, "pod-a"),
		legs:     []leg{overlayRequest(checkEncap)},
	}, nil
}

func overlayDecap(p Params, total int) (*setup, error) {
	topo, err := loadTopo("overlay")
	if err != nil {
		return nil, err
	}
	// The VXLAN frames are what host1 sends: run the requests through the
	// encap topology and keep what reaches the peer host2.
	et, err := encapTopology()
	if err != nil {
		return nil, err
	}
	enc, err := fabric.New(et, fabric.Options{})
	if err != nil {
		return nil, fmt.Errorf("encap topology: %w", err)
	}
	in, _ := enc.PortByName("host1/pod-a")
	sink, _ := enc.PortByName("host2")
	req := overlayRequest(nil)
	var res fabric.Outcome
	var tmp arena
	now := startNS
	return &setup{
		topo:     topo,
		routes:   []route{{mac: macHost1, in: "host2/eth0", out: "host2/pod-c"}},
		maxFlows: portSpan * (65536 - 1024),
		counter:  vfpFlows("host2", vfp.In, "pod-c"),
		legs: []leg{{
			maxSize: overlayMaxSize,
			build: func(a *arena, i, size int) ([]byte, error) {
				tmp.cur = tmp.cur[:0]
				inner, _ := req.build(&tmp, i, size)
				now++
				enc.Inject(in, inner, now, &res)
				r := portRoute{in: in, out: sink}
				out, err := delivered(enc, &res, r)
				if err != nil {
					return nil, fmt.Errorf("encapsulating at host1: %w", err)
				}
				b := a.alloc(len(out))
				copy(b, out)
				return b, nil
			},
			check: checkAtPodC,
		}},
	}, nil
}

func overlayRoundtrip(p Params, total int) (*setup, error) {
	topo, err := loadTopo("overlay")
	if err != nil {
		return nil, err
	}
	reply := podFlow(macOvC, macOvDR2, ipPodC, ipPodA, portSpan, nil)
	reply.maxSize = overlayMaxSize
	// The reply swaps the request's ports.
	reply.build = func(a *arena, i, size int) ([]byte, error) {
		sp, dp := spread(i, portSpan)
		return a.udp4Frame(&udp4{dstMAC: macOvDR2, srcMAC: macOvC, src: ipPodC, dst: ipPodA, sport: dp, dport: sp}, size), nil
	}
	reply.check = func(i int, out []byte) error {
		sp, dp := spread(i, portSpan)
		return checkUDP4(out, want{src: ipPodC, sport: dp, dst: ipPodA, dport: sp, ttl: 64, dstMAC: macOvA})
	}
	return &setup{
		topo: topo,
		routes: []route{
			{mac: macOvA, in: "host1/pod-a", out: "host2/pod-c"},
			{mac: macOvC, in: "host2/pod-c", out: "host1/pod-a"},
		},
		maxFlows: portSpan * (65536 - 1024),
		counter:  vfpFlows("host1", vfp.Out, "pod-a"),
		legs:     []leg{overlayRequest(checkAtPodC), reply},
	}, nil
}

// policy returns an endpoint policy with settings s.
func policy(t hns.EndpointPolicyType, s any) (hns.EndpointPolicy, error) {
	b, err := json.Marshal(s)
	if err != nil {
		return hns.EndpointPolicy{}, err
	}
	return hns.EndpointPolicy{Type: t, Settings: b}, nil
}

// aclTopology is host1 of the l2bridge topology with pod-a and pod-b, pod-b
// carrying n inbound ACL policies: n-1 that block other sources (each a
// remote address and a local port, the shape kube-proxy and Azure NPM rules
// have) and last, at the lowest precedence, one that allows pod-a's subnet.
// pod-b's port must walk past the blocks (or its rule index must rule them
// out) on every first packet.
func aclTopology(n int) (fabric.Topology, error) {
	topo, err := loadTopo("l2bridge")
	if err != nil {
		return topo, err
	}
	topo.Hosts = topo.Hosts[:1]
	topo.Peers, topo.Underlay = nil, fabric.UnderlaySpec{}
	h := &topo.Hosts[0].HNS
	h.Endpoints[0].Policies = nil
	podB := hns.HostComputeEndpoint{Name: "pod-b", HostComputeNetwork: "cbr0", MacAddress: "00-15-5D-01-01-03",
		IpConfigurations: []hns.IpConfig{{IpAddress: "10.244.1.3", PrefixLength: 24}}}
	for k := range n - 1 {
		proto := "17"
		if k%2 == 1 {
			proto = "6"
		}
		remote := addOffset(addr4("10.250.0.1"), k)
		pol, err := policy(hns.ACL, hns.AclPolicySetting{Id: "block-" + strconv.Itoa(k), Protocols: proto, Action: hns.ActionTypeBlock,
			Direction: hns.DirectionTypeIn, RemoteAddresses: netip.AddrFrom4(remote).String(), LocalPorts: strconv.Itoa(1024 + k%portSpan),
			RuleType: hns.RuleTypeSwitch, Priority: uint16(1000 + k)})
		if err != nil {
			return topo, err
		}
		podB.Policies = append(podB.Policies, pol)
	}
	pol, err := policy(hns.ACL, hns.AclPolicySetting{Id: "allow-pods", Protocols: "17", Action: hns.ActionTypeAllow,
		Direction: hns.DirectionTypeIn, RemoteAddresses: "10.244.1.0/24", RuleType: hns.RuleTypeSwitch, Priority: uint16(1000 + n)})
	if err != nil {
		return topo, err
	}
	podB.Policies = append(podB.Policies, pol)
	h.Endpoints = append(h.Endpoints, podB)
	return topo, nil
}

func acl(p Params, total int) (*setup, error) {
	topo, err := aclTopology(p.N)
	if err != nil {
		return nil, err
	}
	dst := addr4("10.244.1.3")
	return &setup{
		topo:     topo,
		routes:   []route{{mac: macPodA, in: "host1/pod-a", out: "host1/pod-b"}},
		maxFlows: portSpan * (65536 - 1024),
		counter:  vfpFlows("host1", vfp.In, "pod-b"),
		legs: []leg{podFlow(macPodA, macPodB, ipPodA, dst, portSpan, func(i int, out []byte) error {
			sp, dp := spread(i, portSpan)
			// Bridged on the same host: unchanged.
			return checkUDP4(out, want{src: ipPodA, sport: sp, dst: dst, dport: dp, ttl: 64, srcMAC: macPodA, dstMAC: macPodB})
		})},
	}, nil
}

// lbBackend returns the address of backend k: 10.244.16.1 onwards, 250 per
// /24, inside node2's 10.244.16.0/20.
func lbBackend(k int) [4]byte {
	return [4]byte{10, 244, byte(16 + k/250), byte(1 + k%250)}
}

// lbClient returns the MAC and address of client pod j of the lb workload.
func lbClient(j int) (macAddr, [4]byte) {
	return macAddr{0x00, 0x15, 0x5d, 0x01, 0x10, byte(j)}, [4]byte{10, 244, 1, byte(10 + j)}
}

// lbTopology is host1 of the l2bridge topology with client pods, n remote
// endpoints (on node2, which kube-proxy creates for pods of other nodes) and a
// ClusterIP load balancer over them; node2 is a peer that owns the backends'
// subnet and sinks what reaches it.
func lbTopology(n, clients int) (fabric.Topology, error) {
	topo, err := loadTopo("l2bridge")
	if err != nil {
		return topo, err
	}
	topo.Hosts = topo.Hosts[:1]
	topo.Peers = []fabric.PeerSpec{{Name: "node2", MAC: "02:00:00:00:02:00", IP: "10.0.0.5/24", Gateway: "10.0.0.1",
		Prefixes: []string{"10.244.16.0/20"}}}
	h := &topo.Hosts[0].HNS
	h.Endpoints = nil
	for j := range clients {
		mac, ip := lbClient(j)
		h.Endpoints = append(h.Endpoints, hns.HostComputeEndpoint{Name: "client-" + strconv.Itoa(j), HostComputeNetwork: "cbr0",
			MacAddress:       fmt.Sprintf("%02X-%02X-%02X-%02X-%02X-%02X", mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]),
			IpConfigurations: []hns.IpConfig{{IpAddress: netip.AddrFrom4(ip).String(), PrefixLength: 24}}})
	}
	var ids []string
	for k := range n {
		name := "backend-" + strconv.Itoa(k)
		ids = append(ids, name)
		h.Endpoints = append(h.Endpoints, hns.HostComputeEndpoint{Name: name, HostComputeNetwork: "cbr0", Flags: hns.EndpointFlagsRemoteEndpoint,
			MacAddress:       "02-00-00-00-02-00",
			IpConfigurations: []hns.IpConfig{{IpAddress: netip.AddrFrom4(lbBackend(k)).String(), PrefixLength: 20}}})
	}
	h.LoadBalancers = []hns.HostComputeLoadBalancer{{Name: "svc-dns", HostComputeEndpoints: ids, FrontendVIPs: []string{"10.96.0.10"},
		PortMappings: []hns.LoadBalancerPortMapping{{Protocol: 17, InternalPort: 5353, ExternalPort: 53}}}}
	return topo, nil
}

func lb(p Params, total int) (*setup, error) {
	clients := min(maxClients, (total+portSpan-1)/portSpan)
	topo, err := lbTopology(p.N, clients)
	if err != nil {
		return nil, err
	}
	vip := addr4("10.96.0.10")
	s := &setup{
		topo:     topo,
		maxFlows: clients * portSpan,
	}
	var names []string
	for j := range clients {
		mac, _ := lbClient(j)
		name := "client-" + strconv.Itoa(j)
		names = append(names, name)
		s.routes = append(s.routes, route{mac: mac, in: "host1/" + name, out: "node2"})
	}
	s.counter = vfpFlows("host1", vfp.Out, names...)
	lo, hi := lbBackend(0), lbBackend(p.N-1)
	s.legs = []leg{{
		build: func(a *arena, i, size int) ([]byte, error) {
			mac, ip := lbClient(i / portSpan)
			return a.udp4Frame(&udp4{dstMAC: macHost1, srcMAC: mac, src: ip, dst: vip, sport: uint16(1024 + i%portSpan), dport: 53}, size), nil
		},
		check: func(i int, out []byte) error {
			_, ip := lbClient(i / portSpan)
			if err := checkUDP4(out, want{src: ip, sport: uint16(1024 + i%portSpan), dport: 5353, dstMAC: macNode2}); err != nil {
				return err
			}
			// The destination is one of the backends.
			d := netip.AddrFrom4([4]byte(out[30:34]))
			if d.Less(netip.AddrFrom4(lo)) || netip.AddrFrom4(hi).Less(d) {
				return fmt.Errorf("delivered to %v, want a backend in %v-%v", d, netip.AddrFrom4(lo), netip.AddrFrom4(hi))
			}
			return nil
		},
	}}
	return s, nil
}
