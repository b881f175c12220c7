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
	_, err := ReadAll(strings.NewReader("{\"packet\":1}\n\n{\"packet\":\"x\"}\n"), "r.jsonl")
	if err == nil || !strings.HasPrefix(err.Error(), "r.jsonl:3:") {
		t.Fatalf("err = %v, want r.jsonl:3: ...", err)
	}
}
