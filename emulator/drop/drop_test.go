package drop

import (
	"os"
	"strings"
	"testing"
)

func TestTableComplete(t *testing.T) {
	seen := map[string]Reason{}
	for _, r := range All() {
		if r.Slug() == "" || r.Text() == "" || r.Layer() == LayerNone {
			t.Errorf("reason %d has no slug, text or layer", r)
		}
		if o, dup := seen[r.Slug()]; dup {
			t.Errorf("slug %q used by %d and %d", r.Slug(), o, r)
		}
		seen[r.Slug()] = r
		if got, ok := Parse(r.Slug()); !ok || got != r {
			t.Errorf("Parse(%q) = %v %v", r.Slug(), got, ok)
		}
	}
}

// TestPktmonTextsMatchSchema checks our pktmon codes and texts against the
// PktMon ETW schema saved from microsoft/NetMon_Parsers_for_PacketMon.
func TestPktmonTextsMatchSchema(t *testing.T) {
	data, err := os.ReadFile("testdata/pktmon_etw_schema__microsoft-NetMon_Parsers_for_PacketMon.npl.txt")
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	for _, r := range All() {
		if r.Layer() != LayerPktmon {
			continue
		}
		want := caseLine(r.Code(), r.Text())
		if !strings.Contains(s, want) {
			t.Errorf("pktmon schema has no %q", want)
		}
	}
}

// TestVFPTextsMatchSchema checks VFP drop codes and texts against the
// VfpExt ETW schema saved from microsoft/SDN.
func TestVFPTextsMatchSchema(t *testing.T) {
	data, err := os.ReadFile("testdata/vfpext_etw_schema__microsoft-SDN_etl_vfpext.npl.txt")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range All() {
		if r.Layer() != LayerVFP || r.Code() < 0 {
			continue
		}
		if want := caseLine(r.Code(), r.Text()); !strings.Contains(string(data), want) {
			t.Errorf("vfpext schema has no %q", want)
		}
	}
}

func caseLine(code int, text string) string {
	return "case " + itoa(code) + ": \"" + text + "\""
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}
