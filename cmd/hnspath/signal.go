package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// interrupt catches SIGINT and SIGTERM for a command whose main loop owns what has to
// be cleaned up (probe's network namespaces, bench's trials). The first signal only
// cancels Context: the main loop sees it, stops starting new work, tears down what it
// built and returns ExitCode. Later signals are reported on stderr and otherwise
// ignored, so the teardown cannot be cut short by a second Ctrl-C. The signals stay
// caught until stop, which the command defers.
type interrupt struct {
	name   string // command, for messages
	stderr io.Writer
	ctx    context.Context
	cancel context.CancelFunc
	ch     chan os.Signal
	end    chan struct{}

	mu  sync.Mutex // protects sig and what, and writes to stderr from the handler
	sig os.Signal  // the first signal, nil before
	// what is what the main loop is working on ("scenario nat-basic, lab hnsp-0a1b2c"),
	// named when a signal arrives.
	what string
}

// catchInterrupts starts catching SIGINT and SIGTERM for command name.
func catchInterrupts(name string, stderr io.Writer) *interrupt {
	ctx, cancel := context.WithCancel(context.Background())
	in := &interrupt{name: name, stderr: stderr, ctx: ctx, cancel: cancel,
		ch: make(chan os.Signal, 4), end: make(chan struct{})}
	signal.Notify(in.ch, syscall.SIGINT, syscall.SIGTERM)
	go in.handle()
	return in
}

func (in *interrupt) handle() {
	for {
		select {
		case <-in.end:
			return
		case s := <-in.ch:
			in.mu.Lock()
			if in.sig == nil {
				in.sig = s
				what := ""
				if in.what != "" {
					what = ": cleaning up " + in.what
				}
				fmt.Fprintf(in.stderr, "hnspath %s: %v: stopping%s\n", in.name, s, what)
				in.cancel()
			} else {
				fmt.Fprintf(in.stderr, "hnspath %s: %v again: still cleaning up, exiting when done\n", in.name, s)
			}
			in.mu.Unlock()
		}
	}
}

// Context is cancelled by the first signal.
func (in *interrupt) Context() context.Context { return in.ctx }

// Signal returns the first signal caught, or nil.
func (in *interrupt) Signal() os.Signal {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.sig
}

// ExitCode is the shell's status for the first signal: 128+signal (130 for SIGINT,
// 143 for SIGTERM).
func (in *interrupt) ExitCode() int {
	if s, ok := in.Signal().(syscall.Signal); ok {
		return 128 + int(s)
	}
	return exitFail
}

// working records what the main loop is working on, for the message of a signal.
func (in *interrupt) working(what string) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.what = what
}

// log returns a writer that passes lines to stderr, prefixed with the command, once a
// signal has arrived, and drops them before: the teardown log of an interrupted run.
func (in *interrupt) log() io.Writer { return interruptLog{in} }

type interruptLog struct{ in *interrupt }

func (l interruptLog) Write(b []byte) (int, error) {
	l.in.mu.Lock()
	defer l.in.mu.Unlock()
	if l.in.sig != nil {
		fmt.Fprintf(l.in.stderr, "hnspath %s: cleaning up: %s", l.in.name, b)
	}
	return len(b), nil
}

// stop restores the signals' default behaviour.
func (in *interrupt) stop() {
	signal.Stop(in.ch)
	close(in.end)
	in.cancel()
}
