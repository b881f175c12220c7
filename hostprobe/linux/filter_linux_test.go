package linux

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// TestFilterDrop checks nftables filter rules by what the kernel does behind them: a UDP
// datagram to a closed port draws a port unreachable unless a rule dropped it first.
// Rules are ordered by priority, and the first match decides.
func TestFilterDrop(t *testing.T) {
	l := newTestLab(t)
	a, b := newNS(t, l, "a"), newNS(t, l, "b")
	must(t, a.AddVeth("eth0", b, "eth0"))
	must(t, a.AddAddr("eth0", pfx("10.0.0.1/24")))
	must(t, b.AddAddr("eth0", pfx("10.0.0.2/24")))
	must(t, a.SetUp("eth0"))
	must(t, b.SetUp("eth0"))
	must(t, l.WaitReady(5*time.Second))
	macA, macB := mac(t, a, "eth0"), mac(t, b, "eth0")
	// Static entries on both sides: no ARP, so the only answer is the ICMP error.
	must(t, a.AddNeighbor("eth0", addr("10.0.0.2"), macB))
	must(t, b.AddNeighbor("eth0", addr("10.0.0.1"), macA))
	must(t, b.AddNeighbor("eth0", addr("10.0.0.7"), macA))
	// 10.0.0.7 is a second source; b routes its answers to a as well.
	must(t, a.AddAddr("eth0", pfx("10.0.0.7/24")))

	must(t, b.AddFilter(FilterRule{Name: "drop-5000-5010", Hook: HookInput, Priority: 200, Iface: "eth0", Dir: In,
		Proto: ProtoUDP, Src: []netip.Prefix{pfx("10.0.0.0/24")}, DstPorts: []PortRange{{5000, 5010}}, Action: Drop}))
	must(t, b.AddFilter(FilterRule{Name: "allow-5005-from-1", Hook: HookInput, Priority: 100,
		Proto: ProtoUDP, Src: []netip.Prefix{pfx("10.0.0.1/32")}, DstPorts: []PortRange{Port(5005)}, Action: Accept}))

	c, err := l.NewCapturer(CapturePoint{b, "eth0"})
	must(t, err)
	inj, err := a.NewInjector("eth0")
	must(t, err)
	send := func(t *testing.T, src string, dport uint16) (answered bool) {
		t.Helper()
		eth, ip := ethIPv4(macA, macB, src, "10.0.0.2", layers.IPProtocolUDP)
		must(t, inj.Inject(serialize(t, eth, ip, &layers.UDP{SrcPort: 33000, DstPort: layers.UDPPort(dport)}, gopacket.Payload("acl"))))
		for _, f := range drain(t, c).On("b/eth0") {
			if f.Dir != Out {
				continue
			}
			p := decode(f.Data)
			if ic, ok := p.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4); ok && ic.TypeCode.Type() == layers.ICMPv4TypeDestinationUnreachable {
				answered = true
			} else {
				t.Errorf("unexpected frame from b: %s", describe(f))
			}
		}
		return answered
	}

	tests := []struct {
		name     string
		add      *FilterRule // added before sending
		dropAll  bool        // set the input policy to drop before sending
		src      string
		dport    uint16
		answered bool
		counters map[string]uint64 // rule name -> packets, read after sending
	}{
		{name: "dropped by range", src: "10.0.0.1", dport: 5003, answered: false,
			counters: map[string]uint64{"drop-5000-5010": 1, "allow-5005-from-1": 0}},
		{name: "allowed first by priority 100", src: "10.0.0.1", dport: 5005, answered: true,
			counters: map[string]uint64{"drop-5000-5010": 1, "allow-5005-from-1": 1}},
		{name: "other source falls to the drop", src: "10.0.0.7", dport: 5005, answered: false,
			counters: map[string]uint64{"drop-5000-5010": 2, "allow-5005-from-1": 1}},
		{name: "no rule matches, policy accept", src: "10.0.0.1", dport: 6000, answered: true,
			counters: map[string]uint64{"drop-5000-5010": 2, "allow-5005-from-1": 1}},
		{name: "new priority 50 drop wins over the allow", src: "10.0.0.1", dport: 5005, answered: false,
			add: &FilterRule{Name: "drop-5005", Hook: HookInput, Priority: 50, Proto: ProtoUDP, DstPorts: []PortRange{Port(5005)}, Action: Drop},
			// The chain was rewritten, so counting starts again.
			counters: map[string]uint64{"drop-5005": 1, "drop-5000-5010": 0, "allow-5005-from-1": 0}},
		{name: "policy drop catches the rest", src: "10.0.0.1", dport: 6000, answered: false, dropAll: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.add != nil {
				must(t, b.AddFilter(*tt.add))
			}
			if tt.dropAll {
				must(t, b.SetFilterPolicy(HookInput, Drop))
			}
			if got := send(t, tt.src, tt.dport); got != tt.answered {
				t.Errorf("udp %s -> 10.0.0.2:%d: got answered=%v, want %v", tt.src, tt.dport, got, tt.answered)
			}
			for name, want := range tt.counters {
				got, err := b.Counter(name)
				must(t, err)
				if got.Packets != want || got.Chain != "input" {
					t.Errorf("counter %s: got %d packets in %q, want %d in input", name, got.Packets, got.Chain, want)
				}
			}
		})
	}
}

