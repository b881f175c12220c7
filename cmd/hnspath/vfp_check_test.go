package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	calicoTopo = "testdata/vfpcheck/calico-acl-endpoint.yaml"
	// calicoDump is real output (see its header), copied unchanged.
	calicoDump = "testdata/vfpcheck/vfpctrl-list-rule__mrolmedo_rke2windows_ACL_ENDPOINT_LAYER.txt"
)

func goldenFile(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "vfpcheck", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s:\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// TestVFPCheckCalicoSample checks a topology that reproduces the HNS state
// of a real Calico node against that node's vfpctrl dump of its ACL layer:
// the two ACL rules match rule for rule (GUID names paired by friendly
// name = the HNS ACL Id, priorities 900/1000, flags 8195, flow TTL 240),
// and what the paste cut off ("(redacted)") is unverified, not missing.
func TestVFPCheckCalicoSample(t *testing.T) {
	code, out, errs := runCmd(t, "vfp", "check", "--topology", calicoTopo, "--dump", calicoDump)
	if code != exitOK {
		t.Fatalf("exit %d, want 0\n%s%s", code, out, errs)
	}
	for _, want := range []string{
		"= dump port c9385412-bdef-49f5-88b0-c9d484ef6716",
		"(layer ACL_ENDPOINT_LAYER): 3 rules checked, 0 differences",
		"partial: line 43: (redacted)",
		"match: 1 ports, 3 rules checked, 0 differences, 1 unverified",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	code, out, errs = runCmd(t, "vfp", "check", "--topology", calicoTopo, "--dump", calicoDump, "--format", "json")
	if code != exitOK {
		t.Fatalf("json: exit %d\n%s", code, errs)
	}
	goldenFile(t, "calico-check.json.golden", out)
}

// TestVFPCheckEditedDump edits the real dump (one rule's priority and
// flow TTL changed, one rule removed, one added) and expects exactly
// those differences, and exit 1.
func TestVFPCheckEditedDump(t *testing.T) {
	b, err := os.ReadFile(calicoDump)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	// allow-host-to-endpoint: priority 900 -> 901, Flow TTL 240 -> 30.
	s = strings.Replace(s, "Priority : 900", "Priority : 901", 1)
	s = strings.Replace(s, "        Flow TTL: 240", "        Flow TTL: 30", 1)
	// The profile rule becomes a host-only rule with another name.
	s = strings.Replace(s, "Friendly name : profile-kns.rke2-tcp-reset-test--atbkwj8tPVFG3P1-0", "Friendly name : allow-all-from-anywhere", 1)
	// And the model's own default (a real host would not list it) is
	// there too, as an extra rule of the host.
	s = strings.Replace(s, "  (redacted)", `
    RULE : 11111111-2222-3333-4444-555555555555
        Friendly name : block-smtp
        Priority : 50
        Flags : 8193 terminating 
        Type : block
        Conditions:
            Protocols : 6
            Destination ports : 25
        Flow TTL: 0
        FlagsEx : 0 
  (redacted)`, 1)
	path := filepath.Join(t.TempDir(), "edited.txt")
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, _ := runCmd(t, "vfp", "check", "--topology", calicoTopo, "--dump", path, "--format", "json")
	if code != exitFail {
		t.Fatalf("exit %d, want 1\n%s", code, out)
	}
	var rep checkReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range rep.Ports[0].Diffs {
		got = append(got, d.String())
	}
	// The paste is cut after the group's last listed rule, so the renamed
	// profile rule is unverified there (the host may list it after the
	// cut), not missing; every other change is a difference.
	want := []string{
		"ACL_ENDPOINT_LAYER/ACL_ENDPOINT_GROUP_IPV4_IN/allow-host-to-endpoint: priority 900 vs 901",
		"ACL_ENDPOINT_LAYER/ACL_ENDPOINT_GROUP_IPV4_IN/allow-host-to-endpoint: flow ttl 240 vs 30",
		"ACL_ENDPOINT_LAYER/ACL_ENDPOINT_GROUP_IPV4_IN/profile-kns.rke2-tcp-reset-test--atbkwj8tPVFG3P1-0: not in the listing, which leaves lines out (unverified)",
		"ACL_ENDPOINT_LAYER/ACL_ENDPOINT_GROUP_IPV4_IN/0EE8DCA1-9AA8-417C-88E0-422CE9E52CBF: only on the host",
		"ACL_ENDPOINT_LAYER/ACL_ENDPOINT_GROUP_IPV4_IN/11111111-2222-3333-4444-555555555555: only on the host",
		"ACL_ENDPOINT_LAYER/ACL_ENDPOINT_GROUP_IPV6_IN: not in the listing, which leaves lines out (unverified)",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("differences:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if rep.Differences != 4 || rep.Unverified != 2 {
		t.Errorf("differences = %d, unverified = %d; want 4 and 2", rep.Differences, rep.Unverified)
	}
	// Without the cut, the renamed rule is missing.
	full := strings.Replace(s, "  (redacted)", "Command list-rule succeeded!", 1)
	if err := os.WriteFile(path, []byte(full), 0o644); err != nil {
		t.Fatal(err)
	}
	_, out, _ = runCmd(t, "vfp", "check", "--topology", calicoTopo, "--dump", path)
	for _, w := range []string{"profile-kns.rke2-tcp-reset-test--atbkwj8tPVFG3P1-0: missing on the host", "ACL_ENDPOINT_GROUP_IPV6_IN: missing on the host"} {
		if !strings.Contains(out, w) {
			t.Errorf("complete edited dump: output lacks %q:\n%s", w, out)
		}
	}
}

// TestVFPCheckDumpOfManyPorts checks a collectlogs-style dump
// (dumpVfpPolicies.ps1's layout: port table, then "Policy for port :" and
// the GUID on its own line before each port's outputs) built from the
// emulator's own output: every port pairs by its HNS endpoint ID and
// matches; a port whose listing is changed is named.
func TestVFPCheckDumpOfManyPorts(t *testing.T) {
	code, listing, errs := runCmd(t, "vfp", "--topology", calicoTopo)
	if code != exitOK {
		t.Fatalf("vfp: exit %d: %s", code, errs)
	}
	body := listing[strings.Index(listing, "\n")+1:]
	var b strings.Builder
	b.WriteString("\nPort name                            Mac Address       PortId\n")
	b.WriteString("---------                            -----------       ------\n")
	b.WriteString("C9385412-BDEF-49F5-88B0-C9D484EF6716 0E-2A-0A-2A-D5-DD 3\n")
	b.WriteString("0B2D1B5B-0000-4000-8000-000000000001 00-15-5D-9C-E9-DA 2\n\n")
	b.WriteString("Policy for port : \nC9385412-BDEF-49F5-88B0-C9D484EF6716\n")
	b.WriteString(" ITEM LIST\n===========\n\nCommand list-space succeeded!\n")
	b.WriteString(body)
	b.WriteString("  Blocked : FALSE\nCommand get-port-state succeeded!\n")
	b.WriteString("Policy for port : \n0B2D1B5B-0000-4000-8000-000000000001\n")
	b.WriteString(" ITEM LIST\n===========\n\nCommand list-rule succeeded!\n")
	path := filepath.Join(t.TempDir(), "vfpOutput.txt")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runCmd(t, "vfp", "check", "--topology", calicoTopo, "--dump", path)
	if code != exitOK {
		t.Fatalf("exit %d, want 0\n%s%s", code, out, errs)
	}
	// The bundle directory works too (the file is found by name).
	if code, out2, errs := runCmd(t, "vfp", "check", "--topology", calicoTopo, "--dump", filepath.Dir(path)); code != exitOK || !strings.Contains(out2, "match: 1 ports") {
		t.Errorf("bundle directory: exit %d\n%s%s", code, out2, errs)
	}
	for _, want := range []string{
		"= dump port C9385412-BDEF-49F5-88B0-C9D484EF6716 (line 7)",
		"dump port 0B2D1B5B-0000-4000-8000-000000000001: no topology port",
		"match: 1 ports",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	changed := strings.Replace(b.String(), "Priority : 1000", "Priority : 999", 1)
	if err := os.WriteFile(path, []byte(changed), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, _ = runCmd(t, "vfp", "check", "--topology", calicoTopo, "--dump", path)
	if code != exitFail || !strings.Contains(out, "profile-kns.rke2-tcp-reset-test--atbkwj8tPVFG3P1-0: priority 1000 vs 999") {
		t.Errorf("changed priority: exit %d\n%s", code, out)
	}
}

// TestVFPCheckErrors covers the exit codes of bad input.
func TestVFPCheckErrors(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.txt")
	if err := os.WriteFile(bad, []byte("  GROUP : G\n      Priority : high\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		args    []string
		code    int
		wantErr string
	}{
		{"no dump", []string{"--topology", calicoTopo}, exitUsage, "give --topology and --dump"},
		{"bad format", []string{"--topology", calicoTopo, "--dump", calicoDump, "--format", "xml"}, exitUsage, "--format"},
		{"bad dump", []string{"--topology", calicoTopo, "--dump", bad}, exitFail, "bad.txt:2: Priority"},
		{"missing dump", []string{"--topology", calicoTopo, "--dump", "nope.txt"}, exitFail, "nope.txt"},
		{"unknown port", []string{"--topology", calicoTopo, "--dump", calicoDump, "--port", "node1/nope"}, exitFail, "no VFP policy"},
		{"unknown dump port", []string{"--topology", l2bridgeTopo, "--dump", calicoDump, "--port", "host1/pod-b", "--dump-port", "x"}, exitFail, "--dump-port x"},
		{"nothing paired", []string{"--topology", l2bridgeTopo, "--dump", calicoDump}, exitFail, "no port of the topology could be paired"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errs := runCmd(t, append([]string{"vfp", "check"}, tt.args...)...)
			if code != tt.code || !strings.Contains(errs, tt.wantErr) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, errs, tt.code, tt.wantErr)
			}
		})
	}
}

// TestVFPNoVFPPort is the exit code and the hint for a port of a nat
// network, which has no VFP.
func TestVFPNoVFPPort(t *testing.T) {
	topo := "../../scenarios/library/topologies/nat.yaml"
	for _, args := range [][]string{{"vfp", "--topology", topo, "--port", "host1/web"}, {"vfp", "--topology", topo}} {
		code, _, errs := runCmd(t, args...)
		if code != exitFail || !strings.Contains(errs, "nat networks do not use VFP") || !strings.Contains(errs, "hnspath show --format get-netnat") {
			t.Errorf("%v: exit %d, stderr %q; want exit 1 naming the NAT views", args, code, errs)
		}
	}
}

// TestVFPCheckKubeProxyLayout checks kube-proxy's ClusterIP in the
// Windows Server 2019 era dump of kubernetes/kubernetes#79359 (partial:
// four "..." elisions, cut inside the lbnat rule, no group lines). The
// emulator does not program that era's per-backend layout (docs/vfp-check.md,
// "Known layout differences"): its three rules are only on the host, and
// what the emulator programs instead is unverified against the partial
// dump. The golden file pins the whole report.
func TestVFPCheckKubeProxyLayout(t *testing.T) {
	code, out, errs := runCmd(t, "vfp", "check", "--topology", "testdata/vfpcheck/kube-proxy-clusterip.yaml",
		"--dump", "testdata/vfpcheck/vfpctrl-list-rule__kubernetes_kubernetes_79359_SNAT_LB.txt", "--port", "node1/pod-api")
	if code != exitFail {
		t.Fatalf("exit %d, want 1\n%s%s", code, out, errs)
	}
	for _, want := range []string{
		"SNAT/Block_LoopBack593C6_10.42.1.2_10.43.0.1_443_6443_6: only on the host",
		"SNAT/SNAT_TCP_593C6_10.42.1.2_10.43.0.1_443_6443_6: only on the host",
		"LB/LB_593C6_10.42.1.2_10.43.0.1_443_6443_6: only on the host",
		"DIFFER: 1 ports, 10 rules checked, 3 differences",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	goldenFile(t, "kube-proxy-check.txt.golden", out)
}

// TestVFPCheckOwnOutput checks every library topology with VFP against
// what `hnspath vfp` prints for it (all ports in one dump, paired by
// name): the printed form carries every field the check compares, with
// and without --explain.
func TestVFPCheckOwnOutput(t *testing.T) {
	topos, err := filepath.Glob("../../scenarios/library/topologies/*.yaml")
	if err != nil || len(topos) == 0 {
		t.Fatalf("no topologies: %v", err)
	}
	for _, topo := range topos {
		for _, explain := range []bool{false, true} {
			name := filepath.Base(topo)
			if explain {
				name += "/explain"
			}
			t.Run(name, func(t *testing.T) {
				args := []string{"vfp", "--topology", topo}
				if explain {
					args = append(args, "--explain")
				}
				code, out, errs := runCmd(t, args...)
				if code != exitOK {
					if strings.Contains(errs, "nat networks do not use VFP") || strings.Contains(errs, "HCN_E_") {
						return // no VFP, or a topology HNS rejects on purpose
					}
					t.Fatalf("vfp: exit %d: %s", code, errs)
				}
				path := filepath.Join(t.TempDir(), "dump.txt")
				if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
					t.Fatal(err)
				}
				check := []string{"vfp", "check", "--topology", topo, "--dump", path}
				if explain {
					check = append(check, "--explain")
				}
				code, rep, errs := runCmd(t, check...)
				if code != exitOK || !strings.Contains(rep, "match:") || strings.Contains(rep, "unchecked") {
					t.Errorf("check of its own output: exit %d\n%s%s", code, rep, errs)
				}
			})
		}
	}
}

// TestVFPCheckLayerFlag checks the Calico dump pasted without its command
// line: --layer says which layer the groups belong to.
func TestVFPCheckLayerFlag(t *testing.T) {
	b, err := os.ReadFile(calicoDump)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(b), "vfpctrl /port c9385412-bdef-49f5-88b0-c9d484ef6716 /layer ACL_ENDPOINT_LAYER /list-rule\n", "", 1)
	path := filepath.Join(t.TempDir(), "acl.txt")
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"vfp", "check", "--topology", calicoTopo, "--dump", path,
		"--port", "node1/4a625a2b10a33b0dea96fe8743fb8e13504481ee9f481d179f8e75b8c98611d2_Calico"}
	if code, out, _ := runCmd(t, args...); code != exitFail {
		t.Errorf("without --layer: exit %d, want 1 (the groups belong to no layer)\n%s", code, out)
	}
	code, out, errs := runCmd(t, append(args, "--layer", "ACL_ENDPOINT_LAYER")...)
	if code != exitOK || !strings.Contains(out, "(layer ACL_ENDPOINT_LAYER): 3 rules checked, 0 differences") {
		t.Errorf("with --layer: exit %d\n%s%s", code, out, errs)
	}
}
