package vfpctrl

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/hnspath/hnspath/emulator/vfp"
)

// The files in testdata/real are real hosts' vfpctrl output, copied
// unchanged from public sources with the collector's "# " header naming
// the source (kubernetes/kubernetes#79359; mrolmedo/rke2windows README;
// princepereira/Commands Commands-VFP.md). Two are partial pastes.

func readReal(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "real", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestRealSamplesGolden parses each real sample: list-rule output strictly
// (a partial paste fails, naming the line and what is missing) and
// leniently (the layers, printed back as a host prints them, with the
// gaps); the switch port list as records. The golden files hold both.
func TestRealSamplesGolden(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "real", "vfpctrl-*.txt"))
	if err != nil || len(files) != 3 {
		t.Fatalf("got %d samples (%v), want 3", len(files), err)
	}
	for _, path := range files {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			data := readReal(t, name)
			var out bytes.Buffer
			if strings.Contains(name, "list-vmswitch-port") {
				ports, err := ParseSwitchPorts(name, bytes.NewReader(data))
				if err != nil {
					t.Fatalf("ParseSwitchPorts: %v", err)
				}
				for _, p := range ports {
					fmt.Fprintf(&out, "port %q friendly %q switch %q mac %q\n", p.Name, p.FriendlyName, p.SwitchName, p.MAC)
				}
				golden(t, filepath.Join("real", name+".golden"), out.Bytes())
				return
			}
			_, err := ParseListRuleFile(name, bytes.NewReader(data))
			fmt.Fprintf(&out, "# ParseListRule (strict):\n")
			if err == nil {
				fmt.Fprintf(&out, "ok\n")
			} else {
				if !errors.Is(err, ErrPartial) {
					t.Errorf("strict parse error is not ErrPartial: %v", err)
				}
				fmt.Fprintf(&out, "%v\n", err)
			}
			l, err := ParseListing(name, bytes.NewReader(data))
			if err != nil {
				t.Fatalf("ParseListing: %v", err)
			}
			fmt.Fprintf(&out, "# ParseListing: port %q layer %q complete %v partial %v\n", l.Port, l.Layer, l.Complete, l.Partial())
			for _, g := range l.Gaps {
				fmt.Fprintf(&out, "# gap: line %d: %s: %s\n", g.Line, g.Field, g.What)
			}
			if err := FormatLayers(&out, l.Layers, Options{}); err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join("real", name+".golden"), out.Bytes())
		})
	}
}

// TestRealKubeProxySample checks the fields of kube-proxy's SNAT and LB
// layers in kubernetes/kubernetes#79359 against the issue text.
func TestRealKubeProxySample(t *testing.T) {
	const name = "vfpctrl-list-rule__kubernetes_kubernetes_79359_SNAT_LB.txt"
	l, err := ParseListing(name, bytes.NewReader(readReal(t, name)))
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Layers) != 2 {
		t.Fatalf("got %d layers, want SNAT and LB", len(l.Layers))
	}
	snat, lb := l.Layers[0], l.Layers[1]
	rules := snat.Groups[0].Rules
	if len(rules) != 2 || len(lb.Groups[0].Rules) != 1 {
		t.Fatalf("got %d SNAT rules and %d LB rules, want 2 and 1", len(rules), len(lb.Groups[0].Rules))
	}
	blk, dyn, lbr := rules[0], rules[1], lb.Groups[0].Rules[0]
	tests := []struct {
		name      string
		got, want any
	}{
		{"SNAT name", snat.Name, "SNAT"},
		{"SNAT priority", snat.Priority, uint32(200)},
		{"SNAT flags", layerFlagNames(snat.AllFlags()), "0x9 Default Allow , Update flows on address change"},
		{"LB priority", lb.Priority, uint32(300)},
		{"LB flags", layerFlagNames(lb.AllFlags()), "0x1 Default Allow"},
		{"group line elided", snat.Groups[0].Name, ""},
		{"block label", ruleLabel(blk), "Block_LoopBack593C6_10.42.1.2_10.43.0.1_443_6443_6"},
		{"block flags", ruleFlagNames(blk), "1 terminating"},
		{"block TTL", FlowTTL(blk), time.Duration(0)},
		{"block conditions", conditionsString(blk.Conditions), "src-ip=10.43.0.1 dst-ip=10.43.0.1 dst-port=443"},
		{"dynnat flags", ruleFlagNames(dyn), "3 terminating stateful"},
		{"dynnat type", dyn.Action.Type, vfp.ActionDynNAT},
		{"dynnat TTL", FlowTTL(dyn), 240 * time.Second},
		{"dynnat MSS delta", dyn.Action.MSSDelta, [2]uint16{50, 0}},
		{"dynnat pool", dyn.Action.Pool.Name, "SLB_NATPOOL_IPV4_TCP_10.42.1.210.43.0.1443"},
		{"lbnat type", lbr.Action.Type, vfp.ActionLBNAT},
		{"lbnat label", ruleLabel(lbr), "LB_593C6_10.42.1.2_10.43.0.1_443_6443_6"},
		{"gaps (four \"...\" and the cut)", len(l.Gaps), 5},
	}
	for _, tt := range tests {
		if fmt.Sprint(tt.got) != fmt.Sprint(tt.want) {
			t.Errorf("%s = %v, want %v", tt.name, tt.got, tt.want)
		}
	}
	// The cut: the last rule has no FlagsEx line.
	last := l.Gaps[len(l.Gaps)-1]
	if last.Field != "end of output" || !strings.Contains(last.What, "LB_593C6_10.42.1.2_10.43.0.1_443_6443_6") {
		t.Errorf("last gap = %+v, want the cut inside the lbnat rule", last)
	}
}

