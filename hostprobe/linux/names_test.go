package linux

import (
	"strings"
	"testing"
)

func TestCheckIfname(t *testing.T) {
	tests := []struct {
		name    string
		wantErr string
	}{
		{"eth0", ""},
		{"vxlan0", ""},
		{"a23456789012345", ""},
		{"a234567890123456", "is 16 bytes, max 15"},
		{"", "empty"},
		{".", "reserved"},
		{"..", "reserved"},
		{"eth/0", "invalid byte '/' at offset 3"},
		{"eth:0", "invalid byte ':' at offset 3"},
		{"eth 0", "invalid byte ' ' at offset 3"},
		{"eth\x7f", "invalid byte"},
	}
	for _, tt := range tests {
		err := checkIfname(tt.name)
		if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("checkIfname(%q): got %v, want error containing %q", tt.name, err, tt.wantErr)
		}
	}
}

func TestCheckNSName(t *testing.T) {
	tests := []struct {
		name    string
		wantErr string
	}{
		{"host1", ""},
		{"web-1.a_b", ""},
		{"0abc", ""},
		{"", "empty"},
		{"-x", "invalid byte '-' at offset 0"},
		{"Host", "invalid byte 'H' at offset 0"},
		{"a/b", "invalid byte '/' at offset 1"},
		{strings.Repeat("a", 49), "is 49 bytes, max 48"},
	}
	for _, tt := range tests {
		err := checkNSName(tt.name)
		if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("checkNSName(%q): got %v, want error containing %q", tt.name, err, tt.wantErr)
		}
	}
}

func TestSessionOf(t *testing.T) {
	tests := []struct {
		in     string
		want   string
		wantOK bool
	}{
		{"hnsp-0a1b2c-host", "hnsp-0a1b2c", true},
		{"hnsp-0a1b2c", "hnsp-0a1b2c", true},
		{"hnsp-0a1b2c.tmp42", "", false},
		{"hnsp-0A1B2C-host", "", false},
		{"hnsp-0a1b2", "", false},
		{"hnsp-0a1b2g-x", "", false},
		{"cni-0a1b2c-x", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		got, ok := sessionOf(tt.in)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("sessionOf(%q): got %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.wantOK)
		}
	}
}
