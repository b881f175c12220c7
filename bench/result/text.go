package result

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"

	"golang.org/x/perf/benchunit"
)

// WriteText writes a short human-readable summary of r: one line per benchmark with
// the median pkts/s and its confidence interval, ns/packet, allocs/packet, the ratio
// to the copy reference and, for stateful workloads, first-packet and cached cost and
// memory per flow; then the scaling with cores, the cost fits and the warnings.
//
//	benchmark                           pkts/s        ns/pkt  allocs/pkt  ×copy  first/cached ns  B/flow
//	NAT/mode=nat/flows=10000/size=64/…  12.3M ± 2%     81.2   0           3.91   840/95           312
//
// A "!" after the interval marks benchmarks with outlier trials in pkts/s.
func WriteText(w io.Writer, r *Report) error {
	var buf bytes.Buffer
	var cfg []string
	for _, kv := range r.Config {
		cfg = append(cfg, kv.Key+": "+kv.Value)
	}
	if len(cfg) > 0 {
		fmt.Fprintln(&buf, strings.Join(cfg, "  "))
	}
	fmt.Fprintf(&buf, "%d trials, median ± %.0f%% confidence interval\n\n", r.Options.Trials, 100*confidenceOr95(r.Options.Confidence))

	tw := tabwriter.NewWriter(&buf, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "benchmark\tpkts/s\tns/pkt\tallocs/pkt\t×copy\tfirst/cached ns\tB/flow")
	for _, b := range r.Benchmarks {
		pps := "-"
		if s, ok := b.Summary[UnitPacketsPerSec]; ok {
			pps = benchunit.Scale(s.Center, benchunit.Decimal) + " ± " + s.RangePercent()
			if len(s.Outliers) > 0 {
				pps += " !"
			}
		}
		first := "-"
		if f, ok := b.Summary[UnitFirstPacket]; ok {
			first = fmtNum(f.Center, 1)
			if c, ok := b.Summary[UnitCachedPacket]; ok {
				first += "/" + fmtNum(c.Center, 1)
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", b.FullName(), pps,
			center(b, UnitNsPerPacket, 1), center(b, UnitAllocsPerPacket, 3),
			center(b, UnitCopyRatio, 2), first, center(b, UnitBytesPerFlow, 0))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write bench text: %w", err)
	}

	for _, s := range r.Scaling {
		var parts []string
		for _, p := range s.Points {
			parts = append(parts, fmt.Sprintf("%d: %s pkts/s ×%.2f (%.0f%%)", p.Cores, benchunit.Scale(p.PacketsPerSec, benchunit.Decimal), p.Speedup, 100*p.Efficiency))
		}
		fmt.Fprintf(&buf, "\nscaling %s: %s", s.Group, strings.Join(parts, ", "))
		if s.Fit != nil {
			fmt.Fprintf(&buf, "; +%s pkts/s per core", benchunit.Scale(s.Fit.Slope, benchunit.Decimal))
		}
		buf.WriteByte('\n')
	}
	if len(r.Fits) > 0 {
		buf.WriteByte('\n')
	}
	for _, f := range r.Fits {
		l, isLog := f.Best()
		x := f.Key
		if isLog {
			x = "log10(" + f.Key + ")"
		}
		fmt.Fprintf(&buf, "cost %s: ns/pkt = %s %+.4g·%s (R² %s, %d points)\n", f.Group, fmtNum(l.Intercept, 1), l.Slope, x, fmtNum(l.R2, 3), l.N)
	}
	if len(r.Warnings) > 0 {
		buf.WriteByte('\n')
	}
	for _, wn := range r.Warnings {
		fmt.Fprintf(&buf, "warning: %s\n", wn)
	}
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("write bench text: %w", err)
	}
	return nil
}

func confidenceOr95(c float64) float64 {
	if c == 0 {
		return 0.95
	}
	return c
}

func center(b *Benchmark, unit string, prec int) string {
	s, ok := b.Summary[unit]
	if !ok {
		return "-"
	}
	return fmtNum(s.Center, prec)
}

func fmtNum(v float64, prec int) string {
	if math.IsNaN(v) {
		return "?"
	}
	return strconv.FormatFloat(v, 'f', prec, 64)
}
