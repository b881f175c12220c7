package drop

import "testing"

// TestStringUnknown checks that String never panics and that a value
// without a name reads as what it is.
func TestStringUnknown(t *testing.T) {
	tests := []struct {
		name string
		got  string
		want string
	}{
		{"known layer", LayerWinNAT.String(), "winnat"},
		{"no layer", LayerNone.String(), ""},
		{"unknown layer", Layer(17).String(), "Layer(17)"},
		{"largest layer", Layer(255).String(), "Layer(255)"},
		{"known reason", All()[0].String(), All()[0].Slug()},
		{"unknown reason", Reason(numReasons).String(), "reason?"},
		{"largest reason", Reason(65535).String(), "reason?"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, tt.got, tt.want)
		}
	}
}

func TestValid(t *testing.T) {
	for _, r := range append(All(), None) {
		if !r.Valid() {
			t.Errorf("Reason(%d) %q: Valid() = false, want true", r, r)
		}
	}
	for _, r := range []Reason{numReasons, numReasons + 1, 65535} {
		if r.Valid() {
			t.Errorf("Reason(%d): Valid() = true, want false", r)
		}
	}
}
