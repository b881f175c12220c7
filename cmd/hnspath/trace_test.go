package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/hnspath/hnspath/result"
)

const natTopology = "../../scenarios/library/topologies/nat.yaml"

func TestTrace(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		code  int
		wants []string
	}{
		{"spec", []string{"--topology", natTopology, "--at", "client", "ipv4(dst=10.0.0.4) / tcp(sport=40000, dport=8082, flags=S)"}, exitOK, []string{
			"packet 1 in at client",
			"winnat", "dport: 8082 -> 80",
			"delivered at host1/web: ether(", "tcp(sport=40000, dport=80, flags=S)",
			"outcome: delivered",
		}},
		{"dropped", []string{"-t", natTopology, "--at", "client", "ipv4(dst=10.0.0.4) / tcp(dport=9999)"}, exitOK, []string{
			"drop: winnat-no-mapping (no mapping) at host1/tcpip/eth0", "outcome: dropped",
		}},
		{"scenario packet", []string{"--scenario", "../../scenarios/library/nat-outbound-udp.yaml", "--packet", "2"}, exitOK, []string{
			"packet 2 in at server", "delivered at host1/web", `udp(sport=53, dport=40000) / raw(load=0x0001818000010001000000000765`,
		}},
		{"scenario too short", []string{"-s", "../../scenarios/library/nat-outbound-udp.yaml", "-n", "9"}, exitFail, nil},
		{"bad spec", []string{"-t", natTopology, "--at", "client", "ipv4(dst=10.0.0.4) / tcp(dprot=1)"}, exitFail, nil},
		{"unknown port", []string{"-t", natTopology, "--at", "nowhere", "ipv4(dst=10.0.0.4)"}, exitFail, nil},
		{"no topology", []string{"--at", "client", "ipv4()"}, exitUsage, nil},
		{"spec without port", []string{"-t", natTopology, "ipv4()"}, exitUsage, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCmd(t, append([]string{"trace"}, tt.args...)...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\n%s\n%s", code, tt.code, stdout, stderr)
			}
			for _, w := range tt.wants {
				if !strings.Contains(stdout, w) {
					t.Errorf("stdout lacks %q:\n%s", w, stdout)
				}
			}
		})
	}
}

// TestTraceJSON: --json prints the result contract.
func TestTraceJSON(t *testing.T) {
	code, stdout, stderr := runCmd(t, "trace", "--json", "-t", natTopology, "--at", "host1/web", "ipv4(dst=198.18.0.10) / udp(sport=40000, dport=53)")
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	var p result.Packet
	if err := json.Unmarshal([]byte(stdout), &p); err != nil {
		t.Fatal(err)
	}
	if p.Outcome != result.OutcomeDelivered || len(p.Trace) == 0 || len(p.Delivered()) != 1 || p.Delivered()[0].Port != "server" {
		t.Errorf("result %+v", p)
	}
}

// TestTraceGolden: the text trace shows each header change at the stage
// that made it (the management OS's TTL decrement at its route stage, the
// MAC rewrite at nic transmit), routes in Get-NetRoute's terms (NextHop
// 0.0.0.0 for on-link), and drop reasons with their pktmon number.
func TestTraceGolden(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		wants []string // lines (trimmed) the output must have, in order
	}{
		{"nat-outbound", []string{"-t", natTopology, "--at", "host1/web", "ipv4(dst=198.18.0.10) / udp(sport=40000, dport=53)"}, []string{
			"3. host1 tcpip eth0: route DestinationPrefix 0.0.0.0/0, NextHop 10.0.0.1, InterfaceAlias eth0",
			"ttl: 64 -> 63",
			"4. host1 nic eth0: transmit",
			"eth.src: 00:15:5d:aa:00:02 -> 00:15:5d:00:00:04",
			"eth.dst: 00:15:5d:c3:2b:be -> 02:00:00:00:00:01",
		}},
		{"nat-inbound", []string{"-t", natTopology, "--at", "client", "ipv4(dst=10.0.0.4) / tcp(sport=40000, dport=8082, flags=S)"}, []string{
			`4. host1 tcpip vEthernet (nat): route DestinationPrefix 172.16.0.0/16, NextHop 0.0.0.0 (on-link), InterfaceAlias "vEthernet (nat)"`,
			"ttl: 64 -> 63",
		}},
		{"vsid-mismatch", []string{"-s", "../../scenarios/library/overlay-vni-mismatch.yaml", "-n", "1"}, []string{
			"2. host2 vswitch eth0: drop Virtual Subnet ID does not match (vsid-mismatch, pktmon DropReason 20)",
			"drop: vsid-mismatch (Virtual Subnet ID does not match, pktmon DropReason 20) at host2/vswitch/eth0",
		}},
		{"arp-proxy", []string{"-t", "../../scenarios/library/topologies/overlay.yaml", "--at", "host1/pod-a", "arp(pdst=10.244.1.1)"}, []string{
			"0e:2a:0a:f4:01:02 > ff:ff:ff:ff:ff:ff arp 10.244.1.2 > 10.244.1.1 len 42",
			"1. host1 vfp pod-a: answer-arp 10.244.1.1 is-at 0e:2a:0a:f4:01:01 (VFP ARP proxy)",
			"2. host1 endpoint pod-a: deliver",
			"-> delivered at host1/pod-a",
		}},
		{"ttl-exceeded", []string{"-s", "../../scenarios/library/nat-ttl-exceeded.yaml", "-n", "1"}, []string{
			"2. host1 tcpip vEthernet (nat): icmp-error type 11 code 0",
			"sends: ipv4 172.16.0.1 > 172.16.0.2 ttl 128 icmp len 70",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCmd(t, append([]string{"trace"}, tt.args...)...)
			if code != exitOK {
				t.Fatalf("exit %d\n%s", code, stderr)
			}
			lines := strings.Split(stdout, "\n")
			i := 0
			for _, l := range lines {
				if i < len(tt.wants) && strings.TrimSpace(l) == tt.wants[i] {
					i++
				}
			}
			if i < len(tt.wants) {
				t.Errorf("output lacks line %q (in order):\n%s", tt.wants[i], stdout)
			}
			checkGolden(t, "trace/"+tt.name+".golden", []byte(stdout))
		})
	}
}

// TestTraceWrongFileKind: a scenario given as --topology (and a topology
// as --scenario) is a usage error that names the right flag, not a list of
// unknown keys.
func TestTraceWrongFileKind(t *testing.T) {
	code, _, stderr := runCmd(t, "trace", "-t", "../../scenarios/library/nat-outbound-udp.yaml", "-n", "1")
	if code != exitUsage || !strings.Contains(stderr, "is a scenario file, not a topology: give it with --scenario (-s)") || strings.Contains(stderr, "unknown key") {
		t.Errorf("exit %d, stderr:\n%s", code, stderr)
	}
	code, _, stderr = runCmd(t, "trace", "-s", natTopology, "-n", "1")
	if code != exitUsage || !strings.Contains(stderr, "is a topology file, not a scenario: give it with --topology (-t)") {
		t.Errorf("exit %d, stderr:\n%s", code, stderr)
	}
}