// TestFilterRuleErrors checks that malformed rules are rejected before anything reaches
// the kernel, with an error naming the field.
func TestFilterRuleErrors(t *testing.T) {
	tests := []struct {
		name    string
		r       FilterRule
		wantErr string
	}{
		{"ports without proto", FilterRule{DstPorts: []PortRange{Port(80)}}, "ports need proto"},
		{"ports with icmp", FilterRule{Proto: ProtoICMP, SrcPorts: []PortRange{Port(80)}}, "ports need proto"},
		{"empty range", FilterRule{Proto: ProtoTCP, DstPorts: []PortRange{{90, 80}}}, "port range 0: 90-80 is empty"},
		{"iface without dir", FilterRule{Iface: "eth0"}, "dir direction(0): unknown"},
		{"in on output", FilterRule{Hook: HookOutput, Iface: "eth0", Dir: In}, "output hook has no input interface"},
		{"out on input", FilterRule{Hook: HookInput, Iface: "eth0", Dir: Out}, "input hook has no output interface"},
		{"long iface", FilterRule{Iface: "a-very-long-ifname", Dir: In}, "is 18 bytes, max 15"},
		{"mixed families", FilterRule{Src: []netip.Prefix{pfx("10.0.0.0/8")}, Dst: []netip.Prefix{pfx("fd00::/8")}}, "never share an address family"},
		{"invalid prefix", FilterRule{Src: []netip.Prefix{{}}}, "invalid prefix"},
		{"bad hook", FilterRule{Hook: 9}, "hook hook(9): unknown"},
		{"bad action", FilterRule{Action: 7}, "action verdict(7): unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := filterExprs(tt.r)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("filterExprs(%+v): got error %v, want one containing %q", tt.r, err, tt.wantErr)
			}
		})
	}
	// Expansion: 2 sources x 2 destinations (one of them IPv6, left out with the IPv4
	// source) x 2 port ranges.
	r := FilterRule{Proto: ProtoTCP, Src: []netip.Prefix{pfx("10.0.0.0/8"), pfx("fd00::/8")},
		Dst: []netip.Prefix{pfx("192.0.2.0/24"), pfx("fd01::/64")}, DstPorts: []PortRange{Port(80), {8000, 8080}}}
	exs, err := filterExprs(r)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(exs), 4; got != want {
		t.Errorf("expanded rules: got %d, want %d (2 same-family prefix pairs x 2 port ranges)", got, want)
	}
}
