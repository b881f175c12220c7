package vfpctrl

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// dumpSeeds are the real samples, our own output and a dumpVfpPolicies.ps1
// layout of two ports.
func dumpSeeds(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "real", "*.txt"))
	files = append(files, filepath.Join("testdata", "list-rule.golden"), filepath.Join("testdata", "list-rule-k8s-shapes.txt"))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("Port name   Mac Address       PortId\n---------   -----------       ------\nP1          00-15-5D-00-00-01 2\n\n" +
		"Policy for port : \nP1\n ITEM LIST\n===========\n\nCommand list-space succeeded!\n" +
		"  LAYER : L\n      Priority : 1\n  GROUP : G\n      Direction : OUT\n    RULE : r\n        Flags : 1 terminating\n        Type : allow\n        FlagsEx : 0\nCommand list-rule succeeded!\n" +
		"Policy for port : P2\n  LAYER : L\n    RULE : x\n        Matched packets : 3\nCommand get-rule-counter succeeded!\n"))
	f.Add([]byte("# vfpctrl /port host1/pod-a /list-rule\n  GROUP : G\n    RULE : r\n...\n(redacted)\n"))
}

// FuzzParseDump checks that ParseDump never panics, that every port it
// returns has a line inside the input, and that a listing it reads
// without errors or gaps prints and parses back.
func FuzzParseDump(f *testing.F) {
	dumpSeeds(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		d, err := ParseDump("fuzz", in)
		lines := strings.Count(string(in), "\n") + 1
		for _, p := range d.Ports {
			if p.Line < 1 || p.Line > lines {
				t.Fatalf("port %q at line %d of %d", p.Port, p.Line, lines)
			}
			if err != nil || p.Listing == nil || p.Listing.Partial() {
				continue
			}
			var b bytes.Buffer
			if err := FormatLayers(&b, p.Listing.Layers, Options{Explain: true}); err != nil {
				t.Fatal(err)
			}
			if _, err := ParseListRule(bytes.NewReader(b.Bytes())); err != nil {
				t.Fatalf("our own output does not parse: %v\n%s", err, b.String())
			}
		}
	})
}

// FuzzParseRecords checks that the record reader never panics and keeps
// every key it reports.
func FuzzParseRecords(f *testing.F) {
	dumpSeeds(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		recs, _ := ParseRecords("fuzz", bytes.NewReader(in), "Port name")
		for _, r := range recs {
			for _, k := range r.Keys {
				if _, ok := r.Values[k]; !ok {
					t.Fatalf("key %q without a value", k)
				}
			}
		}
		ParseSwitchPorts("fuzz", bytes.NewReader(in))
	})
}
