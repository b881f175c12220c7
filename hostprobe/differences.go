package hostprobe

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/hnspath/hnspath/result"
	"github.com/hnspath/hnspath/spec"
)

// KnownDifference is a documented way in which Windows (the emulator's model of it) and
// the Linux kernel handle a packet differently. A difference a Comparer finds is
// labelled with the first entry whose Match accepts it.
type KnownDifference struct {
	// ID is a short stable name, used in reports.
	ID string
	// Windows and Linux say what each does.
	Windows, Linux string
	// Source cites where the Windows behaviour is documented (docs/design.md, docs/windows-behaviour.md) and
	// where the Linux behaviour comes from.
	Source string
	// Match reports whether a difference d between result a (Windows side) and b (Linux
	// side) is this one; nil for differences the Comparer normalises away or that
	// cannot be recognised from results alone.
	Match func(a, b *result.Packet, d *Difference) bool
	// Normalised says the Comparer removes this difference before comparing (it is
	// listed so that the report can say so).
	Normalised bool
	// Finding marks an entry that is not a Windows/Linux difference but a known place
	// where the emulator disagrees with documented Windows behaviour: Windows says what
	// it should do, Source why; the comparison's verdict says "emulator finding".
	Finding bool
	// WindowsDrops says the documented Windows behaviour is a drop: the entry never
	// explains the emulator delivering something the other side did not (the Comparer
	// takes the label off such a difference).
	WindowsDrops bool
}

