package linux

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// A Namespace is a named network namespace created by a Lab. Its methods build links,
// addresses, routes, neighbours, FDB entries, sysctls and nftables rules inside it, always
// through sockets opened in the namespace; none of them touches the root namespace.
// Methods are safe for concurrent use and fail after the lab is closed.
type Namespace struct {
	lab  *Lab
	name string         // the caller's short name
	full string         // "hnsp-<id>-<name>", the file under NetnsDir
	fd   netns.NsHandle // open for the lab's lifetime; used under lab.acquire
	nl   *netlink.Handle
	nft  nftState
}

// NewNamespace creates the network namespace "hnsp-<id>-<name>", bind-mounted under
// NetnsDir, with its loopback interface up. name is 1..48 bytes of [a-z0-9._-].
func (l *Lab) NewNamespace(name string) (*Namespace, error) {
	if err := checkNSName(name); err != nil {
		return nil, fmt.Errorf("new namespace: %w", err)
	}
	release, err := l.acquire()
	if err != nil {
		return nil, fmt.Errorf("new namespace %q: %w", name, err)
	}
	defer release()
	l.mu.Lock()
	_, dup := l.ns[name]
	l.mu.Unlock()
	if dup {
		return nil, fmt.Errorf("new namespace %q: already exists in lab %s", name, l.session)
	}
	n := &Namespace{lab: l, name: name, full: l.session + "-" + name}
	path := filepath.Join(NetnsDir, n.full)
	fd, err := createNamedNS(path)
	if err != nil {
		return nil, fmt.Errorf("new namespace %s: %w", n.full, err)
	}
	n.fd = fd
	l.record("netns "+n.full, func() error {
		var errs []error
		if n.nl != nil {
			n.nl.Close()
		}
		if err := n.fd.Close(); err != nil && !errors.Is(err, unix.EBADF) {
			errs = append(errs, err)
		}
		errs = append(errs, deleteNamedNS(path))
		return errors.Join(errs...)
	})
	l.mu.Lock()
	l.ns[name] = n
	l.mu.Unlock()

	// The netlink handle's socket is created by a thread inside the namespace, so every
	// request through it acts on this namespace.
	if err := doIn(n.fd, func() error {
		h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
		if err != nil {
			return err
		}
		n.nl = h
		return nil
	}); err != nil {
		return nil, fmt.Errorf("new namespace %s: netlink handle: %w", n.full, err)
	}
	lo, err := n.nl.LinkByName("lo")
	if err == nil {
		err = n.nl.LinkSetUp(lo)
	}
	if err != nil {
		return nil, fmt.Errorf("new namespace %s: loopback up: %w", n.full, err)
	}
	return n, nil
}

// Name returns the short name given to NewNamespace.
func (n *Namespace) Name() string { return n.name }

// FullName returns the namespace's name under NetnsDir ("hnsp-<id>-<name>"), as
// `ip netns` shows it.
func (n *Namespace) FullName() string { return n.full }

// Path returns the bind mount of the namespace (NetnsDir/FullName).
func (n *Namespace) Path() string { return filepath.Join(NetnsDir, n.full) }

// Lab returns the lab that owns the namespace.
func (n *Namespace) Lab() *Lab { return n.lab }

// Do runs fn on an OS thread switched into the namespace and returns fn's error. Sockets
// and files that fn opens stay bound to the namespace after Do returns (so a listener
// opened in fn keeps serving the namespace). fn runs on its own goroutine: goroutines it
// starts are NOT in the namespace, it must not call Lab.Close (Close waits for Do), and
// it must not call runtime.UnlockOSThread more often than it locked. A panic in fn is
// re-raised in the caller after the thread is back in its original namespace.
func (n *Namespace) Do(fn func() error) error {
	release, err := n.lab.acquire()
	if err != nil {
		return fmt.Errorf("netns %s: %w", n.full, err)
	}
	defer release()
	if err := doIn(n.fd, fn); err != nil {
		return fmt.Errorf("netns %s: %w", n.full, err)
	}
	return nil
}

