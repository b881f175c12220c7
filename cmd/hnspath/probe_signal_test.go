//go:build linux

package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hnspath/hnspath/emulator/fabric"
	"github.com/hnspath/hnspath/hostprobe"
	"github.com/hnspath/hnspath/hostprobe/linux"
	"github.com/hnspath/hnspath/result"
)

// probeSignalEnv makes TestProbeSignalChild run `hnspath probe`: the variable holds the
// stage to stop at, then the arguments, separated by newlines.
const probeSignalEnv = "HNSPATH_PROBE_SIGNAL_CHILD"

// TestProbeSignalChild is the body of TestProbeSignals' child: `hnspath probe` whose
// backends stop at the stage and print "AT <stage>" until the interrupt arrives.
func TestProbeSignalChild(t *testing.T) {
	env := os.Getenv(probeSignalEnv)
	if env == "" {
		t.Skip("runs only as TestProbeSignals' child")
	}
	args := strings.Split(env, "\n")
	stage := args[0]
	scenario := 0
	probeTestBackend = func(be hostprobe.Backend, ctx context.Context) hostprobe.Backend {
		scenario++
		return &pausingBackend{Backend: be, ctx: ctx, stage: stage, scenario: scenario}
	}
	os.Exit(run(args[1:], os.Stdout, os.Stderr))
}

// pausingBackend wraps the Linux backend: it prints "LAB <session>" for every lab it
// builds and, at its stage, "AT <stage>", and then waits for the interrupt (ctx).
//
// Stages: setup-start (before the first scenario's Setup), setup-end (after it), run
// (after the first input's result), teardown (at the first object Close deletes), next
// (before the second scenario's Setup, while the main loop builds the next lab).
type pausingBackend struct {
	hostprobe.Backend
	ctx      context.Context
	stage    string
	scenario int
}

func (b *pausingBackend) pause(stage string) {
	if stage != b.stage {
		return
	}
	fmt.Printf("AT %s\n", stage)
	select {
	case <-b.ctx.Done():
	case <-time.After(30 * time.Second): // a watchdog: the parent failed to signal
	}
}

func (b *pausingBackend) Lab() *linux.Lab { return b.Backend.(*linux.Backend).Lab() }

func (b *pausingBackend) Session() string { return b.Backend.(*linux.Backend).Session() }

func (b *pausingBackend) Setup(ctx context.Context, topo *fabric.Topology) error {
	if b.scenario == 1 {
		b.pause("setup-start")
	} else {
		b.pause("next")
	}
	err := b.Backend.Setup(ctx, topo)
	if l := b.Lab(); l != nil {
		fmt.Printf("LAB %s\n", l.Session())
		if b.stage == "teardown" {
			l.SetLog(pauseWriter{b})
		}
	}
	if b.scenario == 1 {
		b.pause("setup-end")
	}
	return err
}

func (b *pausingBackend) Run(ctx context.Context, scenario string, inputs []hostprobe.Input, opts hostprobe.RunOptions) ([]*result.Packet, error) {
	after := opts.After
	opts.After = func(i int, p *result.Packet) {
		if after != nil {
			after(i, p)
		}
		if i == 0 {
			b.pause("run")
		}
	}
	return b.Backend.Run(ctx, scenario, inputs, opts)
}

// pauseWriter is a Close log that pauses at its first line.
type pauseWriter struct{ b *pausingBackend }

func (w pauseWriter) Write(p []byte) (int, error) {
	w.b.pause("teardown")
	w.b.stage = "" // once
	return len(p), nil
}

