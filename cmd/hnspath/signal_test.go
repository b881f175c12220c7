//go:build linux

package main

import (
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// syncBuffer is a strings.Builder safe for the handler goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitFor polls until cond holds; the 10 s bound is a watchdog, not a timing assumption.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s did not happen within 10 s", what)
		}
	}
}

// TestInterruptSecondSignal sends SIGTERM to this process twice while an interrupt is
// installed: the first cancels the context and names what is being cleaned, the second
// is reported and changes nothing (the process lives on), the exit code is 143, the
// teardown log reaches stderr only after the signal.
func TestInterruptSecondSignal(t *testing.T) {
	var stderr syncBuffer
	in := catchInterrupts("probe", &stderr)
	defer in.stop()
	in.working("scenario x: lab hnsp-0a1b2c")
	in.log().Write([]byte("delete netns before\n"))
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-in.Context().Done()
	in.log().Write([]byte("delete netns hnsp-0a1b2c-host\n"))
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the second signal's note", func() bool { return strings.Contains(stderr.String(), "again") })
	want := "hnspath probe: terminated: stopping: cleaning up scenario x: lab hnsp-0a1b2c\n" +
		"hnspath probe: cleaning up: delete netns hnsp-0a1b2c-host\n" +
		"hnspath probe: terminated again: still cleaning up, exiting when done\n"
	if got := stderr.String(); got != want {
		t.Errorf("stderr:\n%s\nwant:\n%s", got, want)
	}
	if code := in.ExitCode(); code != 143 {
		t.Errorf("exit code %d, want 143", code)
	}
}
