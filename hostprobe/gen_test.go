package hostprobe

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hnspath/hnspath/scenarios"
)

// TestGenerateDeterministic: the same mode, seed and index give the same scenario file;
// another seed gives other scenarios.
func TestGenerateDeterministic(t *testing.T) {
	for _, mode := range GenModes {
		differs := 0
		for i := 0; i < 20; i++ {
			a, err := Generate(mode, 7, i)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := Generate(mode, 7, i)
			c, _ := Generate(mode, 8, i)
			ya, err := a.YAML()
			if err != nil {
				t.Fatal(err)
			}
			yb, _ := b.YAML()
			yc, _ := c.YAML()
			if !bytes.Equal(ya, yb) {
				t.Fatalf("%s seed 7 #%d: two generations differ:\n%s\n---\n%s", mode, i, ya, yb)
			}
			if !bytes.Equal(bytes.ReplaceAll(ya, []byte("s7-"), nil), bytes.ReplaceAll(yc, []byte("s8-"), nil)) {
				differs++
			}
		}
		if differs < 15 {
			t.Errorf("%s: seeds 7 and 8 gave %d of 20 different scenarios", mode, differs)
		}
	}
	if _, err := Generate("l2tunnel", 1, 0); err == nil {
		t.Error("Generate accepted a mode it has no profile for")
	}
}

// TestGenerateValid: every generated scenario loads under the rules of `hnspath validate`
// (scenarios.Parse: ports, specs, bindings, times) and runs on the emulator without error;
// and a batch covers what differential testing promises (docs/differential.md).
func TestGenerateValid(t *testing.T) {
	n := 150
	if testing.Short() {
		n = 40
	}
	for _, mode := range GenModes {
		var all strings.Builder
		for i := 0; i < n; i++ {
			gs, err := Generate(mode, 1, i)
			if err != nil {
				t.Fatal(err)
			}
			data, err := gs.YAML()
			if err != nil {
				t.Fatal(err)
			}
			sc, err := scenarios.Parse(gs.Name+".yaml", data)
			if err != nil {
				t.Fatalf("%s does not validate: %v\n%s", gs.Name, err, data)
			}
			rep := scenarios.Run(sc, scenarios.Options{})
			if rep.Err != nil {
				// A reply through a binding needs the emulator to forward what it
				// answers; the probe then runs the scenario without its replies.
				if !strings.Contains(rep.Err.Error(), "is not bound") {
					t.Fatalf("%s: emulator: %v\n%s", gs.Name, rep.Err, data)
				}
				sc2, err := scenarios.Parse(gs.Name+".yaml", mustYAML(t, gs.WithoutReplies()))
				if err != nil {
					t.Fatalf("%s without replies does not validate: %v", gs.Name, err)
				}
				if rep := scenarios.Run(sc2, scenarios.Options{}); rep.Err != nil {
					t.Fatalf("%s without replies: emulator: %v", gs.Name, rep.Err)
				}
			}
			all.Write(data)
		}
		text := all.String()
		want := []string{"flags=S", "flags=SA", "flags=R", "udp(", "echo-request", "echo-reply", "dest-unreach", "time-exceeded",
			"ttl=1", "ttl=255", "flags=DF", "flags=MF", "frag=125", "dport=65535", "+31s", "+121s", "+1801s"}
		if !strings.Contains(text, "ttl=2,") && !strings.Contains(text, "ttl=2)") {
			t.Errorf("%s: %d generated scenarios never have TTL 2", mode, n)
		}
		switch mode {
		case "nat":
			want = append(want, "$b1", "hairpin", "at: host1/host", "container-to-container", "dport=8082", "raw(len=1472)", "raw(len=1373)")
		case "l2bridge":
			want = append(want, "$b1", "cross-host", "clusterip", "nodeport")
		case "overlay":
			want = append(want, "$b1", "pod-to-pod", "raw(len=1423)")
		}
		for _, w := range want {
			if !strings.Contains(text, w) {
				t.Errorf("%s: %d generated scenarios never have %q", mode, n, w)
			}
		}
	}
}

