package linux

import (
	"fmt"
	"net/netip"
	"sync"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// An IPInjector sends IP packets from a namespace's own stack, as a local process would:
// through a raw socket with the header included (IP_HDRINCL; IPPROTO_RAW implies it, raw(7)),
// so the packet is routed, passes the output and postrouting hooks (nat output DNAT,
// masquerade) and leaves by whatever interface the route picks, with the MACs the
// neighbour table gives. It is how the Linux backend injects at a host's management OS
// port (HOST/host).
//
// For IPv4 the kernel fills in the total length and the header checksum, and picks an
// identification when the packet's is 0 (raw(7): "IP_HDRINCL"). IPv6 packets are sent as
// they are.
type IPInjector struct {
	ns *Namespace

	mu       sync.Mutex // protects fd4, fd6
	fd4, fd6 int        // -1 once closed
}

// NewIPInjector opens raw IPv4 and IPv6 sockets in n. The lab closes them on Close.
func (n *Namespace) NewIPInjector() (*IPInjector, error) {
	inj := &IPInjector{ns: n, fd4: -1, fd6: -1}
	err := n.op("new ip injector", func() error {
		return doIn(n.fd, func() error {
			fd4, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_RAW)
			if err != nil {
				return fmt.Errorf("socket inet raw: %w", err)
			}
			fd6, err := unix.Socket(unix.AF_INET6, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_RAW)
			if err != nil {
				unix.Close(fd4)
				return fmt.Errorf("socket inet6 raw: %w", err)
			}
			inj.fd4, inj.fd6 = fd4, fd6
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	n.lab.record("ip injector "+n.full, inj.Close)
	return inj, nil
}

// Inject sends packet (an IPv4 or IPv6 header and what follows, no link-layer header).
// It does not keep packet.
func (i *IPInjector) Inject(packet []byte) error {
	if len(packet) < 1 {
		return fmt.Errorf("ip inject in %s: empty packet", i.ns.full)
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.fd4 < 0 {
		return fmt.Errorf("ip inject in %s: %w", i.ns.full, errClosed)
	}
	var fd int
	var sa unix.Sockaddr
	switch packet[0] >> 4 {
	case 4:
		if len(packet) < 20 {
			return fmt.Errorf("ip inject in %s: IPv4 packet is %d bytes, need 20", i.ns.full, len(packet))
		}
		dst, _ := netip.AddrFromSlice(packet[16:20])
		fd, sa = i.fd4, &unix.SockaddrInet4{Addr: dst.As4()}
	case 6:
		if len(packet) < 40 {
			return fmt.Errorf("ip inject in %s: IPv6 packet is %d bytes, need 40", i.ns.full, len(packet))
		}
		dst, _ := netip.AddrFromSlice(packet[24:40])
		fd, sa = i.fd6, &unix.SockaddrInet6{Addr: dst.As16()}
	default:
		return fmt.Errorf("ip inject in %s: IP version %d", i.ns.full, packet[0]>>4)
	}
	if err := unix.Sendto(fd, packet, 0, sa); err != nil {
		return fmt.Errorf("ip inject in %s: %d bytes: %w", i.ns.full, len(packet), err)
	}
	return nil
}

// Close closes the sockets. Calling it again returns nil.
func (i *IPInjector) Close() error {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.fd4 < 0 {
		return nil
	}
	err4, err6 := unix.Close(i.fd4), unix.Close(i.fd6)
	i.fd4, i.fd6 = -1, -1
	if err4 != nil {
		return err4
	}
	return err6
}

// LinkStats are an interface's packet counters as the kernel keeps them (rtnl_link_stats64).
type LinkStats struct {
	RxPackets, TxPackets uint64
	RxBytes, TxBytes     uint64
	RxDropped, TxDropped uint64
}

// Stats returns the counters of ifname.
func (n *Namespace) Stats(ifname string) (LinkStats, error) {
	var st LinkStats
	err := n.op("stats of "+ifname, func() error {
		l, err := n.link(ifname)
		if err != nil {
			return err
		}
		s := l.Attrs().Statistics
		if s == nil {
			return fmt.Errorf("link %q: no statistics", ifname)
		}
		st = LinkStats{RxPackets: s.RxPackets, TxPackets: s.TxPackets, RxBytes: s.RxBytes, TxBytes: s.TxBytes,
			RxDropped: s.RxDropped, TxDropped: s.TxDropped}
		return nil
	})
	return st, err
}

// FlushConntrack deletes every IPv4 and IPv6 conntrack entry of n (`conntrack -F`), so
// that NAT and stateful filter rules start again from empty state.
func (n *Namespace) FlushConntrack() error {
	return n.op("flush conntrack", func() error {
		return doIn(n.fd, func() error {
			h, err := netlink.NewHandle(unix.NETLINK_NETFILTER)
			if err != nil {
				return err
			}
			defer h.Close()
			for _, fam := range []netlink.InetFamily{unix.AF_INET, unix.AF_INET6} {
				if _, err := h.ConntrackDeleteFilters(netlink.ConntrackTable, fam, matchAll{}); err != nil {
					return fmt.Errorf("family %d: %w", fam, err)
				}
			}
			return nil
		})
	})
}

// matchAll is a conntrack filter that matches every flow (netlink.ConntrackFilter's zero
// value matches none).
type matchAll struct{}

func (matchAll) MatchConntrackFlow(*netlink.ConntrackFlow) bool { return true }

// SetBridgePortFlood switches flooding of unknown unicast off or on for a bridge port
// (`bridge link set dev IF flood on|off`, IFLA_BRPORT_UNICAST_FLOOD). With flooding off
// a bridge sends a unicast frame only to the port its forwarding database names, as a
// switch with static entries does; broadcast and multicast still flood.
func (n *Namespace) SetBridgePortFlood(ifname string, on bool) error {
	return n.bridgePortFlag("flood", ifname, on, n.nl.LinkSetFlood)
}

// SetBridgePortHairpin switches hairpin mode of bridge port ifname on or off (`bridge
// link set dev IF hairpin on`): the bridge may send a frame back out of the port it
// came in by.
func (n *Namespace) SetBridgePortHairpin(ifname string, on bool) error {
	return n.bridgePortFlag("hairpin", ifname, on, n.nl.LinkSetHairpin)
}

// bridgePortFlag sets a bridge port flag with set.
func (n *Namespace) bridgePortFlag(what, ifname string, on bool, set func(netlink.Link, bool) error) error {
	return n.op(fmt.Sprintf("set %s %v on %s", what, on, ifname), func() error {
		l, err := n.link(ifname)
		if err != nil {
			return err
		}
		return set(l, on)
	})
}

// AgeConntrack makes n's conntrack entries d older, for scenarios whose packets are
// timed in virtual time: entries whose remaining timeout is at most d are deleted (they
// would have expired), the others get their remaining timeout lowered by d where the
// kernel accepts the update (ctnetlink CTA_TIMEOUT; left as they are otherwise). It
// returns how many entries it deleted.
func (n *Namespace) AgeConntrack(d time.Duration) (int, error) {
	secs := uint32(min(d/time.Second, 1<<31))
	if secs == 0 {
		return 0, nil
	}
	deleted := 0
	err := n.op("age conntrack", func() error {
		return doIn(n.fd, func() error {
			h, err := netlink.NewHandle(unix.NETLINK_NETFILTER)
			if err != nil {
				return err
			}
			defer h.Close()
			for _, fam := range []netlink.InetFamily{unix.AF_INET, unix.AF_INET6} {
				c, err := h.ConntrackDeleteFilters(netlink.ConntrackTable, fam, expiring{secs})
				if err != nil {
					return fmt.Errorf("family %d: %w", fam, err)
				}
				deleted += int(c)
				flows, err := h.ConntrackTableList(netlink.ConntrackTable, fam)
				if err != nil {
					return fmt.Errorf("family %d: %w", fam, err)
				}
				for _, f := range flows {
					if f.TimeOut > secs {
						f.TimeOut -= secs
						_ = h.ConntrackUpdate(netlink.ConntrackTable, fam, f) // best effort
					}
				}
			}
			return nil
		})
	})
	return deleted, err
}

// expiring matches conntrack flows whose remaining timeout is at most secs.
type expiring struct{ secs uint32 }

func (e expiring) MatchConntrackFlow(f *netlink.ConntrackFlow) bool { return f.TimeOut <= e.secs }
