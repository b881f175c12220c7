package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"github.com/hnspath/hnspath/internal/input"
)

// byteSize is a size flag: bytes, or a number with a binary suffix (K, M,
// G, optionally followed by "iB" or "B": 64M, 64MiB, 1GB all mean powers
// of 1024).
type byteSize int64

func (b *byteSize) String() string {
	v := int64(*b)
	for _, u := range []struct {
		suffix string
		shift  uint
	}{{"GiB", 30}, {"MiB", 20}, {"KiB", 10}} {
		if v != 0 && v%(1<<u.shift) == 0 {
			return strconv.FormatInt(v>>u.shift, 10) + u.suffix
		}
	}
	return strconv.FormatInt(v, 10)
}

func (b *byteSize) Set(s string) error {
	t := strings.TrimSpace(s)
	u := strings.ToUpper(t)
	u = strings.TrimSuffix(strings.TrimSuffix(u, "IB"), "B")
	shift := uint(0)
	switch {
	case strings.HasSuffix(u, "K"):
		shift = 10
	case strings.HasSuffix(u, "M"):
		shift = 20
	case strings.HasSuffix(u, "G"):
		shift = 30
	}
	if shift > 0 {
		u = u[:len(u)-1]
	}
	v, err := strconv.ParseInt(u, 10, 64)
	if err != nil || v <= 0 || v > (1<<62)>>shift {
		return fmt.Errorf("%q is not a positive size (bytes, or with K, M, G: 64MiB)", s)
	}
	*b = byteSize(v << shift)
	return nil
}

func (b *byteSize) Type() string { return "size" }

// addMaxInput adds --max-input, the size limit of every input file the
// command reads (topologies, scenarios, workloads, flows, results), to fs.
func addMaxInput(fs *pflag.FlagSet) {
	v := byteSize(input.DefaultLimit)
	fs.Var(&v, "max-input", "refuse an input file (topology, scenario, workload, results...) larger than `size`")
}

// applyMaxInput sets input.Limit from fs's --max-input (its default when
// not given), so that each command starts from its own flags.
func applyMaxInput(fs *pflag.FlagSet) {
	if f := fs.Lookup("max-input"); f != nil {
		if v, ok := f.Value.(*byteSize); ok {
			input.Limit = int64(*v)
		}
	}
}
