//go:build linux

package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hnspath/hnspath/scenarios/library"
)

// runSignalEnv makes TestRunSignalChild run `hnspath run` with the arguments in the
// variable (newline-separated).
const runSignalEnv = "HNSPATH_RUN_SIGNAL_CHILD"

// TestRunSignalChild is the body of TestRunSignal's child: at 4096 packets it prints
// "AT 4096" and waits for the interrupt.
func TestRunSignalChild(t *testing.T) {
	env := os.Getenv(runSignalEnv)
	if env == "" {
		t.Skip("runs only as TestRunSignal's child")
	}
	runTestHook = func(ctx context.Context, n int) {
		if n != 4096 {
			return
		}
		fmt.Println("AT 4096")
		select {
		case <-ctx.Done():
		case <-time.After(30 * time.Second): // watchdog
		}
	}
	os.Exit(run(strings.Split(env, "\n"), os.Stdout, os.Stderr))
}

// TestRunSignal sends SIGTERM or SIGINT to `hnspath run --out` in the middle of a
// scenario of 20,000 packets: the run must stop, keep no results or pcapng file of the
// interrupted scenario (SIGTERM used to leave a results file cut mid-line), write a
// summary that says it was interrupted (which report refuses), and exit 128+signal.
func TestRunSignal(t *testing.T) {
	dir := t.TempDir()
	writeLongScenario(t, dir, 20000)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			out := t.TempDir()
			cmd := exec.Command(exe, "-test.run=^TestRunSignalChild$")
			cmd.Env = append(os.Environ(), runSignalEnv+"="+strings.Join([]string{"run", "--no-trace", "--out", out, filepath.Join(dir, "nat-outbound-udp.yaml")}, "\n"))
			cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
			var stderr strings.Builder
			cmd.Stderr = &stderr
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
			br := bufio.NewReader(stdout)
			for {
				l, err := br.ReadString('\n')
				if err != nil {
					t.Fatalf("child ended before 4096 packets: %v\n%s", err, stderr.String())
				}
				if l == "AT 4096\n" {
					break
				}
			}
			// The outputs are being written now: under temporary names only.
			ents, _ := os.ReadDir(out)
			if len(ents) == 0 {
				t.Fatalf("no output being written at packet 4096 (the test would prove nothing)")
			}
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			restB, _ := io.ReadAll(br)
			rest := string(restB)
			err = cmd.Wait()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 128+int(sig) {
				t.Errorf("exit: got %v, want status %d\nstderr:\n%s", err, 128+int(sig), stderr.String())
			}
			if !strings.Contains(rest, "interrupted: "+sig.String()+" after 0 of 1 scenarios") {
				t.Errorf("stdout lacks the interruption:\n%s", rest)
			}
			ents, _ = os.ReadDir(out)
			var names []string
			for _, e := range ents {
				names = append(names, e.Name())
			}
			if len(names) != 1 || names[0] != "summary.json" {
				t.Errorf("output folder holds %q, want only summary.json", names)
			}
			if code, _, rerr := runCmd(t, "report", out); code != exitFail || !strings.Contains(rerr, "the run was interrupted") {
				t.Errorf("report on the interrupted folder: exit %d, stderr %s; want 1 saying interrupted", code, rerr)
			}
		})
	}
}

// TestRunFullDisk runs `run --out` into a 64 KiB tmpfs (root only): the scenario's
// results and pcapng do not fit. The run must fail naming the error and leave no
// results or pcapng file (a full disk used to leave them cut at 4096 or 65536 bytes,
// looking finished).
func TestRunFullDisk(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a small tmpfs")
	}
	dir := t.TempDir()
	sc := writeLongScenario(t, dir, 20000)
	out := filepath.Join(dir, "full")
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", out, "tmpfs", 0, "size=64k"); err != nil {
		t.Skipf("cannot mount a tmpfs: %v", err)
	}
	t.Cleanup(func() { syscall.Unmount(out, 0) })
	code, stdout, stderr := runCmd(t, "run", "--no-trace", "--out", out, sc)
	if code != exitFail || !strings.Contains(stdout+stderr, "write "+filepath.Join(out, "nat-outbound-udp.results.jsonl")+": no space left on device") {
		t.Errorf("exit %d, want 1 naming the full disk\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	ents, _ := os.ReadDir(out)
	for _, e := range ents {
		if e.Name() != "summary.json" {
			t.Errorf("left %s on the full disk", e.Name())
		}
	}
}

// writeLongScenario writes nat-outbound-udp with its last packet repeated n times
// (and its topology) into dir, and returns the scenario's path.
func writeLongScenario(t *testing.T, dir string, n int) string {
	t.Helper()
	for _, name := range []string{"nat-outbound-udp.yaml", "topologies/nat.yaml"} {
		b, err := fs.ReadFile(library.FS(), name)
		if err != nil {
			t.Fatal(err)
		}
		if name == "nat-outbound-udp.yaml" {
			// The third packet (a DNS query, id 2) repeats n times.
			const q2 = `raw(load=hex"0002 0100 0001 0000 0000 0000 07 6578616d706c65 03 636f6d 00 0001 0001")`
			if !strings.Contains(string(b), q2+"\n") {
				t.Fatalf("nat-outbound-udp.yaml has no packet %s", q2)
			}
			b = []byte(strings.Replace(string(b), q2+"\n", fmt.Sprintf(q2+"\n    repeat: %d\n", n), 1))
		}
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "nat-outbound-udp.yaml")
}
