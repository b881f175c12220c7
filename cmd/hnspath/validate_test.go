package main

import (
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		code  int
		wants []string
	}{
		{"topology", []string{"../../scenarios/library/topologies/nat.yaml"}, exitOK, []string{"nat.yaml: ok (topology: "}},
		{"scenario", []string{"../../scenarios/library/nat-static-portmap.yaml"}, exitOK, []string{"ok (scenario nat-static-portmap: 4 packet entries, 5 expectations)"}},
		{"expected rejection", []string{"../../scenarios/library/nat-prefix-overlap-rejected.yaml"}, exitOK,
			[]string{"the topology is rejected as expected", "overlaps the prefix 172.17.0.0/16", "HCN_E_INVALID_PREFIX"}},
		{"bad topology", []string{"../../scenarios/testdata/bad-topology.topo.yaml"}, exitFail, []string{
			"bad-topology.topo.yaml:9:62: hosts[0].hns.Networks[0].Ipams[0].Subnets[0].IpAddressPrefix: NAT internal prefix 172.16.0.0/12 overlaps",
			"bad-topology.topo.yaml:15:56: hosts[0].hns.Endpoints[0].Policies[0].Settings.Protocol: protocol 1",
		}},
		{"bad scenario", []string{"../../scenarios/testdata/bad-scenario.yaml", "../../scenarios/library/topologies/nat.yaml"}, exitFail, []string{
			"bad-scenario.yaml:5:1: colour: unknown key", "bad-scenario.yaml:36:11: expect[4].kind", "nat.yaml: ok",
		}},
		{"missing", []string{"no-such.yaml"}, exitFail, []string{"no-such.yaml: open no-such.yaml"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCmd(t, append([]string{"validate"}, tt.args...)...)
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
	if code, _, _ := runCmd(t, "validate"); code != exitUsage {
		t.Errorf("no arguments: exit %d, want 2", code)
	}
}