// Differences is the table of documented Windows/Linux differences.
var Differences = []KnownDifference{
	{
		ID:      "host-hairpin",
		Windows: "the NAT host cannot reach a container through its own external IP:port or localhost (no loopback): winnat-no-host-loopback",
		Linux:   "a DNAT rule in the nat output chain (Docker's userland-proxy=false) delivers the host's own connection to the container",
		Source:  "docs/design.md §3 nat; docs/windows-behaviour.md §2.2 item 4; Linux: nft nat output hook (hostprobe/linux DNAT.Local)",
		Match: func(a, b *result.Packet, d *Difference) bool {
			return strings.HasSuffix(a.In, "/host") && hasDrop(a, "winnat-no-host-loopback")
		},
		WindowsDrops: true,
	},
	{
		ID: "host-ipv6",
		Windows: "the management OS has IPv6 on every interface by default (link-local) and takes IPv6 multicast " +
			"(MLD, neighbor and router solicitations) even where it has no IPv6 address configured",
		Linux:  "the analogue turns IPv6 off (disable_ipv6) in hosts without IPv6 addresses, so nothing takes it",
		Source: "docs/fidelity.md §2 (the host's own IPv6); hostprobe/linux layout (disable_ipv6)",
		Match: func(a, b *result.Packet, d *Difference) bool {
			if !isIPv6(a.Frame) {
				return false
			}
			return d.What == "outcome" && deliveredOnlyToHosts(a) ||
				d.What == "missing" && d.Kind == result.KindDelivered && strings.HasSuffix(d.Port, "/host")
		},
	},
	{
		ID:      "ipv6-nat",
		Windows: "WinNAT and nat networks have no IPv6 (overlay neither): IPv6 is dropped",
		Linux:   "IPv6 forwarding and NAT66 exist, but the Linux analogue runs hosts without IPv6 addresses with IPv6 off, so nothing comes out",
		Source:  "docs/design.md §3 nat (\"No IPv6\"), overlay (\"no IPv6 on overlay\"); hostprobe/linux layout (disable_ipv6, enableIPv6)",
		Match: func(a, b *result.Packet, d *Difference) bool {
			return hasDrop(a, "winnat-ipv6-unsupported") || hasDrop(a, "hns-ipv6-unsupported") || isIPv6(a.Frame)
		},
		WindowsDrops: true,
	},
	{
		ID:      "vfp-icmp-snat",
		Windows: "VFP's NAT has no ICMP transposition: pings and ICMP errors through OutBoundNAT or a remote path are dropped",
		Linux:   "masquerade translates ICMP queries (by id) and ICMP errors (by the quoted packet)",
		Source:  "docs/windows-tools.md §5 (kubernetes/website windows-networking.md \"Limitations\"); Linux nf_nat_icmp",
		Match: func(a, b *result.Packet, d *Difference) bool {
			return hasDrop(a, "vfp-no-icmp-transposition") || hasDrop(a, "icmp-not-transposed")
		},
		WindowsDrops: true,
	},
	{
		ID: "host-icmp-error",
		Windows: "ICMP errors the host originates have TTL 128 (Tcpip DefaultTTL) and TOS 0, and quote the IP header " +
			"and 8 bytes of the packet (RFC 792)",
		Linux: "ICMP errors have TTL 64 (net.ipv4.ip_default_ttl), TOS 0xc0 (IPTOS_PREC_INTERNETCONTROL) and quote " +
			"as much of the packet as fits in 576 bytes (RFC 1812 section 4.3.2.3)",
		Source: "emulator/host DefaultTTL and icmp.go; Linux net/ipv4/icmp.c (icmp_send)",
		// Only what TTL, TOS and the quote's length change: the outer TTL, TOS, length
		// and checksums, and the quote's tail. Addresses, ports and ids, inside the quote
		// or out, must agree (RFC 5508 §4: the error is about the originator's packet).
		Match: func(a, b *result.Packet, d *Difference) bool {
			if !outputIsICMPError(a, d) {
				return false
			}
			switch d.What {
			case "field":
				return icmpErrorField(d.Field) || quoteLengthField(d)
			case "layers":
				return quoteTailOnly(d.A, d.B)
			}
			return false
		},
	},
	{
		ID: "nat-icmp-error-source",
		Windows: "the host sends an ICMP error from its address on the interface toward the originator (RFC 1812 " +
			"§4.3.2.4), also about a packet WinNAT translated [what Windows does here is not documented]",
		Linux: "conntrack translates an ICMP error related to a NATed connection as it translates the connection, outer " +
			"header included (nf_nat_icmp_reply_translation): the error seems to come from the address the originator sent to",
		Source: "docs/fidelity.md §3; RFC 1812 §4.3.2.4; Linux net/netfilter/nf_nat_proto.c nf_nat_icmp_reply_translation",
		Match: func(a, b *result.Packet, d *Difference) bool {
			return d.What == "field" && d.Field == "ipv4.src" && outputIsICMPError(a, d) && d.B == quotedDst(a, d)
		},
	},
	{
		ID: "vfp-switched-nat",
		Windows: "VFP translates at the container's vSwitch port (OutBoundNAT replies, load balancing to a local backend), " +
			"so the packet is switched: its TTL and source MAC stay as they were",
		Linux: "the Linux analogue translates in the host's IP stack (conntrack), which routes the packet: TTL - 1 and " +
			"the host's MAC as source",
		Source: "docs/design.md §3 VFP (NAT/LB actions in the port's layers); docs/windows-behaviour.md §1.1; Linux nf_nat in prerouting",
		// Labelled by the Comparer (a TTL one lower on the Linux side, with the source MAC).
	},
	{
		ID: "l2bridge-lb-mac",
		Windows: "a load balanced packet VFP switches to a backend on the same host (and the reply switched back) carries " +
			"the gateway's MAC, the host's, as source: the client sent it to the gateway, and the LB transposition is reversed " +
			"as a whole (MAC included) for the reply",
		Linux: "br_netfilter NATs a frame the bridge forwards and bridges it on when the new destination is behind the same " +
			"bridge (bridged DNAT): the destination MAC becomes the backend's, the source MAC stays the sender's",
		Source: "docs/design.md §3 l2bridge (VFP rewrites the source MAC to the host's), VFP (one header transposition, cached " +
			"per flow pair); emulator/vfp LBNAT; Linux net/bridge/br_netfilter_hooks.c br_nf_pre_routing_finish (\"bridged dnat\")",
		Match: func(a, b *result.Packet, d *Difference) bool {
			return d.What == "field" && d.Field == "ether.src" && d.Kind == result.KindDelivered &&
				(passedLayer(a, "LB") || vfpTranslated(a)) && d.B == srcMAC(a.Frame)
		},
	},
	{
		ID: "lb-update-established",
		Windows: "after a load balancer update (HcnModifyLoadBalancer) the ports' generation goes up and VFP re-evaluates " +
			"cached flows on their next packet: an established connection moves to a current backend",
		Linux: "conntrack fixes a connection's NAT binding on its first packet and keeps it after the rules change: the " +
			"established connection stays with its old (here removed) backend until the entry expires or is deleted " +
			"(kube-proxy deletes conntrack entries of removed backends for UDP only)",
		Source: "docs/design.md §3 VFP (UFT entries carry the port's generation; a policy change re-evaluates flows lazily); " +
			"docs/windows-behaviour.md §1.1; Linux net/netfilter/nf_nat_core.c (nf_nat_setup_info once per connection); " +
			"kubernetes pkg/proxy/conntrack (cleanup of stale UDP entries)",
		Match: func(a, b *result.Packet, d *Difference) bool {
			return reevaluatedLB(a)
		},
	},
	{
		ID: "host-vnic-mac",
		Windows: "the management OS has its own vNIC on the vSwitch, with the host's MAC: its packets to containers come " +
			"from that MAC, and containers' packets to it arrive for that MAC",
		Linux: "the analogue's host stack sends and receives on the bridge that is the containers' gateway, with the " +
			"gateway's MAC (the distributed router MAC on overlay)",
		Source: "emulator/hns program_vfp.go (the management OS's route to the containers goes through its vNIC; " +
			"windows-behaviour.md §3.5 HostRoute); hostprobe/linux layout_linux.go (overlay: the bridge has the DR MAC)",
		Match: func(a, b *result.Packet, d *Difference) bool {
			return d.What == "field" && (d.Field == "ether.src" && strings.HasSuffix(a.In, "/host") ||
				d.Field == "ether.dst" && strings.HasSuffix(d.Port, "/host"))
		},
	},
	{
		ID:      "nic-mtu-capture",
		Windows: "a frame longer than the NIC's MTU reaches the NIC, where pktmon sees it and drops it (reason 23, MTU mismatch)",
		Linux: "the link drops a frame longer than the MTU before any packet tap sees it (veth: is_skb_forwardable in " +
			"veth_xmit; a physical NIC discards it as oversize): there is no wire-rx, only the link's drop counter",
		Source: "docs/windows-behaviour.md §5.1 (pktmon drop reason 23), §4 item 2; Linux drivers/net/veth.c, " +
			"net/core/dev.c (is_skb_forwardable)",
		Match: func(a, b *result.Packet, d *Difference) bool {
			return d.What == "missing" && d.Kind == result.KindWireRx && hasDropAt(a, "mtu-mismatch", d.Port) &&
				hasDropAt(b, "linux-link-drop", d.Port)
		},
		WindowsDrops: true,
	},
	{
		ID: "veth-vlan-slack",
		Windows: "a frame whose IP packet is longer than the NIC's or vNIC's MTU is dropped (pktmon reason 23, MTU " +
			"mismatch), even by 1 to 4 bytes",
		Linux: "a veth forwards frames up to MTU + 4 bytes (room for an 802.1Q tag: is_skb_forwardable allows " +
			"mtu + hard_header_len + VLAN_HLEN), so IP packets of MTU+1 to MTU+4 bytes pass",
		Source: "docs/windows-behaviour.md §5.1 (pktmon drop reason 23); Linux net/core/dev.c is_skb_forwardable, " +
			"drivers/net/veth.c veth_xmit",
		Match: func(a, b *result.Packet, d *Difference) bool {
			return withinVLANSlack(a)
		},
		WindowsDrops: true,
	},
	{
		ID: "nat-fragments",
		Windows: "the host forwards each fragment as it arrives (fragment grouping is off by default: WFP forwarding layer); " +
			"WinNAT translates the first fragment by its ports and the later ones by datagram (the model's reading of RFC " +
			"4787 REQ-14), so fragments leave one by one as they came",
		Linux: "conntrack reassembles a fragmented datagram before NAT (nf_defrag_ipv4) and fragments it again on output: " +
			"nothing leaves until the last fragment is in, then all of them, cut at the outgoing MTU",
		Source: "docs/fidelity.md §4 (learn.microsoft.com WFP layer requirements and restrictions, forwarding " +
			"layer); Linux net/ipv4/netfilter/nf_defrag_ipv4.c, net/ipv4/ip_output.c ip_do_fragment",
		Match: func(a, b *result.Packet, d *Difference) bool {
			if isFragment(a.Frame) {
				return true
			}
			// A first fragment's transport checksum covers the whole datagram: it
			// follows the NAT's port choice and cannot be checked on the fragment.
			return d.What == "field" && (d.Field == "udp.chksum" || d.Field == "tcp.chksum") && outputIsFragment(a, d)
		},
	},
	{
		ID: "overlay-host-bridge",
		Windows: "an overlay pod's broadcast and multicast stay in its virtual subnet: the management OS, on the underlay, " +
			"does not get them",
		Linux: "the analogue's host stack is the pods' bridge (their gateway, with the distributed router MAC), so it " +
			"receives what the pods broadcast",
		Source: "docs/fidelity.md §1 (VD network drivers: each overlay has its own subnet, VXLAN isolates); " +
			"hostprobe/linux layout_linux.go (overlay: the host's bridge)",
		Match: func(a, b *result.Packet, d *Difference) bool {
			if len(a.Frame) < 14 || a.Frame[0]&1 == 0 {
				return false // not a broadcast or multicast
			}
			return d.What == "extra" && d.Kind == result.KindDelivered && strings.HasSuffix(d.Port, "/host") ||
				d.What == "outcome" && a.Outcome != result.OutcomeDelivered && deliveredOnlyToHosts(b)
		},
	},
	{
		ID: "router-icmp-analogue",
		Windows: "the underlay router (emulated) sends ICMP time exceeded and net unreachable for what it drops (RFC " +
			"1812 §5.3.1, §5.2.7.1)",
		Linux: "the analogue's router namespace drops its own output (hostprobe/linux: the router's output hook policy " +
			"is drop), so it sends no ICMP errors; a Linux router would",
		Source: "docs/fidelity.md §4 ICMP from routers; hostprobe/linux layout_linux.go (planner.router)",
		Match: func(a, b *result.Packet, d *Difference) bool {
			return routerSentICMP(a) && (d.What == "outcome" || d.What == "missing")
		},
	},
	{
		ID: "arp-timeout",
		Windows: "the model has no ARP timer: a forwarded packet whose next hop is not in the neighbour cache is dropped " +
			"at once, with host unreachable to its source (RFC 1812 §5.2.7.1)",
		Linux: "the kernel queues the packet while it resolves the next hop and sends host unreachable only when ARP " +
			"gives up (about 3 s: mcast_solicit x retrans_time), after the probe stopped waiting",
		Source: "RFC 1812 §5.2.7.1; Linux net/core/neighbour.c (neigh_invalidate, the unreachable report), " +
			"Documentation/networking/ip-sysctl.rst (mcast_solicit, retrans_time_ms)",
		Match: func(a, b *result.Packet, d *Difference) bool {
			return hasDrop(a, "neighbor-unresolved") && (d.What == "outcome" || d.What == "missing")
		},
	},
	{
		ID: "l2bridge-lb-remote-ttl",
		Windows: "a packet VFP load balances to a backend on another node keeps the gateway's MAC as destination and is " +
			"routed by the host to that node, as any packet to a remote pod subnet (l2bridge-cross-host): TTL - 1",
		Linux: "br_netfilter NATs the frame in the bridge and, as the new route leaves by the same bridge (the NIC is a " +
			"bridge port), bridges it to the next hop's MAC without ip_forward (bridged DNAT): the TTL is not decremented",
		Source: "docs/design.md §3 l2bridge (L3/L4 unchanged, remote pod subnets routed via the host); docs/windows-behaviour.md " +
			"§3.3 (a remote endpoint's MAC is not sent on the wire); Linux net/bridge/br_netfilter_hooks.c " +
			"br_nf_pre_routing_finish (\"bridged dnat\")",
		Match: func(a, b *result.Packet, d *Difference) bool {
			if d.What != "field" || d.Field != "ipv4.ttl" || !passedLayer(a, "LB") {
				return false
			}
			ta, errA := strconv.Atoi(d.A)
			tb, errB := strconv.Atoi(d.B)
			return errA == nil && errB == nil && tb == ta+1
		},
	},
	{
		ID:      "winnat-filtering",
		Windows: "WinNAT filters inbound by remote address only (address-dependent filtering): another port of a contacted address gets in",
		Linux:   "conntrack lets in only replies from the connection's remote address and port (address and port dependent)",
		Source:  "docs/design.md §3 nat (Get-NetNat defaults); RFC 4787 section 5; Linux nf_conntrack tuples",
		Match: func(a, b *result.Packet, d *Difference) bool {
			for _, st := range a.Trace {
				if st.Component == "winnat" && strings.Contains(st.Detail, "address-dependent filtering") {
					return true
				}
			}
			return false
		},
	},
	{
		ID:      "nat-port-range",
		Windows: "WinNAT (PortRange) and VFP SNAT (a port pool per endpoint) run out of external ports: ports exhausted",
		Linux:   "masquerade reuses a port for other destinations (it only needs unique 5-tuples) and the analogue sets no range",
		Source:  "emulator/winnat, emulator/hns (pools); Linux nf_nat_core get_unique_tuple",
		Match: func(a, b *result.Packet, d *Difference) bool {
			return hasDrop(a, "winnat-ports-exhausted") || hasDrop(a, "vfp-snat-ports-exhausted")
		},
		WindowsDrops: true,
	},
	{
		ID: "nat-timeouts",
		Windows: "WinNAT session timeouts (Get-NetNat): ICMP query 30 s, TCP established 1800 s, TCP transient 120 s, " +
			"UDP idle 120 s",
		Linux: "conntrack timeouts: ICMP 30 s, TCP established 432000 s (5 days), SYN_SENT 120 s, UDP 30 s until a reply " +
			"(120 s once assured); virtual time between packets ages conntrack (Namespace.AgeConntrack)",
		Source: "docs/design.md §3 nat (observed Get-NetNat defaults); Linux Documentation/networking/nf_conntrack-sysctl.rst",
		// Labelled by the Comparer (a NAT session after a pause in virtual time).
	},
	{
		ID:      "transparent-host",
		Windows: "the management OS reaches containers of a transparent network on its vNIC on the external switch",
		Linux:   "a macvlan parent and its children cannot talk to each other (macvlan bridge mode bridges only between children)",
		Source:  "docs/design.md §3 transparent; Linux drivers/net/macvlan.c",
	},
	{
		ID:      "l2bridge-ipvlan-mac",
		Windows: "VFP rewrites the destination MAC to the container's on ingress",
		Linux:   "ipvlan L2 delivers with the host's MAC as destination (no rewrite); only with --l2bridge ipvlan",
		Source:  "docs/design.md §3 l2bridge, §4; Linux drivers/net/ipvlan",
	},
	{
		ID:      "nat-port-choice",
		Windows: "WinNAT and VFP SNAT take source ports from the dynamic range (49152-65535)",
		Linux:   "masquerade keeps the source port unless it clashes",
		Source:  "emulator/winnat, emulator/hns (ephemeral range); Linux nf_nat_core (get_unique_tuple)",
		// Outputs are compared through bindings; what is left are inputs sent to a port
		// only one side chose (labelled by the Comparer).
		Normalised: true,
	},
	{
		ID:      "lb-backend-choice",
		Windows: "VFP picks a load balancer's backend by a hash of the connection (or of the client's address: DistributionType)",
		Linux:   "the analogue picks it with nftables numgen random (per connection) or jhash of the client's address",
		Source:  "emulator/vfp lbHash; hostprobe/linux lb_linux.go; nft(8) numgen, jhash",
		// Backends are bound like NAT ports (Comparer.LBGroups): the first choice of each
		// side binds them, later packets must agree.
		Normalised: true,
	},
	{
		ID:         "ip-id-and-entropy",
		Windows:    "VFP numbers the outer IPv4 identification of VXLAN packets and hashes the outer UDP source port",
		Linux:      "the kernel picks its own identification and source port hash",
		Source:     "RFC 7348 section 5 (source port from a hash of the inner headers); RFC 6864 (identification)",
		Normalised: true,
	},
	{
		ID:         "ethernet-padding",
		Windows:    "the emulator keeps a frame's Ethernet padding when it forwards it",
		Linux:      "the kernel trims padding when it forwards at L3 and adds none on veth",
		Source:     "RFC 894; Linux pskb_trim_rcsum in ip_rcv",
		Normalised: true,
	},
}

