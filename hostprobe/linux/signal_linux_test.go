package linux

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// runSignalChild is the body of the re-executed test binary for the signal tests.
//
//   - sig-teardown: a lab with CloseOnSignal and two namespaces; prints "READY <session>",
//     starts Close, and at its first deletion prints "TEARDOWN" and waits for a line on
//     stdin before going on. Then it waits to be killed.
//   - sig-building: a lab with CloseOnSignal; prints "READY <session>", then builds and
//     closes labs with namespaces in a loop until a signal ends the process.
func runSignalChild(role string) int {
	l, err := NewLab()
	if err != nil {
		fmt.Println("ERROR", err)
		return 1
	}
	l.CloseOnSignal()
	build := func(l *Lab) error {
		a, err := l.NewNamespace("a")
		if err != nil {
			return err
		}
		b, err := l.NewNamespace("b")
		if err != nil {
			return err
		}
		return a.AddVeth("eth0", b, "eth0")
	}
	if err := build(l); err != nil {
		fmt.Println("ERROR", err)
		return 1
	}
	fmt.Println("READY", l.Session())
	switch role {
	case "sig-teardown":
		l.SetLog(&pauseOnce{})
		if err := l.Close(); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	case "sig-building":
		for {
			n, err := NewLab()
			if errors.Is(err, ErrInterrupted) {
				break
			}
			if err == nil {
				if err := build(n); err != nil && !errors.Is(err, errClosed) {
					fmt.Fprintln(os.Stderr, err)
				}
				n.Close()
			}
		}
	}
	time.Sleep(time.Minute)
	return 2
}

// pauseOnce is a Close log that, at its first line, says "TEARDOWN" on stdout and waits
// for a line on stdin.
type pauseOnce struct{ done bool }

func (p *pauseOnce) Write(b []byte) (int, error) {
	if !p.done {
		p.done = true
		fmt.Println("TEARDOWN")
		bufio.NewReader(os.Stdin).ReadString('\n')
	}
	return len(b), nil
}

// signalChild starts the test binary in role and returns its session (from READY), its
// stdout and a pipe to its stdin.
func signalChild(t *testing.T, role string) (session string, cmd *exec.Cmd, out *bufio.Reader, in *os.File) {
	t.Helper()
	cmd = exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+role)
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	pr, pw, err := os.Pipe()
	must(t, err)
	cmd.Stdin = pr
	stdout, err := cmd.StdoutPipe()
	must(t, err)
	must(t, cmd.Start())
	pr.Close()
	t.Cleanup(func() {
		pw.Close()
		cmd.Process.Kill()
		cmd.Wait()
		Clean(session + "-")
	})
	out = bufio.NewReader(stdout)
	line, err := readLine(out, 20*time.Second)
	if err != nil {
		t.Fatalf("child %s: %v", role, err)
	}
	session, ok := strings.CutPrefix(line, "READY ")
	if !ok {
		t.Fatalf("child %s: got %q, want READY <session>", role, line)
	}
	return session, cmd, out, pw
}

// wantExit checks that cmd ended with status code.
func wantExit(t *testing.T, err error, code int) {
	t.Helper()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != code {
		t.Errorf("child exit: got %v, want exit status %d", err, code)
	}
}

// TestSignalDuringTeardown sends SIGINT or SIGTERM while Close is deleting the lab:
// the handler must stay in place until the teardown ends (it used to be removed first,
// so the signal killed the process with its namespaces left behind).
func TestSignalDuringTeardown(t *testing.T) {
	if err := CheckPrivileges(); err != nil {
		t.Skip(err)
	}
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			session, cmd, out, in := signalChild(t, "sig-teardown")
			if line, err := readLine(out, 20*time.Second); err != nil || line != "TEARDOWN" {
				t.Fatalf("child: got %q, %v; want TEARDOWN", line, err)
			}
			must(t, cmd.Process.Signal(sig))
			// A second signal while the teardown runs is reported, not fatal.
			must(t, cmd.Process.Signal(sig))
			fmt.Fprintln(in, "go on")
			wantExit(t, cmd.Wait(), 128+int(sig))
			if err := checkNoLeftovers(session); err != nil {
				t.Errorf("after %v during teardown: %v", sig, err)
			}
		})
	}
}

// TestSignalWhileBuildingNextLab sends SIGTERM while the main goroutine builds and
// closes labs in a loop: whatever lab exists at that moment is closed by the handler,
// and no lab is made after it (the handler used to close the labs it knew of while the
// main goroutine went on building the next one, which was left behind).
func TestSignalWhileBuildingNextLab(t *testing.T) {
	if err := CheckPrivileges(); err != nil {
		t.Skip(err)
	}
	before := map[string]bool{}
	for _, dir := range []string{NetnsDir, MarkerDir} {
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			before[filepath.Join(dir, e.Name())] = true
		}
	}
	for range 3 {
		_, cmd, _, _ := signalChild(t, "sig-building")
		pid := cmd.Process.Pid
		must(t, cmd.Process.Signal(syscall.SIGTERM))
		wantExit(t, cmd.Wait(), 143)
		// Anything new with our prefix whose session is not another live process's
		// was left by the child.
		for _, dir := range []string{NetnsDir, MarkerDir} {
			ents, _ := os.ReadDir(dir)
			for _, e := range ents {
				p := filepath.Join(dir, e.Name())
				if !before[p] && strings.HasPrefix(e.Name(), Prefix) && !otherLiveSession(e.Name()) {
					t.Errorf("child %d left %s behind", pid, p)
					Clean(e.Name())
				}
			}
		}
	}
}
