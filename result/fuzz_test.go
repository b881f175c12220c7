package result

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzReader feeds arbitrary bytes to the results reader (header, version and outcome
// checks included): it never panics, every error names the file and a line, and what
// it accepts is written back and read again to the same packets.
func FuzzReader(f *testing.F) {
	for _, s := range []string{
		`{"format":"hnspath-results","version":1}` + "\n" + `{"scenario":"s","packet":1,"in":"a","frame":"0102","outcome":"delivered"}` + "\n",
		`{"format":"hnspath-results","version":2}` + "\n",
		`{"format":"pcap","version":1}` + "\n",
		`{"packet":1,"outcome":"delivered"}` + "\n" + `{"format":"hnspath-results","version":1}` + "\n",
		`{"packet":1,"outcome":"exploded"}` + "\n",
		`{"packet":1}` + "\n\n" + `{"packet":"x"}` + "\n",
		`{"format":1}`, "", "\n\n", "[1]\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ps, err := ReadAll(bytes.NewReader(data), "f.jsonl")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f.jsonl:") {
				t.Fatalf("error without the file and line: %v", err)
			}
			return
		}
		var buf bytes.Buffer
		w := NewWriter(&buf)
		for _, p := range ps {
			if !ValidOutcome(p.Outcome) || p.Index <= 0 {
				t.Fatalf("accepted packet %+v", p)
			}
			if err := w.Write(p); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		again, err := ReadAll(&buf, "again.jsonl")
		if err != nil || len(again) != len(ps) {
			t.Fatalf("written back: %d packets, %v; want %d", len(again), err, len(ps))
		}
	})
}
