package scenarios

import (
	"strings"
	"testing"
)

// A packet that needs a binding the expectations could not bind fails
// with the closest-frame report of the expectation that would have bound
// it, not only "binding $x is not bound".
func TestUnboundBindingReportsClosestFrame(t *testing.T) {
	const text = `name: unbound-test
summary: a binding that an expectation fails to bind
source: hnspath tests
topology: library/topologies/nat.yaml
packets:
  - {at: host1/web, frame: "ipv4(dst=198.18.0.10) / udp(sport=40000, dport=53) / raw(load=\"q\")"}
  - {at: server, frame: "ipv4(dst=10.0.0.4) / udp(sport=53, dport=$q) / raw(load=\"a\")"}
expect:
  - {at: server, packet: 1, frame: "udp(sport=$q in 1-1023, dport=53)"}
`
	for _, tt := range []struct {
		name, text string
		want       []string
	}{
		{"bound by a failing expectation", text, []string{
			"packets[1].frame", "binding $q is not bound",
			"$q would be bound by unbound-test.yaml:9: expect[0]: no frame from packet 1 at server matched",
			"differs: udp.sport: want $q in 1-1023, got 49152", "!   sport=$q in 1-1023", "trace of packet 1"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sc, err := Parse("unbound-test.yaml", []byte(tt.text))
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			rep := Run(sc, Options{})
			if rep.Err == nil {
				t.Fatalf("run passed, want an error")
			}
			msg := rep.Err.Error()
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error lacks %q:\n%s", w, msg)
				}
			}
		})
	}
}
