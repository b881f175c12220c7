package result

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	in := []*Packet{
		{Scenario: "s", Index: 1, In: "h/web", TimeNS: 5, Frame: Hex{1, 2}, Outcome: OutcomeDelivered,
			Outputs: []Output{{Port: "client", Kind: KindDelivered, Frame: Hex{3}}},
			Trace:   []Stage{{Component: "tcpip", Action: "route", After: &Headers{Src: "10.0.0.1", TTL: 63}}}},
		{Scenario: "s", Index: 2, In: "client", Outcome: OutcomeDropped, Drops: []Drop{{Component: "winnat", Reason: "winnat-no-mapping"}}},
	}
	var buf bytes.Buffer
	w := NewWriter(&buf)
	for _, p := range in {
		if err := w.Write(p); err != nil {
			t.Fatal(err)
		}
	}
	w.Flush()
	if !strings.Contains(buf.String(), `"frame":"0102"`) {
		t.Fatalf("frame not hex: %s", buf.String())
	}
	out, err := ReadAll(&buf, "r.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in, out) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", out, in)
	}
}

func TestReaderErrorNamesLine(t *testing.T) {
	_, err := ReadAll(strings.NewReader("{\"packet\":1,\"outcome\":\"dropped\"}\n\n{\"packet\":\"x\"}\n"), "r.jsonl")
	if err == nil || !strings.HasPrefix(err.Error(), "r.jsonl:3:") {
		t.Fatalf("err = %v, want r.jsonl:3: ...", err)
	}
}

// TestWriterHeader checks that the first line is the format header, also in a file
// without packets.
func TestWriterHeader(t *testing.T) {
	for _, n := range []int{0, 2} {
		var buf bytes.Buffer
		w := NewWriter(&buf)
		for i := range n {
			if err := w.Write(&Packet{Scenario: "s", Index: i + 1, Outcome: OutcomeConsumed}); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
		if want := `{"format":"hnspath-results","version":1}`; lines[0] != want {
			t.Errorf("%d packets: first line %q, want %q", n, lines[0], want)
		}
		if len(lines) != n+1 {
			t.Errorf("%d packets: got %d lines, want %d", n, len(lines), n+1)
		}
		out, err := ReadAll(&buf, "r.jsonl")
		if err != nil || len(out) != n {
			t.Errorf("%d packets: read back %d, %v", n, len(out), err)
		}
	}
}

// TestReaderRejects checks the errors of files this version must not read: another
// format version, a header in the middle, an unknown outcome. Each names the file, the
// line and the field.
func TestReaderRejects(t *testing.T) {
	const ok = `{"packet":1,"outcome":"delivered"}` + "\n"
	tests := []struct {
		name, in, want string
	}{
		{"newer version", `{"format":"hnspath-results","version":2}` + "\n" + ok,
			"r.jsonl:1: header: results format version 2, this hnspath reads version 1"},
		{"other format", `{"format":"pcap","version":1}` + "\n" + ok, `r.jsonl:1: header: format "pcap", want "hnspath-results"`},
		{"header after a record", ok + `{"format":"hnspath-results","version":1}` + "\n", "r.jsonl:2: header: a results header after the first record"},
		{"unknown outcome", `{"format":"hnspath-results","version":1}` + "\n" + `{"packet":1,"outcome":"exploded"}` + "\n",
			`r.jsonl:2: outcome: "exploded" is not one of delivered, dropped, consumed`},
		{"no outcome", `{"packet":1}` + "\n", `r.jsonl:1: outcome: "" is not one of`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadAll(strings.NewReader(tt.in), "r.jsonl")
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("got %v, want an error starting %q", err, tt.want)
			}
		})
	}
	// A file written before the header existed still reads.
	if ps, err := ReadAll(strings.NewReader(ok), "old.jsonl"); err != nil || len(ps) != 1 {
		t.Errorf("headerless file: got %d packets, %v; want 1, nil", len(ps), err)
	}
}
