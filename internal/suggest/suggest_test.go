package suggest

import "testing"

// naive is the textbook recursive definition of the optimal string
// alignment distance: the oracle for Distance.
func naive(a, b string) int {
	if a == "" {
		return len(b)
	}
	if b == "" {
		return len(a)
	}
	cost := 1
	if a[len(a)-1] == b[len(b)-1] {
		cost = 0
	}
	d := min(naive(a[:len(a)-1], b)+1, naive(a, b[:len(b)-1])+1, naive(a[:len(a)-1], b[:len(b)-1])+cost)
	if len(a) > 1 && len(b) > 1 && a[len(a)-1] == b[len(b)-2] && a[len(a)-2] == b[len(b)-1] {
		d = min(d, naive(a[:len(a)-2], b[:len(b)-2])+1)
	}
	return d
}

func TestDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"", "abc", 3}, {"abc", "", 3},
		{"dprot", "dport", 1}, {"tll", "ttl", 1}, {"kitten", "sitting", 3},
		{"ca", "abc", 3}, // OSA, not Damerau: no edit of a transposed pair
		{"packets", "packet", 1}, {"topolgy", "topology", 1},
	}
	for _, tt := range tests {
		if got := Distance(tt.a, tt.b); got != tt.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
		if n := naive(tt.a, tt.b); n != tt.want {
			t.Errorf("oracle(%q, %q) = %d, want %d", tt.a, tt.b, n, tt.want)
		}
	}
	words := []string{"", "a", "ab", "ba", "abc", "acb", "bca", "dport", "sport", "ttl", "tll", "expect", "except"}
	for _, a := range words {
		for _, b := range words {
			if got, want := Distance(a, b), naive(a, b); got != want {
				t.Errorf("Distance(%q, %q) = %d, oracle %d", a, b, got, want)
			}
		}
	}
}

func TestClosest(t *testing.T) {
	fields := []string{"src", "dst", "sport", "dport", "ttl", "flags", "chksum"}
	tests := []struct {
		name  string
		cands []string
		want  string
		ok    bool
	}{
		{"dprot", fields, "dport", true},
		{"tll", fields, "ttl", true},
		{"DPORT", fields, "dport", true},
		{"flag", fields, "flags", true},
		{"zzzzz", fields, "", false},
		{"dport", fields, "", false}, // a known name needs no hint
		{"x", nil, "", false},
		{"pakcets", []string{"name", "summary", "topology", "packets", "expect"}, "packets", true},
		{"host1/wbe", []string{"client", "server", "host1/web", "host1/eth0"}, "host1/web", true},
		{"rn", []string{"run", "replay", "trace"}, "run", true},
	}
	for _, tt := range tests {
		got, ok := Closest(tt.name, tt.cands)
		if got != tt.want || ok != tt.ok {
			t.Errorf("Closest(%q) = %q, %v; want %q, %v", tt.name, got, ok, tt.want, tt.ok)
		}
	}
	if h := Hint("dprot", fields); h != ` (did you mean "dport"?)` {
		t.Errorf("Hint = %q", h)
	}
	if h := Hint("zzzzz", fields); h != "" {
		t.Errorf("Hint = %q, want none", h)
	}
}

// FuzzClosest: any name and candidates, no panic; the distance is symmetric
// and bounded by the longer length.
func FuzzClosest(f *testing.F) {
	f.Add("dprot", "dport")
	f.Add("", "x")
	f.Add("tll", "ttl")
	f.Fuzz(func(t *testing.T, a, b string) {
		if len(a) > MaxLen || len(b) > MaxLen {
			return
		}
		d := Distance(a, b)
		if d != Distance(b, a) || d > max(len(a), len(b)) || d < 0 {
			t.Fatalf("Distance(%q, %q) = %d", a, b, d)
		}
		Closest(a, []string{b})
	})
}
