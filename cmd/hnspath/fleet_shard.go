package main

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/hnspath/hnspath/scenarios"
)

// shardOf keeps shard i of n (spec "i/n", 1-based) of scs: the scenarios
// sorted by name, dealt out in turn, so that n runs with 1/n .. n/n run
// every scenario exactly once, whatever order the files were given in
// (hnspath report merges their --json summaries). An empty spec keeps all.
func shardOf(scs []*scenarios.Scenario, spec string) ([]*scenarios.Scenario, error) {
	if spec == "" {
		return scs, nil
	}
	i, n, err := parseShard(spec)
	if err != nil {
		return nil, err
	}
	sorted := append([]*scenarios.Scenario(nil), scs...)
	sort.SliceStable(sorted, func(a, b int) bool { return sorted[a].Name < sorted[b].Name })
	var out []*scenarios.Scenario
	for k, sc := range sorted {
		if k%n == i-1 {
			out = append(out, sc)
		}
	}
	return out, nil
}

func parseShard(spec string) (i, n int, err error) {
	a, b, ok := strings.Cut(spec, "/")
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || n < 1 || i < 1 || i > n {
		return 0, 0, fmt.Errorf("--shard: want i/n with 1 <= i <= n, got %q", spec)
	}
	return i, n, nil
}
