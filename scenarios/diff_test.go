package scenarios

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hnspath/hnspath/result"
	"github.com/hnspath/hnspath/spec"
)

func frame(t *testing.T, s string) result.Hex {
	t.Helper()
	fs, err := spec.Build(spec.MustParse(s), nil, spec.BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return fs[0]
}

// natResults are the results of a container's DNS query and its answer,
// as a backend that picked external port ext would report them.
func natResults(t *testing.T, ext1, ext2, ttl string) []*result.Packet {
	const macs = "ether(src=00:15:5d:aa:00:02, dst=00:15:5d:00:00:01)"
	return []*result.Packet{
		{Scenario: "s", Index: 1, In: "host1/web", Outcome: result.OutcomeDelivered,
			Frame: frame(t, macs+" / ipv4(src=172.16.0.2, dst=198.18.0.10) / udp(sport=40000, dport=53)"),
			Outputs: []result.Output{{Port: "server", Kind: result.KindDelivered,
				Frame: frame(t, "ether(src=02:00:00:00:00:01, dst=02:00:00:00:01:10) / ipv4(src=10.0.0.4, dst=198.18.0.10, ttl="+ttl+") / udp(sport="+ext1+", dport=53)")}}},
		{Scenario: "s", Index: 2, In: "server", Outcome: result.OutcomeDelivered,
			Frame: frame(t, "ether(src=02:00:00:00:01:10, dst=02:00:00:00:00:01) / ipv4(src=198.18.0.10, dst=10.0.0.4) / udp(sport=53, dport="+ext2+")"),
			Outputs: []result.Output{{Port: "host1/web", Kind: result.KindDelivered,
				Frame: frame(t, "ether(src=00:15:5d:00:00:01, dst=00:15:5d:aa:00:02) / ipv4(src=198.18.0.10, dst=172.16.0.2, ttl=62) / udp(sport=53, dport=40000)")}}},
	}
}

func TestDiff(t *testing.T) {
	base := func() []*result.Packet { return natResults(t, "49152", "49152", "62") }
	tests := []struct {
		name  string
		b     []*result.Packet
		opts  DiffOptions
		equal bool
		want  []string // in the report text
	}{
		{"same", base(), DiffOptions{}, true, []string{"2 packets compared: no differences"}},
		{"other NAT port, consistently", natResults(t, "1024", "1024", "62"), DiffOptions{}, true, []string{"port 49152 <-> 1024"}},
		{"other NAT port, strict", natResults(t, "1024", "1024", "62"), DiffOptions{Strict: true}, false, []string{"packet 1: delivered at server: udp.sport: 49152 vs 1024"}},
		{"other NAT port, inconsistently", natResults(t, "1024", "1025", "62"), DiffOptions{}, false,
			[]string{"packet 1: delivered at server: udp.sport: 49152 (not one-to-one) vs 1024", "packet 2: input: udp.dport: 49152 (not one-to-one) vs 1025"}},
		{"ttl", natResults(t, "49152", "49152", "63"), DiffOptions{}, false, []string{"packet 1: delivered at server: ipv4.ttl: 62 vs 63", "1 differ"}},
		{"ttl ignored", natResults(t, "49152", "49152", "63"), DiffOptions{Ignore: []string{"ipv4.ttl"}}, true, nil},
		{"dropped instead", func() []*result.Packet {
			b := base()
			b[1].Outputs = nil
			b[1].Outcome = result.OutcomeDropped
			b[1].Drops = []result.Drop{{Component: "winnat", Reason: "winnat-no-mapping"}}
			return b
		}(), DiffOptions{}, false, []string{"packet 2: outcome: delivered vs dropped", "packet 2: delivered at host1/web: 1 frames vs 0", "packet 2: drops: (none) vs winnat-no-mapping (winnat)"}},
		{"missing packet", base()[:1], DiffOptions{}, false, []string{"only in A: packets 2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := Diff(base(), tt.b, tt.opts)
			var sb strings.Builder
			rep.Write(&sb, "A", "B")
			if rep.Equal() != tt.equal {
				t.Fatalf("equal = %v, want %v:\n%s", rep.Equal(), tt.equal, sb.String())
			}
			for _, w := range tt.want {
				if !strings.Contains(sb.String(), w) {
					t.Errorf("report lacks %q:\n%s", w, sb.String())
				}
			}
		})
	}
}

// TestDiffFiles checks that DiffFiles reads results files as Diff compares
// them in memory.
func TestDiffFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, ps []*result.Packet) string {
		p := filepath.Join(dir, name)
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		w := result.NewWriter(f)
		for _, x := range ps {
			w.Write(x)
		}
		w.Flush()
		f.Close()
		return p
	}
	a := write("a.jsonl", natResults(t, "49152", "49152", "62"))
	b := write("b.jsonl", natResults(t, "1024", "1025", "62"))
	rep, err := DiffFiles(a, b, DiffOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Equal() || rep.Compared != 2 || len(rep.Differ) != 2 {
		t.Errorf("equal %v, compared %d, differ %d; want false, 2, 2", rep.Equal(), rep.Compared, len(rep.Differ))
	}
	c := write("c.jsonl", natResults(t, "1024", "1024", "62"))
	if rep, err := DiffFiles(a, c, DiffOptions{}); err != nil || !rep.Equal() {
		t.Errorf("consistent mapping: equal %v, err %v; want equal", rep.Equal(), err)
	}
}