// Explain returns the ID of the documented difference that explains d, or "".
func Explain(a, b *result.Packet, d *Difference) string {
	for i := range Differences {
		k := &Differences[i]
		if k.Match != nil && k.Match(a, b, d) {
			return k.ID
		}
	}
	return ""
}

// DifferenceByID returns the table entry with the given ID.
func DifferenceByID(id string) (KnownDifference, bool) {
	for _, k := range Differences {
		if k.ID == id {
			return k, true
		}
	}
	return KnownDifference{}, false
}

func hasDrop(p *result.Packet, reason string) bool {
	for _, d := range p.Drops {
		if d.Reason == reason {
			return true
		}
	}
	return false
}

// hasDropAt reports whether p has a drop with reason at port.
func hasDropAt(p *result.Packet, reason, port string) bool {
	for _, d := range p.Drops {
		if d.Reason == reason && d.Port == port {
			return true
		}
	}
	return false
}

// passedLayer reports whether p's trace passed the VFP layer.
func passedLayer(p *result.Packet, layer string) bool {
	for _, st := range p.Trace {
		if st.Component == "vfp" && st.VFPLayer == layer {
			return true
		}
	}
	return false
}

// vfpTranslated reports whether a VFP stage of p's trace (a rule or a cached unified
// flow) changed the packet's IP addresses.
func vfpTranslated(p *result.Packet) bool {
	for _, st := range p.Trace {
		if st.Component == "vfp" && st.Before != nil && st.After != nil && st.Before.Src != "" &&
			(st.Before.Src != st.After.Src || st.Before.Dst != st.After.Dst) {
			return true
		}
	}
	return false
}

