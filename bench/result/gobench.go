package result

import (
	"bytes"
	"fmt"
	"io"
	"strings"

	"golang.org/x/perf/benchfmt"
)

// WriteGoBench writes r in the Go benchmark format
// (https://go.googlesource.com/proposal/+/master/design/14313-benchmark-format.md), which
// benchstat and benchfmt.Reader read:
//
//	goos: linux
//	goarch: amd64
//	pkg: github.com/hnspath/hnspath/bench
//	cpu: Intel(R) Xeon(R) ...
//	commit: 0123abcd
//	Unit pkts/s better=higher
//	...
//
//	BenchmarkNAT/mode=nat/flows=10000/size=64/cores=1 2500000 81.2 ns/op 1.23e+07 pkts/s ...
//
// The configuration lines come first, then a "Unit" line for every unit in use whose
// direction benchfmt does not know, then one line per trial. The iteration count is the
// number of packets of the trial's steady-state phase, so "/op" means per packet.
// Trials without any finite value are skipped. Configuration keys must suit benchfmt
// (lower-case first letter, no spaces or upper-case letters) and values must be one line.
func WriteGoBench(w io.Writer, r *Report) error {
	var buf bytes.Buffer
	if err := ValidateConfig(r.Config); err != nil {
		return fmt.Errorf("write go bench: %w", err)
	}
	for _, kv := range r.Config {
		fmt.Fprintf(&buf, "%s: %s\n", kv.Key, kv.Value)
	}
	used := map[string]bool{}
	for _, b := range r.Benchmarks {
		for i := range b.Trials {
			for _, u := range Units {
				if _, ok := b.Trials[i].Value(u.Name); ok {
					used[u.Name] = true
				}
			}
		}
	}
	bw := benchfmt.NewWriter(&buf)
	for _, u := range Units {
		if !u.Declare || !used[u.Name] {
			continue
		}
		better := "higher"
		if u.Better < 0 {
			better = "lower"
		}
		md := &benchfmt.UnitMetadata{UnitMetadataKey: benchfmt.UnitMetadataKey{Unit: u.Name, Key: "better"}, OrigUnit: u.Name, Value: better}
		if err := bw.Write(md); err != nil {
			return fmt.Errorf("write go bench: %w", err)
		}
	}
	buf.WriteByte('\n')
	res := &benchfmt.Result{}
	for _, b := range r.Benchmarks {
		if err := ValidateName(b.Name, b.Keys); err != nil {
			return fmt.Errorf("write go bench: %w", err)
		}
		name := b.FullName()
		for i := range b.Trials {
			t := &b.Trials[i]
			res.Name = benchfmt.Name(name)
			res.Iters = int(t.Packets)
			res.Values = res.Values[:0]
			for _, u := range Units {
				if v, ok := t.Value(u.Name); ok {
					res.Values = append(res.Values, benchfmt.Value{Value: v, Unit: u.Name})
				}
			}
			if len(res.Values) == 0 {
				continue
			}
			if err := bw.Write(res); err != nil {
				return fmt.Errorf("write go bench: %w", err)
			}
		}
	}
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("write go bench: %w", err)
	}
	return nil
}

// configKeyOK reports whether k can be a file configuration key: benchfmt reads a line
// as "key: value" only when the key starts with a lower-case letter and has no space
// or upper-case letter (benchfmt/reader.go parseKeyValueLine).
func configKeyOK(k string) bool {
	if k == "" || k[0] < 'a' || k[0] > 'z' {
		return false
	}
	return !strings.ContainsAny(k, " \t\r\n:") && strings.ToLower(k) == k
}