func mustYAML(t *testing.T, gs *GenScenario) []byte {
	t.Helper()
	b, err := gs.YAML()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func pktOf(at, gap string, layers ...GenLayer) GenPacket {
	return GenPacket{At: at, Gap: gap, Layers: layers}
}

func ly(name string, kv ...string) GenLayer {
	l := GenLayer{Name: name}
	for i := 0; i+1 < len(kv); i += 2 {
		l.Fields = append(l.Fields, GenField{kv[i], kv[i+1]})
	}
	return l
}

// TestShrink: with a fake runner (a predicate, no datapath), shrinking reduces a
// scenario to the one packet and the fields that cause the failure.
func TestShrink(t *testing.T) {
	var pkts []GenPacket
	for i := 0; i < 12; i++ {
		pkts = append(pkts, pktOf("host1/web", "+1s", ly("ipv4", "dst", "198.18.0.10", "ttl", "64"), ly("tcp", "sport", "4000", "dport", "80", "flags", "S")))
	}
	// The cause: a TTL-1 UDP datagram to port 53, whatever its other fields.
	pkts[7] = pktOf("host1/web2", "+121s", ly("ipv4", "dst", "198.18.0.10", "ttl", "1", "flags", "DF"),
		ly("udp", "sport", "5000", "dport", "53"), ly("raw", "len", "100"))
	s := &GenScenario{Name: "x", Mode: "nat", Topology: "topologies/nat.yaml", Packets: pkts}
	cause := func(c *GenScenario) bool {
		for _, p := range c.Packets {
			spec := Spec(p.Layers)
			if strings.Contains(spec, "ttl=1") && strings.Contains(spec, "udp(") && strings.Contains(spec, "dport=53") {
				return true
			}
		}
		return false
	}
	small, calls := Shrink(context.Background(), s, 0, cause)
	if len(small.Packets) != 1 {
		t.Fatalf("shrunk to %d packets, want 1: %+v", len(small.Packets), small.Packets)
	}
	p := small.Packets[0]
	if got, want := Spec(p.Layers), "ipv4(ttl=1) / udp(dport=53)"; got != want || p.Gap != "" || p.At != "host1/web2" {
		t.Errorf("shrunk to %s %q %q, want host1/web2 %q without a gap (%d calls)", p.At, p.Gap, got, want, calls)
	}
	if calls > 60 {
		t.Errorf("%d predicate calls for 12 packets", calls)
	}
	// A budget stops the shrinking but still returns a failing scenario.
	small, calls = Shrink(context.Background(), s, 3, cause)
	if calls > 3 || !cause(small) {
		t.Errorf("budget 3: %d calls, result fails=%v", calls, cause(small))
	}
}

// TestShrinkKeepsBindings: a reply through a binding keeps the packet that binds it (and
// its expectation); a binder nobody needs loses its expectation.
func TestShrinkKeepsBindings(t *testing.T) {
	out := pktOf("host1/web", "", ly("ipv4", "dst", "198.18.0.10"), ly("udp", "sport", "4000", "dport", "9"))
	out.Binds = &GenExpect{At: "server", Layers: []GenLayer{ly("ipv4", "src", "10.0.0.4"), ly("udp", "sport", "$b1", "dport", "9")}}
	reply := pktOf("server", "+31s", ly("ipv4", "dst", "10.0.0.4", "ttl", "64"), ly("udp", "sport", "9", "dport", "$b1"))
	noise := pktOf("client", "", ly("ipv4", "dst", "10.0.0.4"), ly("tcp", "dport", "1"))
	s := &GenScenario{Name: "x", Mode: "nat", Topology: "topologies/nat.yaml", Packets: []GenPacket{noise, out, noise, reply, noise}}
	cause := func(c *GenScenario) bool {
		for _, p := range c.Packets {
			if strings.Contains(Spec(p.Layers), "dport=$b1") {
				return true
			}
		}
		return false
	}
	small, _ := Shrink(context.Background(), s, 0, cause)
	if len(small.Packets) != 2 || small.Packets[0].Binds == nil || small.Packets[1].At != "server" {
		t.Fatalf("shrunk to %+v, want the binder and the reply", small.Packets)
	}
	if got := Spec(small.Packets[1].Layers); got != "ipv4() / udp(dport=$b1)" {
		t.Errorf("reply shrunk to %q", got)
	}
	// The shrunk scenario is still a valid scenario file.
	if _, err := scenarios.Parse("x.yaml", mustYAML(t, small)); err != nil {
		t.Errorf("shrunk scenario does not validate: %v\n%s", err, mustYAML(t, small))
	}
	nb := withoutUnbound([]GenPacket{out, noise})
	if nb[0].Binds != nil {
		t.Error("a binder whose binding no packet uses kept its expectation")
	}
}

func TestDiffClass(t *testing.T) {
	c := &Comparison{Packets: []PacketComparison{
		{Diffs: []Difference{{What: "field", Kind: "delivered", Field: "ipv4.ttl", A: "63", B: "64", Known: "x"}}},
		{Diffs: []Difference{{What: "outcome", A: "delivered", B: "dropped (linux-no-listener)"}, {What: "field", Port: "p", Kind: "wire-tx", Field: "ipv4.src", A: "1", B: "2"}}},
		{Diffs: []Difference{{What: "outcome", A: "delivered", B: "dropped (linux-no-listener)"}}},
	}}
	got := strings.Join(UndocumentedClasses(c), "|")
	if want := "outcome delivered vs dropped (linux-no-listener)|field wire-tx ipv4.src"; got != want {
		t.Errorf("classes %q, want %q", got, want)
	}
}

// TestFindingsValidate: the shrunk findings kept in testdata/findings are scenarios that
// load under `hnspath validate` rules and run on the emulator; README.md lists each one.
func TestFindingsValidate(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "findings", "*.yaml"))
	if len(files) == 0 {
		t.Fatal("no findings")
	}
	readme, err := os.ReadFile(filepath.Join("testdata", "findings", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		sc, err := scenarios.Load(f)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		if rep := scenarios.Run(sc, scenarios.Options{}); rep.Err != nil {
			t.Errorf("%s: %v", f, rep.Err)
		}
		if !bytes.Contains(readme, []byte("`"+filepath.Base(f)+"`")) {
			t.Errorf("README.md does not list %s", filepath.Base(f))
		}
	}
}