// srcMAC returns the source MAC of an Ethernet frame as spec.Decode prints it.
func srcMAC(frame []byte) string {
	if len(frame) < 14 {
		return ""
	}
	return net.HardwareAddr(frame[6:12]).String()
}

// reevaluatedLB reports whether VFP re-evaluated the LB layer of a connection it had
// cached (after a load balancer update bumped the port's generation): at one port, other
// layers hit their cached flows ("flow") and the LB layer ran its rule ("lbnat").
func reevaluatedLB(p *result.Packet) bool {
	flows := map[string]bool{}
	for _, st := range p.Trace {
		if st.Component != "vfp" {
			continue
		}
		switch st.Action {
		case "flow":
			flows[st.Port] = true
		case "lbnat":
			if flows[st.Port] {
				return true
			}
		}
	}
	return false
}

func isIPv6(frame []byte) bool {
	return len(frame) >= 14 && frame[12] == 0x86 && frame[13] == 0xdd
}

// outputIsICMPError reports whether a's output that d is about is an ICMP error.
func outputIsICMPError(a *result.Packet, d *Difference) bool {
	for _, o := range a.Outputs {
		if o.Port != d.Port || o.Kind != d.Kind {
			continue
		}
		s := spec.Decode(o.Frame, spec.DecodeOptions{})
		for _, l := range s.Layers {
			if l.Name != "icmp" {
				continue
			}
			if v, ok := l.Get("type"); ok && (v.Num == 3 || v.Num == 11 || v.Num == 12) {
				return true
			}
		}
	}
	return false
}

