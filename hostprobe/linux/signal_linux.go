package linux

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
)

// ErrInterrupted is returned by NewLab once a signal handler installed by
// Lab.CloseOnSignal is tearing the process's labs down: a lab made then would be left
// behind by the exit that follows.
var ErrInterrupted = errors.New("interrupted: the labs of this process are being closed")

// sigState tracks every open lab of the process and the SIGINT/SIGTERM handler of
// CloseOnSignal.
var sigState struct {
	mu   sync.Mutex // protects the fields below
	open []*Lab     // every lab made by NewLab and not yet closed, in creation order
	// handled holds the open labs that asked for CloseOnSignal; the handler runs while
	// it is not empty.
	handled map[*Lab]bool
	ch      chan os.Signal
	stop    chan struct{} // closed to end the handler goroutine when no lab asks for it
	// exiting is set once a signal arrived: the handler keeps catching signals while it
	// closes the labs (a second Ctrl-C is reported, not fatal) and NewLab refuses.
	exiting bool
}

// registerLab adds l to the open labs unless a signal handler is already closing them.
// mk runs under the lock, so a lab either exists and is registered, or was never made.
func registerLab(mk func() (*Lab, error)) (*Lab, error) {
	sigState.mu.Lock()
	defer sigState.mu.Unlock()
	if sigState.exiting {
		return nil, ErrInterrupted
	}
	l, err := mk()
	if err != nil {
		return nil, err
	}
	sigState.open = append(sigState.open, l)
	return l, nil
}

// CloseOnSignal makes SIGINT and SIGTERM close every open lab of the process, newest
// first, and then exit with status 128+signal (130 for SIGINT, 143 for SIGTERM), the
// shell convention. All open labs are closed, not only those that asked, because the
// exit would leave the others behind. While the handler closes them, further signals
// are reported on stderr and otherwise ignored, and NewLab returns ErrInterrupted, so
// a lab being built by another goroutine is either closed or never made. Close errors
// go to stderr. The returned stop function withdraws the request; Close withdraws it
// too, after the lab is torn down (a signal during Close is still caught). When no lab
// asks any more, the signals get their default behaviour back.
//
// This suits a program with no main loop of its own to stop. A program that has one
// (hnspath probe) should rather catch the signals itself, cancel its work, and Close
// its labs from the main loop.
func (l *Lab) CloseOnSignal() (stop func()) {
	l.mu.Lock()
	closed := l.closed
	l.mu.Unlock()
	if closed {
		return func() {} // nothing left to close
	}
	sigState.mu.Lock()
	defer sigState.mu.Unlock()
	if sigState.handled == nil {
		sigState.handled = map[*Lab]bool{}
	}
	sigState.handled[l] = true
	if sigState.ch == nil {
		ch := make(chan os.Signal, 2)
		stopCh := make(chan struct{})
		sigState.ch, sigState.stop = ch, stopCh
		signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM)
		go handleSignals(ch, stopCh)
	}
	return func() { withdrawSignal(l) }
}

// handleSignals waits for a signal on ch, closes every open lab and exits, or returns
// when stop is closed.
func handleSignals(ch chan os.Signal, stop chan struct{}) {
	var s os.Signal
	select {
	case <-stop:
		return
	case s = <-ch:
	}
	sigState.mu.Lock()
	sigState.exiting = true
	labs := append([]*Lab(nil), sigState.open...)
	sigState.mu.Unlock()
	go func() {
		for s2 := range ch {
			fmt.Fprintf(os.Stderr, "hostprobe/linux: %v during cleanup: still cleaning up, exiting when done\n", s2)
		}
	}()
	code := 1
	if sig, ok := s.(syscall.Signal); ok {
		code = 128 + int(sig)
	}
	names := make([]string, len(labs))
	for i, l := range labs {
		names[i] = l.session
	}
	fmt.Fprintf(os.Stderr, "hostprobe/linux: %v: cleaning up %d lab(s): %s\n", s, len(labs), strings.Join(names, ", "))
	for i := len(labs) - 1; i >= 0; i-- {
		if err := labs[i].Close(); err != nil {
			fmt.Fprintf(os.Stderr, "hostprobe/linux: on %v: %v\n", s, err)
		}
	}
	os.Exit(code)
}

// unregisterSignal removes l from the open labs and from the handler's (Close, once
// the lab is torn down).
func unregisterSignal(l *Lab) {
	sigState.mu.Lock()
	defer sigState.mu.Unlock()
	for i, x := range sigState.open {
		if x == l {
			sigState.open = append(sigState.open[:i], sigState.open[i+1:]...)
			break
		}
	}
	withdrawLocked(l)
}

// withdrawSignal removes l from the handler's labs only (the stop function of
// CloseOnSignal): l stays open, and a handler asked for by another lab still closes it.
func withdrawSignal(l *Lab) {
	sigState.mu.Lock()
	defer sigState.mu.Unlock()
	withdrawLocked(l)
}

// withdrawLocked removes l from the handler's labs and stops handling the signals when
// no lab asks for it any more. The caller holds sigState.mu.
func withdrawLocked(l *Lab) {
	delete(sigState.handled, l)
	if len(sigState.handled) == 0 && sigState.ch != nil && !sigState.exiting {
		signal.Stop(sigState.ch)
		close(sigState.stop)
		sigState.ch, sigState.stop = nil, nil
	}
}
