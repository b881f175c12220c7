package main

import (
	"bytes"
	"strings"
	"testing"
)

// runCmd runs the CLI in-process and returns exit code, stdout and stderr.
func runCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestHelpListsCommands(t *testing.T) {
	code, out, _ := runCmd(t, "help")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for name := range commands {
		if !strings.Contains(out, "  "+name) {
			t.Errorf("help does not list %q", name)
		}
	}
}

func TestUnknownCommand(t *testing.T) {
	if code, _, errs := runCmd(t, "frobnicate"); code != exitUsage || !strings.Contains(errs, "unknown command") {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
}

func TestCommandHelpExitsZero(t *testing.T) {
	for name := range commands {
		code, _, errs := runCmd(t, name, "--help")
		if code != 0 {
			t.Errorf("%s --help: exit %d", name, code)
		}
		if !strings.Contains(errs, "Usage: hnspath "+name) {
			t.Errorf("%s --help: no usage line in %q", name, errs)
		}
	}
}

func TestBadFlagExitsTwo(t *testing.T) {
	for name := range commands {
		if code, _, _ := runCmd(t, name, "--no-such-flag"); code != exitUsage {
			t.Errorf("%s --no-such-flag: exit %d, want 2", name, code)
		}
	}
}
