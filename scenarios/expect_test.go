package scenarios

import (
	"errors"
	"strings"
	"testing"
)

// expectBase is a scenario on the library's nat topology whose packets
// have documented fates (see library/*.yaml): 1 and 4 leave for the
// server through WinNAT, 2 is the server's reply to 1, 3 is unsolicited
// inbound and dropped. Its one expectation binds $p on the wire, leaving
// the outputs at the server to the test cases' expectations.
const expectBase = `name: expect-test
summary: expectation semantics
source: hnspath tests
topology: library/topologies/nat.yaml
packets:
  - {at: host1/web, frame: "ipv4(dst=198.18.0.10) / udp(sport=40000, dport=53) / raw(load=\"q\")"}
  - {at: server, frame: "ipv4(dst=10.0.0.4) / udp(sport=53, dport=$p) / raw(load=\"a\")"}
  - {at: client, frame: "ipv4(dst=10.0.0.4) / tcp(sport=40000, dport=9999, flags=S)"}
  - {at: host1/web, frame: "ipv4(dst=198.18.0.10) / udp(sport=40000, dport=53) / raw(load=\"q2\")"}
expect:
  - {at: host1/eth0, packet: 1, frame: "udp(sport=$p)"}
`

func runExpect(t *testing.T, extra string) *Report {
	t.Helper()
	sc, err := Parse("expect-test.yaml", []byte(expectBase+extra))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	rep := Run(sc, Options{})
	if rep.Err != nil {
		t.Fatalf("run: %v", rep.Err)
	}
	return rep
}

