package header

import "testing"

// TestMACWindowsString checks the form Windows tools print (vfpctrl, HNS):
// upper-case hex pairs joined by dashes.
func TestMACWindowsString(t *testing.T) {
	m := MAC{0x00, 0x15, 0x5d, 0x0a, 0xbc, 0xef}
	if got, want := m.WindowsString(), "00-15-5D-0A-BC-EF"; got != want {
		t.Errorf("WindowsString() = %q, want %q", got, want)
	}
}