// icmpErrorField reports whether a field of an ICMP error output differs only because
// of the TTL, TOS or quote length the two stacks use (host-icmp-error).
func icmpErrorField(f string) bool {
	switch f {
	case "ipv4.ttl", "ipv4.tos", "ipv4.dscp", "ipv4.ecn", "ipv4.len", "ipv4.chksum", "icmp.chksum":
		return true
	}
	// The quote's tail: what is past the quoted header and 8 bytes of data.
	return strings.HasPrefix(f, "raw")
}

// quoteLengthField reports whether d is a length or checksum inside a quote that one
// side shows as computed (a whole packet) and the other as a number (a truncated quote
// cannot be checked): a consequence of the quote's length.
func quoteLengthField(d *Difference) bool {
	if !strings.HasSuffix(d.Field, ".len") && !strings.HasSuffix(d.Field, ".chksum") {
		return false
	}
	if d.Field == "ipv4.len" || d.Field == "ipv4.chksum" || d.Field == "icmp.chksum" {
		return false // the outer ones: icmpErrorField
	}
	derived := func(v string) bool { return v == "(computed)" || v == "valid" }
	return derived(d.A) != derived(d.B)
}

// quotedDst returns the destination of the packet quoted in a's ICMP error output that
// d is about.
func quotedDst(a *result.Packet, d *Difference) string {
	for _, o := range a.Outputs {
		if o.Port != d.Port || o.Kind != d.Kind {
			continue
		}
		n := 0
		for _, l := range spec.Decode(o.Frame, spec.DecodeOptions{}).Layers {
			if l.Name != "ipv4" {
				continue
			}
			if n++; n == 2 {
				if v, ok := l.Get("dst"); ok {
					return v.Addr.String()
				}
			}
		}
	}
	return ""
}

