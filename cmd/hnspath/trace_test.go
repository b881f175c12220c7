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
			"packet 2 in at server", "delivered at host1/web", `udp(sport=53, dport=40000) / raw(load="answer 1")`,
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