func TestExpectations(t *testing.T) {
	tests := []struct {
		name   string
		expect string
		pass   bool
		want   []string // substrings of the failure text
	}{
		{"partial", `  - {at: server, frame: "udp(dport=53)"}`, true, nil},
		{"full", `  - {at: server, packet: 1, frame: "ether(src=router, dst=server) / ipv4(src=10.0.0.4, dst=198.18.0.10, ttl=62, proto=17, chksum=valid) / udp(sport=$p, dport=53, chksum=valid) / raw(load=\"q\")"}`, true, nil},
		{"wrong value", `  - {at: server, packet: 1, frame: "udp(dport=54)"}`, false,
			[]string{"expect[1]", "no frame from packet 1 at server matched", "udp.dport: want 54, got 53", "!   dport=54", "trace of packet 1"}},
		{"wildcard", `  - {at: server, frame: "ipv4(src=*, ttl=*) / udp(sport=*, dport=53)"}`, true, nil},
		{"wildcard needs the field", `  - {at: server, packet: 1, frame: "ipv4() / tcp(flags=*)"}`, false, []string{"tcp"}},
		{"range", `  - {at: server, packet: 1, frame: "udp(sport=1024-65535)"}`, true, nil},
		{"binding reused", `  - {at: server, packet: 4, frame: "udp(sport=$p) / raw(load=\"q2\")"}`, true, nil},
		{"binding conflict", `  - {at: server, packet: 1, frame: "udp(sport=$x, dport=$x)"}`, false, []string{"$x"}},
		{"binding across ports", `  - {at: host1/web, packet: 2, frame: "udp(sport=53, dport=40000)"}
  - {at: host1/eth0, kind: wire-rx, packet: 2, frame: "ipv4(dst=10.0.0.4) / udp(dport=$p)"}`, true, nil},
		{"names", `  - {at: host1/web, packet: 2, frame: "ether(src=gateway, dst=host1/web) / ipv4(src=server, dst=host1/web)"}`, true, nil},
		{"wire-tx default at a NIC", `  - {at: host1/eth0, packet: 4, frame: "ipv4(src=host1) / udp(sport=$p, dport=53)"}`, true, nil},
		{"drop", `  - drop: {packet: 3, reason: winnat-no-mapping, at: host1/eth0, host: host1, component: tcpip}`, true, nil},
		// nothing_else scoped to one packet: the other packets' outputs do not count.
		{"nothing else from a packet", `  - {nothing_else: true, packet: 3}`, false,
			[]string{"expect[1]", "nothing else from packet 3 was expected, but 1 more came out or were dropped", "packet 3: drop: winnat-no-mapping"}},
		{"nothing else from a packet met", `  - drop: {packet: 3, reason: winnat-no-mapping}
  - {nothing_else: true, packet: 3}`, true, nil},
		{"nothing else from a packet at a port", `  - {nothing_else: true, packet: 2, at: server}`, true, nil},
		{"nothing else from a packet at its port", `  - {nothing_else: true, packet: 2, at: host1/web}`, false,
			[]string{"nothing else from packet 2 at host1/web was expected", "packet 2: delivered at host1/web"}},
		{"nothing else from a packet on the wire", `  - {nothing_else: true, packet: 4, at: host1/eth0, kind: wire-tx}`, false,
			[]string{"nothing else from packet 4 was expected on the wire at host1/eth0 (wire-tx), but 1 frames were seen", "packet 4: wire-tx"}},
		{"drop slug alone", `  - drop: winnat-no-mapping`, true, nil},
		{"drop wrong reason", `  - drop: {packet: 3, reason: winnat-filtered}`, false,
			[]string{"no drop from packet 3 for reason winnat-filtered", "packet 3: drop: winnat-no-mapping"}},
		{"drop wrong component", `  - drop: {packet: 3, reason: winnat-no-mapping, component: vfp}`, false, []string{"component=vfp"}},
		{"drop of a delivered packet", `  - drop: {packet: 1, reason: winnat-no-mapping}`, false, []string{"packet 1 was not dropped", "-> delivered at server"}},
		{"nothing else, all accounted", `  - {at: server, packet: 1, frame: "udp(sport=$p)"}
  - {at: host1/web, packet: 2, frame: "udp(dport=40000)"}
  - drop: {packet: 3, reason: winnat-no-mapping}
  - {at: server, packet: 4, frame: "udp(sport=$p)"}
  - nothing_else: true`, true, nil},
		{"nothing else, one unaccounted", `  - {at: server, packet: 1, frame: "udp(sport=$p)"}
  - {at: host1/web, packet: 2, frame: "udp(dport=40000)"}
  - drop: {packet: 3, reason: winnat-no-mapping}
  - nothing_else: true`, false, []string{"nothing else was expected, but 1 more", "packet 4: delivered at server", `raw(load="q2")`}},
		{"nothing else at a port", `  - {at: host1/web, packet: 2, frame: "udp(dport=40000)"}
  - {nothing_else: true, at: host1/web}`, true, nil},
		{"nothing else at a port fails", `  - {nothing_else: true, at: host1/web}`, false, []string{"nothing else at host1/web", "packet 2: delivered at host1/web"}},
		{"order kept", `  - {at: server, frame: "udp() / raw(load=\"q\")"}
  - {at: server, frame: "udp() / raw(load=\"q2\")"}`, true, nil},
		{"order broken", `  - {at: server, frame: "udp() / raw(load=\"q2\")"}
  - {at: server, frame: "udp() / raw(load=\"q\")"}`, false, []string{"expect[2]", "no frame at server matched", "closest: packet 1 at server, but before the frame an earlier expectation at this port matched"}},
		{"packet tie", `  - {at: server, packet: 4, frame: "udp() / raw(load=\"q\")"}`, false, []string{"from packet 4", `want "q", got "q2"`}},
		{"no such packet", `  - {at: server, packet: 9, frame: "udp()"}`, false, []string{"nothing from packet 9 came out at server", "only 4 packets"}},
		{"nothing at a port", `  - {at: host1/web2, frame: "udp()"}`, false, []string{"nothing came out at host1/web2", "delivered: host1/web: 1, server: 2", "dropped: winnat-no-mapping: 1"}},
		{"same output twice", `  - {at: host1/eth0, packet: 1, frame: "udp()"}`, false, []string{"already matched by another expectation"}},
		{"drop any reason", `  - drop: {packet: 3, reason: "*"}`, true, nil},
		{"drop any reason, place narrows", `  - drop: {packet: 3, reason: "*", component: vfp}`, false, []string{"no drop from packet 3 for reason * (any) component=vfp"}},
		{"drop any reason, not dropped", `  - drop: {packet: 1, reason: "*"}`, false, []string{"no drop from packet 1 for reason * (any)", "packet 1 was not dropped"}},
		// Packets 1 and 4 leave through host1/eth0; the base expectation
		// takes packet 1's frame. Packets 2 and 3 come in through it.
		{"nothing else on the wire", `  - {at: host1/eth0, packet: 4, frame: "udp(dport=53)"}
  - {nothing_else: true, at: host1/eth0, kind: wire-tx}`, true, nil},
		{"nothing else on the wire fails", `  - {nothing_else: true, at: host1/eth0, kind: wire-tx}`, false,
			[]string{"nothing else was expected on the wire at host1/eth0 (wire-tx), but 1 frames were seen", "packet 4: wire-tx at host1/eth0", "trace of packet 4"}},
		{"nothing else coming in fails", `  - {nothing_else: true, at: host1/eth0, kind: wire-rx}`, false,
			[]string{"(wire-rx), but 2 frames were seen", "packet 2: wire-rx", "packet 3: wire-rx"}},
		{"nothing else on the wire ignores delivered", `  - {at: host1/eth0, packet: 4, frame: "udp(dport=53)"}
  - {nothing_else: true, at: host1/eth0, kind: wire-tx}
  - {nothing_else: true, at: host1/web, kind: delivered}`, false, []string{"nothing else at host1/web", "packet 2: delivered at host1/web"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := runExpect(t, tt.expect+"\n")
			text := strings.Join(rep.Failures, "\n")
			if rep.Passed != tt.pass {
				t.Fatalf("passed = %v, want %v; failures:\n%s", rep.Passed, tt.pass, text)
			}
			for _, w := range tt.want {
				if !strings.Contains(text, w) {
					t.Errorf("failure text lacks %q:\n%s", w, text)
				}
			}
		})
	}
}

