// Package suggest finds the known name closest to a mistyped one, for
// "did you mean" hints in error messages ("unknown field \"dprot\" (did you
// mean \"dport\"?)").
//
// Closeness is the optimal string alignment distance (Levenshtein with
// adjacent transpositions, so "tll" is one edit from "ttl"), compared case
// insensitively. A name is suggested only when it is close enough to be a
// typo: at most 1 edit for names up to 4 characters, 2 up to 8, 3 beyond.
// Inputs are bounded: names longer than MaxLen are never matched, so the
// work is at most MaxLen² per candidate.
package suggest

import (
	"fmt"
	"strings"
)

// MaxLen is the longest name Closest compares.
const MaxLen = 64

// Closest returns the candidate closest to name, and false when none is
// close enough to be a typo of it (or name is itself a candidate). Ties go
// to the earliest candidate.
func Closest(name string, candidates []string) (string, bool) {
	if len(name) == 0 || len(name) > MaxLen {
		return "", false
	}
	lname := strings.ToLower(name)
	best, bestD := "", -1
	for _, c := range candidates {
		if c == name || len(c) > MaxLen {
			if c == name {
				return "", false
			}
			continue
		}
		d := Distance(lname, strings.ToLower(c))
		if d <= limit(len(name)) && (bestD < 0 || d < bestD) {
			best, bestD = c, d
		}
	}
	return best, bestD >= 0
}

// limit is the largest distance that still looks like a typo of a name of
// n bytes.
func limit(n int) int {
	switch {
	case n <= 4:
		return 1
	case n <= 8:
		return 2
	}
	return 3
}

// Hint returns " (did you mean \"x\"?)" for the closest candidate, or "".
func Hint(name string, candidates []string) string {
	if c, ok := Closest(name, candidates); ok {
		return fmt.Sprintf(" (did you mean %q?)", c)
	}
	return ""
}

// Distance returns the optimal string alignment distance between a and b,
// in bytes: insertions, deletions, substitutions and transpositions of
// adjacent bytes, each costing 1.
func Distance(a, b string) int {
	if len(a) == 0 {
		return len(b)
	}
	if len(b) == 0 {
		return len(a)
	}
	// Three rows of the dynamic programming table: i-2, i-1 and i.
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}

// Mean returns "did you mean \"x\"? " for the closest candidate, or "": the
// start of a parenthesis that goes on with the known names, as in
// `unknown key "pakcets" (did you mean "packets"? known: name, packets)`.
func Mean(name string, candidates []string) string {
	if c, ok := Closest(name, candidates); ok {
		return fmt.Sprintf("did you mean %q? ", c)
	}
	return ""
}

// Split splits a list joined with ", " (as error messages print known
// names) for Closest.
func Split(joined string) []string { return strings.Split(joined, ", ") }
