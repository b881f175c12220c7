package packet

import "testing"

// TestStringUnknown checks that String never panics and that a value
// without a name reads as what it is.
func TestStringUnknown(t *testing.T) {
	tests := []struct {
		name string
		got  string
		want string
	}{
		{"known kind", KindIPv4.String(), "ipv4"},
		{"unknown kind", Kind(17).String(), "Kind(17)"},
		{"largest kind", Kind(255).String(), "Kind(255)"},
		{"known decode error", ErrShortEthernet.String(), decodeErrorNames[ErrShortEthernet]},
		{"unknown decode error", DecodeError(len(decodeErrorNames)).String(), "DecodeError(" + itoa(len(decodeErrorNames)) + ")"},
		{"largest decode error", DecodeError(255).String(), "DecodeError(255)"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, tt.got, tt.want)
		}
	}
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}