// TestRealCalicoSample checks Calico's ACL rules in the rke2windows dump.
func TestRealCalicoSample(t *testing.T) {
	const name = "vfpctrl-list-rule__mrolmedo_rke2windows_ACL_ENDPOINT_LAYER.txt"
	l, err := ParseListing(name, bytes.NewReader(readReal(t, name)))
	if err != nil {
		t.Fatal(err)
	}
	if l.Port != "c9385412-bdef-49f5-88b0-c9d484ef6716" || l.Layer != "ACL_ENDPOINT_LAYER" {
		t.Errorf("command line: port %q layer %q", l.Port, l.Layer)
	}
	if len(l.Layers) != 1 || l.Layers[0].Name != "ACL_ENDPOINT_LAYER" || len(l.Layers[0].Groups) != 1 {
		t.Fatalf("got %d layers, want the ACL layer with one group", len(l.Layers))
	}
	g := l.Layers[0].Groups[0]
	if g.Name != "ACL_ENDPOINT_GROUP_IPV4_IN" || g.Direction != vfp.In || g.Priority != 1 || len(g.Rules) != 2 {
		t.Fatalf("group %s %v priority %d with %d rules", g.Name, g.Direction, g.Priority, len(g.Rules))
	}
	for i, want := range []struct {
		name, friendly string
		prio           uint32
		cond           string
	}{
		{"A2CFF68C-B5F4-4988-841F-0F6F77AF3D09", "allow-host-to-endpoint", 900, "src-ip=10.156.233.218"},
		{"0EE8DCA1-9AA8-417C-88E0-422CE9E52CBF", "profile-kns.rke2-tcp-reset-test--atbkwj8tPVFG3P1-0", 1000, ""},
	} {
		r := g.Rules[i]
		if r.Name != want.name || r.FriendlyName != want.friendly || r.Priority != want.prio || conditionsString(r.Conditions) != want.cond ||
			r.Flags() != 8195 || FlowTTL(r) != 240*time.Second || r.Action.Type != vfp.ActionAllow {
			t.Errorf("rule %d: got %s %q prio %d flags %d ttl %v %s %q", i, r.Name, r.FriendlyName, r.Priority, r.Flags(), FlowTTL(r), r.Action.Type, conditionsString(r.Conditions))
		}
		if len(r.Details) != 0 {
			t.Errorf("rule %d: details %q, want none (the \"(redacted)\" marker is a gap)", i, r.Details)
		}
	}
	if len(l.Gaps) != 1 || l.Gaps[0].Line != 43 || l.Gaps[0].Field != "(redacted)" {
		t.Errorf("gaps = %+v, want the (redacted) line 43", l.Gaps)
	}
}

// TestParseDumpUTF16 reads a dump as Windows PowerShell 5.1 writes it
// with ">" (UTF-16LE with a byte order mark, CRLF line ends).
func TestParseDumpUTF16(t *testing.T) {
	const name = "vfpctrl-list-rule__mrolmedo_rke2windows_ACL_ENDPOINT_LAYER.txt"
	text := strings.ReplaceAll(string(readReal(t, name)), "\n", "\r\n")
	u := utf16.Encode([]rune(text))
	for _, bom := range []bool{true, false} {
		b := []byte{}
		if bom {
			b = append(b, 0xFF, 0xFE)
		}
		for _, c := range u {
			b = binary.LittleEndian.AppendUint16(b, c)
		}
		d, err := ParseDump(name, b)
		if err != nil {
			t.Fatalf("bom %v: %v", bom, err)
		}
		if len(d.Ports) != 1 || d.Ports[0].Port != "c9385412-bdef-49f5-88b0-c9d484ef6716" || d.Ports[0].Listing == nil ||
			len(d.Ports[0].Listing.Layers) != 1 || len(d.Ports[0].Listing.Layers[0].Groups[0].Rules) != 2 {
			t.Errorf("bom %v: got %+v", bom, d.Ports)
		}
	}
}