// outResult is one container's datagram from sport to peer:53, leaving with
// external port ext, at time ns.
func outResult(t *testing.T, index int, container string, peer, ext string, ns int64) *result.Packet {
	return &result.Packet{Scenario: "s", Index: index, In: "host1/web", Outcome: result.OutcomeDelivered, TimeNS: ns,
		Frame: frame(t, "ether(src=00:15:5d:aa:00:02, dst=00:15:5d:00:00:01) / ipv4(src="+container+", dst="+peer+") / udp(sport=40000, dport=53)"),
		Outputs: []result.Output{{Port: "server", Kind: result.KindDelivered,
			Frame: frame(t, "ether(src=02:00:00:00:00:01, dst=02:00:00:00:01:10) / ipv4(src=10.0.0.4, dst="+peer+", ttl=62) / udp(sport="+ext+", dport=53)")}}}
}

// TestDiffNATMappingScope checks that diff judges NAT mappings as the probe's
// comparer does (hostprobe bindings): one-to-one per remote end and period of
// use, so one port of A toward two peers may be two ports of B, and a port
// reused after a long pause may map anew; a second pairing toward the same
// peer while in use is still a difference.
func TestDiffNATMappingScope(t *testing.T) {
	const s = int64(1e9)
	tests := []struct {
		name  string
		a, b  []*result.Packet
		equal bool
	}{
		{"one port of A toward two peers",
			[]*result.Packet{outResult(t, 1, "172.16.0.2", "198.18.0.10", "49152", 0), outResult(t, 2, "172.16.0.3", "198.18.0.11", "49152", s)},
			[]*result.Packet{outResult(t, 1, "172.16.0.2", "198.18.0.10", "40000", 0), outResult(t, 2, "172.16.0.3", "198.18.0.11", "40001", s)}, true},
		{"reused after a pause",
			[]*result.Packet{outResult(t, 1, "172.16.0.2", "198.18.0.10", "49152", 0), outResult(t, 2, "172.16.0.3", "198.18.0.10", "49152", 200*s)},
			[]*result.Packet{outResult(t, 1, "172.16.0.2", "198.18.0.10", "40000", 0), outResult(t, 2, "172.16.0.3", "198.18.0.10", "40001", 200*s)}, true},
		{"two pairings toward one peer in use",
			[]*result.Packet{outResult(t, 1, "172.16.0.2", "198.18.0.10", "49152", 0), outResult(t, 2, "172.16.0.3", "198.18.0.10", "49152", s)},
			[]*result.Packet{outResult(t, 1, "172.16.0.2", "198.18.0.10", "40000", 0), outResult(t, 2, "172.16.0.3", "198.18.0.10", "40001", s)}, false},
	}
	for _, tt := range tests {
		rep := Diff(tt.a, tt.b, DiffOptions{})
		if rep.Equal() != tt.equal {
			t.Errorf("%s: equal=%v (%v), want %v", tt.name, rep.Equal(), rep.Differ, tt.equal)
		}
	}
}