// deliveredOnlyToHosts reports whether every output of a delivered to a management OS.
func deliveredOnlyToHosts(a *result.Packet) bool {
	n := 0
	for _, o := range a.Outputs {
		if o.Kind != result.KindDelivered {
			continue
		}
		if !strings.HasSuffix(o.Port, "/host") {
			return false
		}
		n++
	}
	return n > 0
}

// quoteTailOnly reports whether two layer stacks ("ether/ipv4/icmp/ipv4/udp/raw") of
// an ICMP error differ only after the quoted IP header: one stack decodes a longer
// quote (a whole transport header, a payload) than the other.
func quoteTailOnly(x, y string) bool {
	lx, ly := strings.Split(x, "/"), strings.Split(y, "/")
	n := 0
	for n < len(lx) && n < len(ly) && lx[n] == ly[n] {
		n++
	}
	// Both must have the error's headers and the quoted IP header in common.
	q := -1
	for i, l := range lx[:n] {
		if l == "icmp" && i+1 < n && (lx[i+1] == "ipv4" || lx[i+1] == "ipv6") {
			q = i + 1
		}
	}
	if q < 0 {
		return false
	}
	for _, rest := range [][]string{lx[n:], ly[n:]} {
		for _, l := range rest {
			if l != "raw" && l != "tcp" && l != "udp" && l != "icmp" {
				return false
			}
		}
	}
	return true
}

