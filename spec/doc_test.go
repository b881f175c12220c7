package spec

import (
	"os"
	"strings"
	"testing"
)

// docBlocks returns the lines of every fenced block of docs/spec.md whose
// info string is lang, with the line number of each.
func docBlocks(t *testing.T, lang string) (lines []string, nums []int) {
	t.Helper()
	b, err := os.ReadFile("../docs/spec.md")
	if err != nil {
		t.Fatal(err)
	}
	in := false
	blocks := 0
	for i, l := range strings.Split(string(b), "\n") {
		switch {
		case !in && strings.TrimSpace(l) == "```"+lang:
			in = true
			blocks++
		case in && strings.TrimSpace(l) == "```":
			in = false
		case in && strings.TrimSpace(l) != "":
			lines = append(lines, l)
			nums = append(nums, i+1)
		}
	}
	if in {
		t.Fatalf("docs/spec.md: unterminated ```%s block", lang)
	}
	if blocks == 0 {
		t.Fatalf("docs/spec.md has no ```%s block", lang)
	}
	return lines, nums
}

// TestDocExamples parses every spec in docs/spec.md's ```spec blocks and
// checks that it prints back to a spec that parses to the same.
func TestDocExamples(t *testing.T) {
	lines, nums := docBlocks(t, "spec")
	for i, l := range lines {
		s, err := Parse(l)
		if err != nil {
			t.Errorf("docs/spec.md:%d: %q: %v", nums[i], l, err)
			continue
		}
		s2, err := Parse(s.String())
		if err != nil || s2.String() != s.String() {
			t.Errorf("docs/spec.md:%d: %q prints as %q, which parses to %v (%v)", nums[i], l, s, s2, err)
		}
	}
}

// TestDocErrors checks the ```spec-error blocks of docs/spec.md: pairs of
// lines, a spec and the start of the error Parse (or, for a spec that
// parses, Build) gives for it.
func TestDocErrors(t *testing.T) {
	lines, nums := docBlocks(t, "spec-error")
	if len(lines)%2 != 0 {
		t.Fatalf("docs/spec.md: spec-error blocks hold %d lines, want pairs", len(lines))
	}
	for i := 0; i < len(lines); i += 2 {
		in, want := lines[i], lines[i+1]
		s, err := Parse(in)
		if err == nil {
			_, err = Build(s, nil, BuildOptions{})
		}
		if err == nil {
			t.Errorf("docs/spec.md:%d: %q: no error, want %q", nums[i], in, want)
			continue
		}
		if !strings.HasPrefix(err.Error(), want) {
			t.Errorf("docs/spec.md:%d: %q:\n got  %q\n want %q...", nums[i+1], in, err, want)
		}
	}
}
