package bench_test

import (
	"context"
	"fmt"
	"os"

	"github.com/hnspath/hnspath/bench"
	"github.com/hnspath/hnspath/bench/result"
)

// A processor that only counts bytes; a real workload runs the emulator's datapath.
type countBytes struct{ n int }

func (c *countBytes) Process(frames [][]byte) int {
	for _, f := range frames {
		c.n += len(f)
	}
	return len(frames)
}

// This is what `hnspath bench --baseline old.txt` does: run, write Go benchmark format,
// compare with the baseline, exit 1 on a significant regression beyond the threshold.
func ExampleRun() {
	w := bench.Define("Count", []bench.KV{{Key: "size", Value: "64"}}, func(context.Context) (*bench.Prepared, error) {
		frames := make([][]byte, 1024)
		for i := range frames {
			frames[i] = make([]byte, 64)
		}
		return &bench.Prepared{
			Frames:       frames, // every frame its own flow
			NewProcessor: func(shard, shards int) (bench.Processor, error) { return &countBytes{}, nil },
		}, nil
	})
	rep, err := bench.Run(context.Background(), []bench.Workload{w}, bench.Options{Quick: true, Progress: os.Stderr})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := result.WriteGoBench(os.Stdout, rep); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	old, err := os.Open("old.txt")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer old.Close()
	cmp, err := result.Compare(old, rep, result.CompareOptions{BaselineName: "old.txt"})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	result.WriteComparison(os.Stdout, cmp)
	if cmp.Regressed() {
		os.Exit(1)
	}
}
