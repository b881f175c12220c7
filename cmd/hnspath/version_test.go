package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestVersion checks that version names the module version, a commit line and the Go
// toolchain, and that the commit set at link time is printed.
func TestVersion(t *testing.T) {
	old := commit
	defer func() { commit = old }()
	commit = "0123456789abcdef0123456789abcdef01234567"
	var out, errb bytes.Buffer
	if code := run([]string{"version"}, &out, &errb); code != 0 {
		t.Fatalf("version: exit %d, stderr %q", code, errb.String())
	}
	s := out.String()
	for _, want := range []string{"hnspath ", "commit ", "go go1."} {
		if !strings.Contains(s, want) {
			t.Errorf("version output %q: want %q", s, want)
		}
	}
	// Go's own VCS stamping (vcs.revision) wins when present; test binaries have none.
	if !strings.Contains(s, "commit "+commit) {
		t.Errorf("version output %q: want the link-time commit %s", s, commit)
	}
}
