package linux

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
)

// errClosed is returned by every method of a Lab, Namespace, Injector or Capturer after Close.
var errClosed = errors.New("lab is closed")

// A Lab is one probe session: the network namespaces it created and everything inside
// them. Every object it makes is recorded with a way to delete it; Close deletes them in
// reverse order. A Lab is safe for concurrent use.
type Lab struct {
	session string // "hnsp-<id>"
	marker  string // MarkerDir/session

	mu       sync.Mutex // protects the fields below
	closed   bool
	done     chan struct{}         // closed when Close has finished; made by the first Close
	log      io.Writer             // where Close says what it deletes; nil: nowhere
	undo     []undoStep            // in creation order; Close runs them backwards
	ns       map[string]*Namespace // by the caller's name
	inflight sync.WaitGroup        // operations using namespace fds; Close waits for them
}

// undoStep deletes one recorded object; "not found" must count as success.
type undoStep struct {
	what string
	fn   func() error
}

// NewLab checks privileges, picks a fresh session id and writes the session's marker
// file, so that Clean in another process skips this session while the process lives.
func NewLab() (*Lab, error) {
	if err := CheckPrivileges(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(MarkerDir, 0o755); err != nil {
		return nil, fmt.Errorf("new lab: %w", err)
	}
	for range 8 {
		var b [idLen / 2]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, fmt.Errorf("new lab: session id: %w", err)
		}
		session := Prefix + hex.EncodeToString(b[:])
		// The marker is written and the lab registered as open in one step, so a signal
		// handler (CloseOnSignal) either sees the lab and closes it or makes NewLab fail.
		l, err := registerLab(func() (*Lab, error) {
			l := &Lab{session: session, marker: filepath.Join(MarkerDir, session), ns: map[string]*Namespace{}}
			if err := writeMarker(l.marker, os.Getpid()); err != nil {
				return nil, err
			}
			l.undo = append(l.undo, undoStep{"marker " + l.marker, func() error {
				if err := os.Remove(l.marker); err != nil && !errors.Is(err, os.ErrNotExist) {
					return err
				}
				return nil
			}})
			return l, nil
		})
		if errors.Is(err, os.ErrExist) {
			continue // id taken by a live or leftover session: pick another
		}
		if err != nil {
			return nil, fmt.Errorf("new lab: %w", err)
		}
		return l, nil
	}
	return nil, fmt.Errorf("new lab: no free session id in %s after 8 tries", MarkerDir)
}

// ID returns the session's random hex id.
func (l *Lab) ID() string { return l.session[len(Prefix):] }

// Session returns "hnsp-<id>", the name of the marker file and the start of every
// namespace name of this lab. Clean(l.Session()+"-") removes exactly this lab's leftovers.
func (l *Lab) Session() string { return l.session }

// Objects lists what the lab has recorded and not yet deleted, in creation order, e.g.
// "netns hnsp-0a1b2c-host", "link hnsp-0a1b2c-host/br0", "nftables table ...".
func (l *Lab) Objects() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]string, len(l.undo))
	for i, u := range l.undo {
		out[i] = u.what
	}
	return out
}

// Namespace returns the lab's namespace with the given short name, or nil.
func (l *Lab) Namespace(name string) *Namespace {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.ns[name]
}

// SetLog makes Close write one line per object it deletes to w ("delete netns
// hnsp-0a1b2c-host"), so that an interrupted program can say what it is cleaning up.
// Writes to w happen while Close runs; nil turns it off.
func (l *Lab) SetLog(w io.Writer) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.log = w
}

// Close deletes everything the lab recorded, newest first: sockets, nftables tables,
// links, namespaces, and last the marker file. An object that is already gone counts as
// deleted. Close waits for running operations (such as Namespace.Do) to return, keeps
// going after an error and returns all errors joined. A second call, from any
// goroutine, waits until the first has finished and returns nil.
//
// A signal handler installed by CloseOnSignal stays in place until the teardown has
// finished: a signal during Close is caught, not fatal.
func (l *Lab) Close() error {
	l.mu.Lock()
	if l.done == nil {
		l.done = make(chan struct{})
	}
	done := l.done
	if l.closed {
		l.mu.Unlock()
		<-done
		return nil
	}
	l.closed = true
	log := l.log
	l.mu.Unlock()
	defer close(done)
	defer unregisterSignal(l)
	l.inflight.Wait()

	l.mu.Lock()
	undo := l.undo
	l.undo = nil
	l.mu.Unlock()
	var errs []error
	for i := len(undo) - 1; i >= 0; i-- {
		if log != nil {
			fmt.Fprintf(log, "delete %s\n", undo[i].what)
		}
		if err := undo[i].fn(); err != nil {
			errs = append(errs, fmt.Errorf("delete %s: %w", undo[i].what, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close lab %s: %w", l.session, err)
	}
	return nil
}

// acquire marks the start of an operation that uses the lab's namespace fds. It fails
// once Close has begun; release must be called when the operation ends.
func (l *Lab) acquire() (release func(), err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, errClosed
	}
	l.inflight.Add(1)
	return l.inflight.Done, nil
}

// record appends an undo step. The caller holds an acquire.
func (l *Lab) record(what string, fn func() error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.undo = append(l.undo, undoStep{what, fn})
}
