package reports

import (
	"bytes"
	"encoding/xml"
	"strings"
	"testing"

	cmp "github.com/hnspath/hnspath/evidence/comparison"
)

// TestWriteEvidence renders a comparison in every format: each names the
// parting group's component and reasons; JUnit counts it as a failure and
// a group not replayed as skipped.
func TestWriteEvidence(t *testing.T) {
	r := &cmp.Report{Schema: cmp.Schema, Topology: "t.yaml", Captures: []string{"c.txt"}, Groups: 3, Agreed: 1, Parted: 1, NotReplayed: 1,
		Results: []*cmp.Group{
			{ID: 1, Source: "c.txt:5", Verdict: cmp.Agree, Real: cmp.Side{Outcome: "delivered"}, Model: cmp.Side{Outcome: "delivered"}},
			{ID: 2, Source: "c.txt:9", Verdict: cmp.Part, Real: cmp.Side{Outcome: "dropped", Drop: &cmp.Drop{Where: "component 7 (vmswitch.sys)", Code: 8, Text: "Filtered", Slug: "filtered"}},
				Partings: []cmp.Parting{{Kind: cmp.DroppedThereDeliveredHere, Where: "component 7 (vmswitch.sys)", Text: "the real host dropped it <here>",
					Real: &cmp.Drop{Where: "component 7 (vmswitch.sys)", Code: 8, Text: "Filtered", Slug: "filtered"}}}},
			{ID: 3, Source: "c.txt:12", Verdict: cmp.NotReplayed, Notes: []string{"maps to no port"}},
		}}
	for _, f := range EvidenceFormats {
		var b bytes.Buffer
		if err := WriteEvidence(&b, f, r, false); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		s := b.String()
		if !strings.Contains(s, "vmswitch.sys") || !strings.Contains(s, "Filtered") {
			t.Errorf("%s lacks the component or the reason:\n%s", f, s)
		}
		switch f {
		case "html":
			if strings.Contains(s, "<here>") || !strings.Contains(s, "&lt;here&gt;") {
				t.Errorf("html: text not escaped")
			}
		case "junit":
			var j JUnitSuites
			if err := xml.Unmarshal(b.Bytes(), &j); err != nil || j.Tests != 3 || j.Failures != 1 || j.Skipped != 1 {
				t.Errorf("junit: %+v %v", j, err)
			}
		}
	}
	if err := WriteEvidence(&bytes.Buffer{}, "pdf", r, false); err == nil {
		t.Error("unknown format accepted")
	}
}
