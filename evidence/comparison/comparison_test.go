package comparison

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

func sample() *Report {
	return &Report{Schema: Schema, Topology: "t.yaml", Captures: []string{"c.txt"}, Groups: 2, Agreed: 1, Parted: 1,
		Results: []*Group{
			{ID: 1, Source: "c.txt:5", Packet: 1, In: "host1/eth0", Verdict: Agree},
			{ID: 2, Source: "c.txt:9", Packet: 2, In: "host1/eth0", Verdict: Part, Partings: []Parting{{Kind: DroppedThereDeliveredHere, Where: "component 7",
				Text: "dropped", Real: &Drop{Where: "component 7", Code: 8, Text: "Filtered", Slug: "filtered"}}}},
		}}
}

// TestJSONRoundTrip: what WriteJSON writes, ReadJSON reads back the same;
// another schema is refused.
func TestJSONRoundTrip(t *testing.T) {
	var b bytes.Buffer
	if err := WriteJSON(&b, sample()); err != nil {
		t.Fatal(err)
	}
	got, err := ReadJSON(b.Bytes(), "e.json")
	if err != nil || !reflect.DeepEqual(got, sample()) {
		t.Errorf("round trip: %v\n%+v", err, got)
	}
	if _, err := ReadJSON([]byte(`{"schema":"other"}`), "e.json"); err == nil || !strings.Contains(err.Error(), "e.json") {
		t.Errorf("other schema: %v", err)
	}
}

// TestWriteText: only the parting group unless all; both reasons shown.
func TestWriteText(t *testing.T) {
	var b bytes.Buffer
	WriteText(&b, sample(), false)
	s := b.String()
	if !strings.Contains(s, "2 packet groups: 1 agree, 1 part") || strings.Contains(s, "PktGroupId 1 ") || !strings.Contains(s, `DropReason 8 "Filtered" = filtered at component 7`) {
		t.Errorf("text:\n%s", s)
	}
	b.Reset()
	WriteText(&b, sample(), true)
	if !strings.Contains(b.String(), "PktGroupId 1 (c.txt:5)") {
		t.Errorf("all:\n%s", b.String())
	}
}