// withinVLANSlack reports whether a dropped, with mtu-mismatch, a frame whose IP packet
// is at most 4 bytes over the MTU the drop names (the trace's "length L > MTU M").
func withinVLANSlack(a *result.Packet) bool {
	for _, st := range a.Trace {
		i := strings.Index(st.Detail, "length ")
		if st.Reason != "mtu-mismatch" || i < 0 {
			continue
		}
		var l, mtu int
		if _, err := fmt.Sscanf(st.Detail[i:], "length %d > MTU %d", &l, &mtu); err == nil && l > mtu && l <= mtu+4 {
			return true
		}
	}
	return false
}

// isFragment reports whether frame is an IPv4 fragment (MF set or a non-zero offset).
func isFragment(frame []byte) bool {
	return len(frame) >= 34 && frame[12] == 0x08 && frame[13] == 0 && (uint16(frame[20])<<8|uint16(frame[21]))&0x3fff != 0
}

// outputIsFragment reports whether a's output that d is about is an IPv4 fragment.
func outputIsFragment(a *result.Packet, d *Difference) bool {
	for _, o := range a.Outputs {
		if o.Port == d.Port && o.Kind == d.Kind && isFragment(o.Frame) {
			return true
		}
	}
	return false
}

// routerSentICMP reports whether the underlay router sent an ICMP error about a.
func routerSentICMP(a *result.Packet) bool {
	for _, st := range a.Trace {
		if st.Component == "router" && st.Action == "icmp-error" {
			return true
		}
	}
	return false
}