// TestExpectErrorMatching checks expect_error against a rejected
// topology: the matching fields must all match one error.
func TestExpectErrorMatching(t *testing.T) {
	const topo = `topology:
  hosts:
    - name: host1
      nics: [{name: eth0, mac: "00:15:5d:00:00:04", ip: 172.17.0.4/16}]
      hns:
        Networks:
          - {Name: nat, Type: NAT, Ipams: [{Type: Static, Subnets: [{IpAddressPrefix: 172.16.0.0/12, Routes: [{NextHop: 172.16.0.1, DestinationPrefix: 0.0.0.0/0}]}]}]}
`
	tests := []struct {
		expectError string
		pass        bool
	}{
		{"{code: 0x803b0030}", true},
		{"{code: HCN_E_INVALID_PREFIX, field: IpAddressPrefix, object: nat}", true},
		{"overlap", true},
		{"0x803b0030", true},
		{"{code: 0x803b0013}", false},
		{"{message: overlap, object: other}", false},
		{"no such text", false},
	}
	for _, tt := range tests {
		sc, err := Parse("ee.yaml", []byte("name: ee\nsummary: s\nsource: t\n"+topo+"expect_error: "+tt.expectError+"\n"))
		if err != nil {
			t.Fatalf("%s: %v", tt.expectError, err)
		}
		rep := Run(sc, Options{})
		if rep.Passed != tt.pass {
			t.Errorf("expect_error %s: passed %v, want %v (%v)", tt.expectError, rep.Passed, tt.pass, rep.Failures)
		}
	}
	// An accepted topology fails an expect_error scenario.
	sc, err := Parse("ee.yaml", []byte("name: ee\nsummary: s\nsource: t\ntopology: library/topologies/nat.yaml\nexpect_error: overlap\n"))
	if err != nil {
		t.Fatal(err)
	}
	if rep := Run(sc, Options{}); rep.Passed || !strings.Contains(strings.Join(rep.Failures, ""), "was accepted") {
		t.Errorf("accepted topology: passed %v, failures %v; want a failure saying it was accepted", rep.Passed, rep.Failures)
	}
}

// TestExpectationLoadErrors: misused expectation keys are load errors.
func TestExpectationLoadErrors(t *testing.T) {
	tests := []struct {
		name, expect, field, text string
	}{
		{"nothing else on the wire needs a port", `  - {nothing_else: true, kind: wire-tx}`, "expect[1].at", "needs the NIC port"},
		{"nothing else on the wire at a vNIC", `  - {nothing_else: true, at: host1/web, kind: wire-rx}`, "expect[1].at", "looks at a NIC port"},
		{"drop reason", `  - drop: {packet: 3, reason: "winnat-*"}`, "expect[1].drop.reason", "unknown drop reason"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("expect-test.yaml", []byte(expectBase+tt.expect+"\n"))
			var errs Errors
			if !errors.As(err, &errs) {
				t.Fatalf("got %v, want load errors", err)
			}
			for _, e := range errs {
				if e.Field == tt.field && strings.Contains(e.Error(), tt.text) {
					return
				}
			}
			t.Errorf("got\n%v\nwant an error at %s containing %q", err, tt.field, tt.text)
		})
	}
}
