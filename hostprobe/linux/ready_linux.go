package linux

import (
	"errors"
	"fmt"
	"net"
	"sort"
	"strings"
	"time"

	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"
)

// brStateForwarding is BR_STATE_FORWARDING (include/uapi/linux/if_bridge.h).
const brStateForwarding = 3

// WaitReady waits until the given links of n (all administratively up links if none
// are given) are running (IFF_RUNNING: up with carrier, so both ends of a veth are up)
// and, if they are bridge ports, forwarding. A veth's carrier reaches its bridge through
// the kernel's link-watch work, which may lag up to a second behind SetUp; a frame
// injected before that is dropped by the bridge. On timeout the error names the links
// that are not ready.
func (n *Namespace) WaitReady(timeout time.Duration, ifnames ...string) error {
	deadline := time.Now().Add(timeout)
	for {
		var notReady []string
		err := n.op("wait until ready", func() error {
			var err error
			notReady, err = n.notReady(ifnames)
			return err
		})
		if err != nil {
			return err
		}
		if len(notReady) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("netns %s: wait until ready: after %v, not ready: %s", n.full, timeout, strings.Join(notReady, ", "))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// WaitReady runs Namespace.WaitReady(timeout) on every namespace of the lab.
func (l *Lab) WaitReady(timeout time.Duration) error {
	l.mu.Lock()
	nss := make([]*Namespace, 0, len(l.ns))
	for _, n := range l.ns {
		nss = append(nss, n)
	}
	l.mu.Unlock()
	sort.Slice(nss, func(i, j int) bool { return nss[i].name < nss[j].name })
	deadline := time.Now().Add(timeout)
	for _, n := range nss {
		if err := n.WaitReady(time.Until(deadline)); err != nil {
			return err
		}
	}
	return nil
}

// notReady returns the names (with the reason) of the links that are not ready. The
// caller holds an acquire.
func (n *Namespace) notReady(ifnames []string) ([]string, error) {
	links, err := n.nl.LinkList()
	if err != nil {
		return nil, err
	}
	want := map[string]bool{}
	for _, name := range ifnames {
		want[name] = true
	}
	var ports map[int]uint8
	var out []string
	for _, l := range links {
		a := l.Attrs()
		if len(ifnames) > 0 && !want[a.Name] || len(ifnames) == 0 && a.Flags&net.FlagUp == 0 {
			continue
		}
		delete(want, a.Name)
		switch {
		case a.Flags&net.FlagUp == 0:
			out = append(out, a.Name+" (down)")
			continue
		case a.RawFlags&unix.IFF_RUNNING == 0:
			out = append(out, a.Name+" (no carrier)")
			continue
		}
		if a.MasterIndex == 0 {
			continue
		}
		if ports == nil {
			if ports, err = n.bridgePortStates(); err != nil {
				return nil, err
			}
		}
		if st, ok := ports[a.Index]; ok && st != brStateForwarding {
			out = append(out, fmt.Sprintf("%s (bridge port state %d, not forwarding)", a.Name, st))
		}
	}
	for name := range want {
		out = append(out, name+" (no such link)")
	}
	sort.Strings(out)
	return out, nil
}

// bridgePortStates returns IFLA_BRPORT_STATE of every bridge port in n, by ifindex,
// from an AF_BRIDGE RTM_GETLINK dump. The caller holds an acquire.
func (n *Namespace) bridgePortStates() (map[int]uint8, error) {
	out := map[int]uint8{}
	err := doIn(n.fd, func() error {
		req := nl.NewNetlinkRequest(unix.RTM_GETLINK, unix.NLM_F_DUMP)
		req.AddData(nl.NewIfInfomsg(unix.AF_BRIDGE))
		msgs, err := req.Execute(unix.NETLINK_ROUTE, unix.RTM_NEWLINK)
		if err != nil && !errors.Is(err, unix.EINTR) {
			return err
		}
		for _, m := range msgs {
			if len(m) < unix.SizeofIfInfomsg {
				continue
			}
			info := nl.DeserializeIfInfomsg(m)
			attrs, err := nl.ParseRouteAttr(m[unix.SizeofIfInfomsg:])
			if err != nil {
				return err
			}
			for _, a := range attrs {
				if a.Attr.Type&^unix.NLA_F_NESTED != unix.IFLA_PROTINFO {
					continue
				}
				pinfo, err := nl.ParseRouteAttr(a.Value)
				if err != nil {
					return err
				}
				for _, p := range pinfo {
					if p.Attr.Type&^unix.NLA_F_NESTED == nl.IFLA_BRPORT_STATE && len(p.Value) >= 1 {
						out[int(info.Index)] = p.Value[0]
					}
				}
			}
		}
		return nil
	})
	return out, err
}
