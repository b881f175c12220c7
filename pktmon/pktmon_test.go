package pktmon

import (
	"bufio"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestParseMeta checks the metadata lines of pktmon's format strings (FramePayload,
// FrameDropPayload) and the text output's header line.
func TestParseMeta(t *testing.T) {
	for _, tt := range []struct {
		name string
		in   string
		want Meta
		err  bool
	}{
		{"text header", "23:02:26.539704700 PktGroupId 562949953421500, PktNumber 1, Appearance 2, Direction Tx , Type Ethernet , Component 31, Edge 1, Filter 1, OriginalSize 66, LoggedSize 66",
			Meta{PktGroupID: 562949953421500, PktNumber: 1, Appearance: 2, Direction: "Tx", Type: "Ethernet", Component: 31, Edge: 1, Filter: 1, OriginalSize: 66, LoggedSize: 66, DropCode: -1}, false},
		{"drop", "Drop: PktGroupId 7, PktNumber 1, Appearance 3, Direction Rx, Type Ethernet, Component 19, Edge 1, Filter 0, DropReason Virtual Subnet ID does not match, DropLocation 0xE0004A0B, OriginalSize 98, LoggedSize 98",
			Meta{Drop: true, PktGroupID: 7, PktNumber: 1, Appearance: 3, Direction: "Rx", Type: "Ethernet", Component: 19, Edge: 1,
				DropReason: "Virtual Subnet ID does not match", DropCode: 20, DropLocation: "0xE0004A0B", OriginalSize: 98, LoggedSize: 98}, false},
		{"numeric drop reason", "Drop: PktGroupId 8, DropReason 23", Meta{Drop: true, PktGroupID: 8, DropReason: "23", DropCode: 23}, false},
		{"unknown keys", "PktGroupId 9, Colour blue", Meta{PktGroupID: 9, DropCode: -1}, false},
		{"not metadata", "hnspath: input packet 1", Meta{}, true},
		{"bad number", "PktGroupId 1, Component x", Meta{}, true},
		{"bad group", "PktGroupId -1", Meta{}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseMeta(tt.in)
			if (err != nil) != tt.err {
				t.Fatalf("got error %v, want error %v", err, tt.err)
			}
			if !tt.err && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// TestDropReasonsMatchSource checks the drop reason table against pktmon's own
// (PktMon_DropReason in Microsoft's NetMon parser, testdata/pktmon_dropreason.npl.txt).
func TestDropReasonsMatchSource(t *testing.T) {
	f, err := os.Open("testdata/pktmon_dropreason.npl.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	re := regexp.MustCompile(`case (\d+): "([^"]*)";`)
	want := map[int]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if m := re.FindStringSubmatch(sc.Text()); m != nil {
			n, _ := strconv.Atoi(m[1])
			want[n] = m[2]
		}
	}
	if len(want) < 40 {
		t.Fatalf("read %d reasons from the source, want the whole table", len(want))
	}
	if !reflect.DeepEqual(dropReasons, want) {
		t.Errorf("drop reasons differ from PktMon_DropReason:\ngot  %v\nwant %v", dropReasons, want)
	}
	for code, text := range want {
		if DropCode(text) != code || DropCode(strings.ToUpper(text)) != code || DropCode(strconv.Itoa(code)) != code || DropText(code) != text {
			t.Errorf("code %d %q does not round-trip", code, text)
		}
	}
	if DropCode("no such reason") != -1 || DropCode("999") != -1 {
		t.Errorf("unknown reasons: want -1")
	}
}

// TestParseComponents checks `pktmon list --json` in its nested and flat shapes.
func TestParseComponents(t *testing.T) {
	nested := `[{"Group":"vSwitch (nat)","Components":[{"Id":12,"Name":"web","Type":"VmsVmNic","Properties":[{"Name":"MAC Address","Value":"00-15-5D-AA-00-02"},{"Name":"ifIndex","Value":8}]}]}]`
	got, err := ParseComponents("list.json", []byte("\xef\xbb\xbf"+nested))
	if err != nil {
		t.Fatal(err)
	}
	want := []Component{{Group: "vSwitch (nat)", ID: 12, Name: "web", Type: "VmsVmNic", Properties: map[string]string{"MAC Address": "00-15-5D-AA-00-02", "ifIndex": "8"}}}
	if !reflect.DeepEqual(got, want) || got[0].MAC() != "00:15:5d:aa:00:02" {
		t.Errorf("nested: got %+v, want %+v", got, want)
	}
	flat, err := ParseComponents("list.json", []byte(`[{"Id":"3","Name":"Ethernet"}]`))
	if err != nil || len(flat) != 1 || flat[0].ID != 3 || flat[0].MAC() != "" {
		t.Errorf("flat: got %+v, %v", flat, err)
	}
	for _, bad := range []string{``, `{`, `[{"Id":"x"}]`, `[{"Components":[{"Id":[1]}]}]`} {
		if _, err := ParseComponents("bad.json", []byte(bad)); err == nil || !strings.Contains(err.Error(), "bad.json") {
			t.Errorf("ParseComponents(%q): got %v, want an error naming the file", bad, err)
		}
	}
}

// FuzzParseMeta checks that no input makes the metadata parser panic, and that what it
// accepts has a group id.
func FuzzParseMeta(f *testing.F) {
	for _, s := range []string{
		"23:02:26.539704700 PktGroupId 562949953421500, PktNumber 1, Appearance 2, Direction Tx , Type Ethernet , Component 31, Edge 1, Filter 1, OriginalSize 66, LoggedSize 66",
		"Drop: PktGroupId 7, DropReason MTU mismatch, DropLocation 0x1",
		"PktGroupId 1,,, Component 2",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseMeta(s)
		if err == nil && !strings.Contains(s, "PktGroupId") {
			t.Errorf("ParseMeta(%q) accepted a line without PktGroupId: %+v", s, m)
		}
	})
}

// FuzzParseComponents checks that no input makes the component parser panic.
func FuzzParseComponents(f *testing.F) {
	f.Add([]byte(`[{"Group":"g","Components":[{"Id":12,"Name":"web","Properties":[{"Name":"MAC Address","Value":"00-15-5D-AA-00-02"}]}]}]`))
	f.Add([]byte(`[{"Id":"3"}]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = ParseComponents("fuzz", b)
	})
}
