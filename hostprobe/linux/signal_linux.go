package linux

import (
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// sigState is the process-wide SIGINT/SIGTERM handler shared by all labs that asked for it.
var sigState struct {
	mu   sync.Mutex // protects the fields below
	labs []*Lab     // in registration order
	ch   chan os.Signal
	stop chan struct{} // closed to end the handler goroutine when no lab is left
	// exiting is set once a signal arrived: the handler keeps catching signals while it
	// closes the labs, so a second Ctrl-C cannot kill the process half-way.
	exiting bool
}

// CloseOnSignal makes SIGINT and SIGTERM close the lab (and every other lab registered
// this way, newest first) and then exit the process with status 128+signal (130 for
// SIGINT, 143 for SIGTERM), the shell convention. Errors from Close go to stderr. The
// returned stop function unregisters the lab; Close unregisters it too. When no lab is
// registered the signals get their default behaviour back.
func (l *Lab) CloseOnSignal() (stop func()) {
	sigState.mu.Lock()
	defer sigState.mu.Unlock()
	for _, x := range sigState.labs {
		if x == l {
			return func() { unregisterSignal(l) }
		}
	}
	sigState.labs = append(sigState.labs, l)
	if sigState.ch == nil {
		ch := make(chan os.Signal, 1)
		stopCh := make(chan struct{})
		sigState.ch, sigState.stop = ch, stopCh
		signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM)
		go handleSignals(ch, stopCh)
	}
	return func() { unregisterSignal(l) }
}

// handleSignals waits for a signal on ch, closes every registered lab and exits, or
// returns when stop is closed.
func handleSignals(ch chan os.Signal, stop chan struct{}) {
	select {
	case <-stop:
		return
	case s := <-ch:
		sigState.mu.Lock()
		sigState.exiting = true
		labs := append([]*Lab(nil), sigState.labs...)
		sigState.mu.Unlock()
		code := 1
		if sig, ok := s.(syscall.Signal); ok {
			code = 128 + int(sig)
		}
		for i := len(labs) - 1; i >= 0; i-- {
			if err := labs[i].Close(); err != nil {
				fmt.Fprintf(os.Stderr, "hostprobe/linux: on %v: %v\n", s, err)
			}
		}
		os.Exit(code)
	}
}

// unregisterSignal removes l from the signal handler, and stops handling the signals
// when no lab is left.
func unregisterSignal(l *Lab) {
	sigState.mu.Lock()
	defer sigState.mu.Unlock()
	for i, x := range sigState.labs {
		if x == l {
			sigState.labs = append(sigState.labs[:i], sigState.labs[i+1:]...)
			break
		}
	}
	if len(sigState.labs) == 0 && sigState.ch != nil && !sigState.exiting {
		signal.Stop(sigState.ch)
		close(sigState.stop)
		sigState.ch, sigState.stop = nil, nil
	}
}