// TestProbeSignals sends SIGINT or SIGTERM to `hnspath probe` at chosen moments: during
// setup (before and after the lab is built), during a run, during the teardown, and
// while the main loop builds the next scenario's lab. Each time the probe must remove
// everything it built, say so on stderr and exit 128+signal: no namespace or marker of
// its labs may be left (9 of 9 tries left some before: the handler was removed before
// the teardown, and it closed the current lab while the main loop built the next).
func TestProbeSignals(t *testing.T) {
	if err := linux.CheckPrivileges(); err != nil {
		t.Skip(err)
	}
	dir := probeScenarioDir(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	two := []string{filepath.Join(dir, "nat-outbound-udp.yaml"), filepath.Join(dir, "nat-host-no-loopback.yaml")}
	for _, tt := range []struct {
		stage string
		sig   syscall.Signal
	}{
		{"setup-start", syscall.SIGTERM},
		{"setup-end", syscall.SIGINT},
		{"run", syscall.SIGTERM},
		{"run", syscall.SIGINT},
		{"teardown", syscall.SIGTERM},
		{"teardown", syscall.SIGINT},
		{"next", syscall.SIGTERM},
	} {
		t.Run(tt.stage+"/"+tt.sig.String(), func(t *testing.T) {
			out := t.TempDir()
			args := append([]string{tt.stage, "probe", "--out", out}, two...)
			cmd := exec.Command(exe, "-test.run=^TestProbeSignalChild$")
			cmd.Env = append(os.Environ(), probeSignalEnv+"="+strings.Join(args, "\n"))
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
			var labs []string
			t.Cleanup(func() {
				cmd.Process.Kill()
				cmd.Wait()
				for _, l := range labs {
					linux.Clean(l + "-")
				}
			})
			lines := make(chan string)
			go func() {
				sc := bufio.NewScanner(stdout)
				for sc.Scan() {
					lines <- sc.Text()
				}
				close(lines)
			}()
			watchdog := time.After(60 * time.Second)
		wait:
			for {
				select {
				case l, ok := <-lines:
					if !ok {
						t.Fatalf("child ended before reaching %s; stderr:\n%s", tt.stage, stderr.String())
					}
					if s, ok := strings.CutPrefix(l, "LAB "); ok {
						labs = append(labs, s)
					}
					if l == "AT "+tt.stage {
						break wait
					}
				case <-watchdog:
					t.Fatalf("child did not reach %s within 60 s", tt.stage)
				}
			}
			if err := cmd.Process.Signal(tt.sig); err != nil {
				t.Fatal(err)
			}
			go io.Copy(io.Discard, stdout)
			for l := range lines {
				if s, ok := strings.CutPrefix(l, "LAB "); ok {
					labs = append(labs, s)
				}
			}
			err = cmd.Wait()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 128+int(tt.sig) {
				t.Errorf("exit: got %v, want status %d\nstderr:\n%s", err, 128+int(tt.sig), stderr.String())
			}
			for _, l := range labs {
				if left, err := linux.Leftovers(l + "-"); err != nil || len(left) > 0 {
					t.Errorf("lab %s: left %q (%v)", l, left, err)
				}
			}
			// A lab the child made without saying so would be found by its marker's pid.
			ms, _ := filepath.Glob(filepath.Join(linux.MarkerDir, linux.Prefix+"*"))
			for _, m := range ms {
				b, _ := os.ReadFile(m)
				if f := strings.Fields(string(b)); len(f) == 2 && f[0] == strconv.Itoa(cmd.Process.Pid) {
					t.Errorf("marker %s of the child left", m)
				}
			}
			want := []string{"hnspath probe: " + tt.sig.String() + ": stopping", "interrupted by " + tt.sig.String()}
			switch tt.stage {
			case "setup-start", "next": // the lab has its marker only: Setup stops before building
				want = append(want, "hnspath probe: cleaning up: delete marker "+linux.MarkerDir+"/hnsp-")
			case "setup-end", "run":
				want = append(want, "hnspath probe: cleaning up: delete netns hnsp-")
			}
			for _, w := range want {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr.String())
				}
			}
			// The interrupted run leaves a summary that report refuses.
			if code, _, rerr := runCmd(t, "report", out); code != exitFail || !strings.Contains(rerr, "interrupted") {
				t.Errorf("report on the interrupted folder: exit %d, stderr %s; want 1 saying interrupted", code, rerr)
			}
		})
	}
}