// doIn runs fn on a fresh goroutine locked to its OS thread, with that thread switched
// into target. It verifies the switch before calling fn, and switches back afterwards. If
// switching back fails, the goroutine exits without UnlockOSThread: the runtime then
// terminates the thread rather than let another goroutine run in the wrong namespace
// (runtime.LockOSThread: "If the calling goroutine exits without unlocking the thread,
// the thread will be terminated").
func doIn(target netns.NsHandle, fn func() error) error {
	type result struct {
		err      error
		panicked bool
		panicVal any
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			done <- result{err: fmt.Errorf("get current netns: %w", err)}
			return
		}
		defer orig.Close()
		if err := netns.Set(target); err != nil {
			// setns failed, so the thread is still where it was.
			runtime.UnlockOSThread()
			done <- result{err: fmt.Errorf("setns: %w", err)}
			return
		}
		var res result
		if err := threadIn(target); err != nil {
			res.err = err
		} else {
			func() {
				defer func() {
					if p := recover(); p != nil {
						res.panicked, res.panicVal = true, p
					}
				}()
				res.err = fn()
			}()
		}
		if err := netns.Set(orig); err != nil {
			res.err = errors.Join(res.err, fmt.Errorf("restore netns (thread discarded): %w", err))
			done <- res
			return // still locked: the runtime ends this thread
		}
		if err := threadIn(orig); err != nil {
			res.err = errors.Join(res.err, fmt.Errorf("restore netns (thread discarded): %w", err))
			done <- res
			return
		}
		runtime.UnlockOSThread()
		done <- res
	}()
	res := <-done
	if res.panicked {
		panic(res.panicVal)
	}
	return res.err
}

// threadIn reports (as an error) whether the calling thread is not in the namespace ns.
// The caller has locked its OS thread.
func threadIn(ns netns.NsHandle) error {
	cur, err := netns.Get()
	if err != nil {
		return fmt.Errorf("verify netns: %w", err)
	}
	defer cur.Close()
	if !cur.Equal(ns) {
		return fmt.Errorf("verify netns: thread is in %s, want %s", cur.UniqueId(), ns.UniqueId())
	}
	return nil
}

// createNamedNS creates a network namespace and bind-mounts it at path (which must not
// exist), the way `ip netns add` does, and returns an open handle to it. The calling
// goroutine's thread is never moved.
func createNamedNS(path string) (netns.NsHandle, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return netns.None(), err
	}
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE|os.O_EXCL, 0o444)
	if err != nil {
		return netns.None(), err
	}
	f.Close()
	type result struct {
		h   netns.NsHandle
		err error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			done <- result{netns.None(), fmt.Errorf("get current netns: %w", err)}
			return
		}
		defer orig.Close()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread() // unshare failed: the thread did not move
			done <- result{netns.None(), fmt.Errorf("unshare: %w", err)}
			return
		}
		var res result
		self := fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid())
		if err := unix.Mount(self, path, "none", unix.MS_BIND, ""); err != nil {
			res.err = fmt.Errorf("bind-mount %s: %w", path, err)
		} else if res.h, err = netns.GetFromPath(path); err != nil {
			res.err = fmt.Errorf("open %s: %w", path, err)
		}
		if err := netns.Set(orig); err != nil {
			res.err = errors.Join(res.err, fmt.Errorf("restore netns (thread discarded): %w", err))
			done <- res
			return
		}
		if err := threadIn(orig); err != nil {
			res.err = errors.Join(res.err, fmt.Errorf("restore netns (thread discarded): %w", err))
			done <- res
			return
		}
		runtime.UnlockOSThread()
		done <- res
	}()
	res := <-done
	if res.err != nil {
		if res.h.IsOpen() {
			res.h.Close()
		}
		return netns.None(), errors.Join(res.err, deleteNamedNS(path))
	}
	return res.h, nil
}

// deleteNamedNS unmounts and removes a namespace bind mount, as `ip netns delete` does.
// The namespace itself goes away when its last reference (mount, open fd, socket or
// process) is gone. A path that is not mounted or does not exist counts as deleted.
func deleteNamedNS(path string) error {
	if err := unix.Unmount(path, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("unmount %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}
