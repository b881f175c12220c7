//go:build linux

package main

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/perf/benchfmt"

	"github.com/hnspath/hnspath/bench/result"
)

// benchSignalEnv makes TestBenchSignalChild run `hnspath bench` with the arguments in
// the variable (newline-separated).
const benchSignalEnv = "HNSPATH_BENCH_SIGNAL_CHILD"

// TestBenchSignalChild is the body of TestBenchSignal's child.
func TestBenchSignalChild(t *testing.T) {
	env := os.Getenv(benchSignalEnv)
	if env == "" {
		t.Skip("runs only as TestBenchSignal's child")
	}
	os.Exit(run(strings.Split(env, "\n"), os.Stdout, os.Stderr))
}

// TestBenchSignal sends SIGTERM (and SIGINT) to `hnspath bench --out` once the first
// trial round is done, as the progress line on a non-terminal stderr says: the
// completed trials are kept and marked partial in bench.json ("partial": true) and
// bench.txt (the configuration line "partial: true", read back with benchfmt), report
// refuses them, and the exit status is 128+signal. SIGTERM used to lose every trial.
// 40 trials of at least 100 ms each cannot be over when the signal arrives.
func TestBenchSignal(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			out := t.TempDir()
			args := []string{"bench", "-w", "transparent", "--flows", "64", "--trials", "40", "--min-time", "100ms", "--out", out, "--format", "json"}
			cmd := exec.Command(exe, "-test.run=^TestBenchSignalChild$")
			cmd.Env = append(os.Environ(), benchSignalEnv+"="+strings.Join(args, "\n"))
			cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
			var stdout bytes.Buffer
			cmd.Stdout = &stdout
			stderr, err := cmd.StderrPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
			br := bufio.NewReader(stderr)
			var log strings.Builder
			for {
				l, err := br.ReadString('\n')
				log.WriteString(l)
				if err != nil {
					t.Fatalf("child ended before its first trial round: %v\n%s", err, log.String())
				}
				if strings.HasPrefix(l, "bench: trial 1/40 done") {
					break
				}
			}
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			rest, _ := bufio.NewReader(br).ReadString(0)
			log.WriteString(rest)
			err = cmd.Wait()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 128+int(sig) {
				t.Errorf("exit: got %v, want status %d\nstderr:\n%s", err, 128+int(sig), log.String())
			}
			f, err := os.Open(filepath.Join(out, benchJSONFile))
			if err != nil {
				t.Fatalf("%v (stderr:\n%s)", err, log.String())
			}
			defer f.Close()
			rep, err := result.ReadJSON(f, benchJSONFile)
			if err != nil {
				t.Fatal(err)
			}
			if !rep.Partial {
				t.Errorf("bench.json: partial is not set")
			}
			for _, b := range rep.Benchmarks {
				if n := len(b.Trials); n < 1 || n >= 40 {
					t.Errorf("%s: %d trials, want the completed ones (1..39)", b.FullName(), n)
				}
			}
			txt, err := os.ReadFile(filepath.Join(out, benchGoFile))
			if err != nil {
				t.Fatal(err)
			}
			rd := benchfmt.NewReader(bytes.NewReader(txt), benchGoFile)
			partial := ""
			for rd.Scan() {
				if r, ok := rd.Result().(*benchfmt.Result); ok {
					partial = string(r.GetConfig("partial"))
					break
				}
			}
			if partial != "true" {
				t.Errorf("bench.txt: configuration partial = %q, want true:\n%s", partial, txt)
			}
			for _, name := range []string{benchJSONFile, benchGoFile} {
				if code, _, rerr := runCmd(t, "report", filepath.Join(out, name)); code != exitFail || !strings.Contains(rerr, "stopped before every trial ran") {
					t.Errorf("report %s: exit %d, stderr %s; want 1 saying partial", name, code, rerr)
				}
			}
		})
	}
}
