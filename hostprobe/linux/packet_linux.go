package linux

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// ethPAll is ETH_P_ALL in network byte order, as sockaddr_ll.sll_protocol wants it.
var ethPAll = htons(unix.ETH_P_ALL)

// htons converts a 16-bit value to network byte order.
func htons(v uint16) uint16 { return v<<8 | v>>8 }

// captureBuf is the read buffer of a capture socket: large enough for a GSO super-frame
// (64 KiB) and more. Longer frames are truncated and flagged.
const captureBuf = 256 << 10

// captureRcvbuf is the kernel receive buffer of each capture socket (SO_RCVBUFFORCE).
// Frames arriving while it is full are dropped by the kernel and counted (Capturer.Drops).
const captureRcvbuf = 8 << 20

// An Injector sends raw Ethernet frames out of one interface inside a namespace.
//
// Its AF_PACKET socket is opened with protocol 0, so it never receives anything, and
// with PACKET_QDISC_BYPASS, so the frame goes straight to the driver without passing the
// kernel's packet taps (dev_queue_xmit_nit is only called on the qdisc path). That is
// how an injected frame is kept out of the captures: a Capturer on the injection
// interface does not record it as Out, while the receiving side (a veth peer, the
// underlay of a vxlan device, the parent of a macvlan...) records it like any other frame.
type Injector struct {
	ns      *Namespace
	ifname  string
	ifindex int

	mu sync.Mutex // protects fd
	fd int        // -1 once closed
}

// NewInjector opens an injector on ifname in n. The lab closes it on Close.
func (n *Namespace) NewInjector(ifname string) (*Injector, error) {
	inj := &Injector{ns: n, ifname: ifname, fd: -1}
	err := n.op("new injector on "+ifname, func() error {
		l, err := n.link(ifname)
		if err != nil {
			return err
		}
		inj.ifindex = l.Attrs().Index
		return doIn(n.fd, func() error {
			fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				return fmt.Errorf("socket: %w", err)
			}
			if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: 0, Ifindex: inj.ifindex}); err != nil {
				unix.Close(fd)
				return fmt.Errorf("bind: %w", err)
			}
			if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_QDISC_BYPASS, 1); err != nil {
				unix.Close(fd)
				return fmt.Errorf("PACKET_QDISC_BYPASS: %w", err)
			}
			inj.fd = fd
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	n.lab.record("injector "+n.full+"/"+ifname, inj.Close)
	return inj, nil
}

// Point returns "<namespace>/<ifname>", the injection point's name.
func (i *Injector) Point() string { return i.ns.name + "/" + i.ifname }

// Inject sends frame (a complete Ethernet frame, destination MAC first, no FCS) out of
// the interface, as if the namespace's stack had sent it. It does not keep frame. The
// kernel rejects frames shorter than the 14-byte Ethernet header and longer than the MTU
// plus the header (plus 4 for an 802.1Q tag).
func (i *Injector) Inject(frame []byte) error {
	if len(frame) < 14 {
		return fmt.Errorf("inject on %s: frame is %d bytes, need at least 14 (Ethernet header)", i.Point(), len(frame))
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.fd < 0 {
		return fmt.Errorf("inject on %s: %w", i.Point(), errClosed)
	}
	sa := &unix.SockaddrLinklayer{
		Protocol: htons(binary.BigEndian.Uint16(frame[12:14])),
		Ifindex:  i.ifindex,
		Halen:    6,
	}
	copy(sa.Addr[:], frame[:6])
	if err := unix.Sendto(i.fd, frame, 0, sa); err != nil {
		return fmt.Errorf("inject on %s: %d bytes: %w", i.Point(), len(frame), err)
	}
	return nil
}

// Close closes the injector's socket. Calling it again returns nil.
func (i *Injector) Close() error {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.fd < 0 {
		return nil
	}
	err := unix.Close(i.fd)
	i.fd = -1
	return err
}

// CapturePoint names an interface to capture on.
type CapturePoint struct {
	NS     *Namespace
	Ifname string
}

// Name returns "<namespace short name>/<ifname>", the value of Frame.Point.
func (p CapturePoint) Name() string {
	if p.NS == nil {
		return "<nil>/" + p.Ifname
	}
	return p.NS.name + "/" + p.Ifname
}

// Frame is one frame seen on a capture point.
type Frame struct {
	// Point is the capture point, "<namespace>/<ifname>".
	Point string
	// Dir is In (received by the interface) or Out (sent by it).
	Dir Direction
	// PktType is sll_pkttype: unix.PACKET_HOST, _BROADCAST, _MULTICAST, _OTHERHOST or _OUTGOING.
	PktType uint8
	// Time is the kernel's timestamp (SO_TIMESTAMPNS).
	Time time.Time
	// Data is the frame from the destination MAC on, without FCS. An 802.1Q tag the
	// driver had stripped into the skb (TP_STATUS_VLAN_VALID) is put back in, as libpcap does.
	Data []byte
	// OrigLen is the frame's full length; more than len(Data) if it was truncated.
	OrigLen int
	// ChecksumPartial is set when the kernel had not computed the transport checksum yet
	// (TP_STATUS_CSUMNOTREADY: checksum offload); the checksum field then holds only the
	// pseudo-header sum. See Namespace.SetOffloads.
	ChecksumPartial bool
	// Seq is the frame's position in the order the Capturer read frames from this point.
	Seq uint64
}

// Frames is a capture, ordered by kernel timestamp.
type Frames []Frame

// On returns the frames seen at point ("<namespace>/<ifname>"), in order.
func (fs Frames) On(point string) []Frame {
	var out []Frame
	for _, f := range fs {
		if f.Point == point {
			out = append(out, f)
		}
	}
	return out
}

// ByPoint groups the frames by capture point, each group in order.
func (fs Frames) ByPoint() map[string][]Frame {
	out := map[string][]Frame{}
	for _, f := range fs {
		out[f.Point] = append(out[f.Point], f)
	}
	return out
}

// A Capturer records every frame, incoming and outgoing, on a set of interfaces, each
// through its own AF_PACKET socket opened in the interface's namespace. It has no
// goroutines: frames wait in the kernel socket buffers (8 MiB each) until Drain or Stop
// reads them, with their kernel timestamps, so reading late does not reorder them.
type Capturer struct {
	lab    *Lab
	points []CapturePoint

	wakeMu sync.Mutex // protects writes to wake and its closing (which also holds mu)
	wake   int        // eventfd that interrupts a Drain waiting in poll; -1 once closed

	mu     sync.Mutex // protects the fields below; held by Drain while it waits
	fds    []int      // one per point; nil once stopped
	seq    []uint64   // frames read per point
	buf    []byte
	oob    []byte
	closed bool
}

// NewCapturer opens a capture socket on each point; all points must belong to l. The
// sockets are bound to their interface (ETH_P_ALL) before any frame is queued, so
// nothing from other interfaces gets in. The lab closes the capturer on Close.
func (l *Lab) NewCapturer(points ...CapturePoint) (*Capturer, error) {
	if len(points) == 0 {
		return nil, fmt.Errorf("new capturer: no capture points")
	}
	c := &Capturer{lab: l, points: append([]CapturePoint(nil), points...), wake: -1,
		seq: make([]uint64, len(points)), buf: make([]byte, captureBuf), oob: make([]byte, 512)}
	release, err := l.acquire()
	if err != nil {
		return nil, fmt.Errorf("new capturer: %w", err)
	}
	defer release()
	seen := map[string]bool{}
	for _, p := range points {
		if p.NS == nil || p.NS.lab != l {
			return nil, fmt.Errorf("new capturer: point %s: namespace is not in lab %s", p.Name(), l.session)
		}
		if seen[p.Name()] {
			return nil, fmt.Errorf("new capturer: point %s given twice", p.Name())
		}
		seen[p.Name()] = true
	}
	wake, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("new capturer: eventfd: %w", err)
	}
	c.wake = wake
	for _, p := range points {
		fd, err := openCapture(p)
		if err != nil {
			c.closeFDs()
			return nil, fmt.Errorf("new capturer: point %s: %w", p.Name(), err)
		}
		c.fds = append(c.fds, fd)
	}
	l.record(fmt.Sprintf("capturer on %d points", len(points)), func() error {
		c.wakeUp()
		c.mu.Lock()
		defer c.mu.Unlock()
		c.closeFDs() // frames not drained yet are dropped with the sockets
		return nil
	})
	return c, nil
}

// openCapture opens and binds the capture socket of p. The caller holds an acquire.
func openCapture(p CapturePoint) (int, error) {
	l, err := p.NS.link(p.Ifname)
	if err != nil {
		return -1, err
	}
	ifindex := l.Attrs().Index
	fd := -1
	err = doIn(p.NS.fd, func() error {
		// Protocol 0 at creation: the socket receives nothing until bind names both the
		// protocol and the interface.
		s, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
		if err != nil {
			return fmt.Errorf("socket: %w", err)
		}
		if err := unix.SetsockoptInt(s, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, captureRcvbuf); err != nil {
			if err := unix.SetsockoptInt(s, unix.SOL_SOCKET, unix.SO_RCVBUF, captureRcvbuf); err != nil {
				unix.Close(s)
				return fmt.Errorf("SO_RCVBUF: %w", err)
			}
		}
		if err := unix.SetsockoptInt(s, unix.SOL_PACKET, unix.PACKET_AUXDATA, 1); err != nil {
			unix.Close(s)
			return fmt.Errorf("PACKET_AUXDATA: %w", err)
		}
		if err := unix.SetsockoptInt(s, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1); err != nil {
			unix.Close(s)
			return fmt.Errorf("SO_TIMESTAMPNS: %w", err)
		}
		if err := unix.Bind(s, &unix.SockaddrLinklayer{Protocol: ethPAll, Ifindex: ifindex}); err != nil {
			unix.Close(s)
			return fmt.Errorf("bind: %w", err)
		}
		fd = s
		return nil
	})
	return fd, err
}

// Drain reads frames until none has arrived for quiet, or until limit has passed, and
// returns them (and forgets them), ordered by kernel timestamp. Frames from all points
// are merged; Frames.On selects one point.
func (c *Capturer) Drain(quiet, limit time.Duration) (Frames, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fds == nil {
		return nil, fmt.Errorf("capturer: drain: %w", errClosed)
	}
	var out Frames
	now := time.Now()
	deadline, last := now.Add(limit), now
	pfds := make([]unix.PollFd, 0, len(c.fds)+1)
	for _, fd := range c.fds {
		pfds = append(pfds, unix.PollFd{Fd: int32(fd), Events: unix.POLLIN})
	}
	pfds = append(pfds, unix.PollFd{Fd: int32(c.wake), Events: unix.POLLIN})
	for {
		n0 := len(out)
		var err error
		if out, err = c.readAll(out); err != nil {
			return sortFrames(out), err
		}
		now = time.Now()
		if len(out) > n0 {
			last = now
		}
		until := last.Add(quiet)
		if until.After(deadline) {
			until = deadline
		}
		wait := until.Sub(now)
		if wait <= 0 || c.closed {
			break
		}
		ms := int((wait + time.Millisecond - 1) / time.Millisecond)
		if _, err := unix.Poll(pfds, ms); err != nil && !errors.Is(err, unix.EINTR) {
			return sortFrames(out), fmt.Errorf("capturer: poll: %w", err)
		}
		if pfds[len(pfds)-1].Revents != 0 {
			break // Stop was called
		}
	}
	return sortFrames(out), nil
}

// readAll appends every frame queued on the sockets to out, without blocking.
func (c *Capturer) readAll(out Frames) (Frames, error) {
	for i, fd := range c.fds {
		for {
			n, oobn, _, from, err := unix.Recvmsg(fd, c.buf, c.oob, unix.MSG_DONTWAIT|unix.MSG_TRUNC)
			if errors.Is(err, unix.EAGAIN) {
				break
			}
			if errors.Is(err, unix.EINTR) {
				continue
			}
			if errors.Is(err, unix.ENETDOWN) {
				// A pending socket error, reported once: the interface was down at bind
				// time or went down (packet_do_bind, packet_notifier in af_packet.c).
				// Frames flow again when it comes up, so this is not fatal.
				continue
			}
			if err != nil {
				return out, fmt.Errorf("capturer: point %s: recvmsg: %w", c.points[i].Name(), err)
			}
			f := Frame{Point: c.points[i].Name(), OrigLen: n}
			if sll, ok := from.(*unix.SockaddrLinklayer); ok {
				f.PktType = sll.Pkttype
			}
			f.Dir = In
			if f.PktType == unix.PACKET_OUTGOING {
				f.Dir = Out
			}
			got := min(n, len(c.buf)) // with MSG_TRUNC, n is the frame's full length (packet(7))
			ctl := parseControl(c.oob[:oobn])
			f.Time = ctl.time
			f.ChecksumPartial = ctl.status&unix.TP_STATUS_CSUMNOTREADY != 0
			f.Data = frameData(c.buf[:got], ctl)
			if ctl.vlanValid {
				f.OrigLen += 4
			}
			c.seq[i]++
			f.Seq = c.seq[i]
			out = append(out, f)
		}
	}
	return out, nil
}

// sortFrames orders frames by kernel timestamp. An skb that crosses a veth keeps its
// timestamp, so the Out copy on one end and the In copy on the other are equal: among
// equal timestamps Out comes first, then read order.
func sortFrames(fs Frames) Frames {
	sort.SliceStable(fs, func(i, j int) bool {
		if !fs[i].Time.Equal(fs[j].Time) {
			return fs[i].Time.Before(fs[j].Time)
		}
		return fs[i].Dir == Out && fs[j].Dir != Out
	})
	return fs
}

// control is what the ancillary data of one received frame says.
type control struct {
	time      time.Time
	status    uint32
	vlanValid bool
	vlanTCI   uint16
	vlanTPID  uint16
}

// auxdataLen is sizeof(struct tpacket_auxdata).
const auxdataLen = 20

// parseControl decodes the SCM_TIMESTAMPNS and PACKET_AUXDATA control messages of a
// received frame. Malformed messages are ignored (their fields stay zero).
func parseControl(oob []byte) control {
	var ctl control
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return ctl
	}
	for _, m := range msgs {
		switch {
		case m.Header.Level == unix.SOL_SOCKET && m.Header.Type == unix.SCM_TIMESTAMPNS && len(m.Data) >= 16:
			sec := int64(binary.NativeEndian.Uint64(m.Data[0:8]))
			nsec := int64(binary.NativeEndian.Uint64(m.Data[8:16]))
			ctl.time = time.Unix(sec, nsec)
		case m.Header.Level == unix.SOL_PACKET && m.Header.Type == unix.PACKET_AUXDATA && len(m.Data) >= auxdataLen:
			// struct tpacket_auxdata: status, len, snaplen (u32), mac, net, vlan_tci, vlan_tpid (u16).
			ctl.status = binary.NativeEndian.Uint32(m.Data[0:4])
			ctl.vlanTCI = binary.NativeEndian.Uint16(m.Data[16:18])
			ctl.vlanTPID = binary.NativeEndian.Uint16(m.Data[18:20])
			ctl.vlanValid = ctl.status&unix.TP_STATUS_VLAN_VALID != 0
		}
	}
	return ctl
}

// frameData returns a copy of b, with the 802.1Q tag put back after the MAC addresses
// if the kernel had moved it out of the frame (TPID 0x8100 unless the kernel gave one).
func frameData(b []byte, ctl control) []byte {
	if !ctl.vlanValid || len(b) < 12 {
		return append([]byte(nil), b...)
	}
	tpid := uint16(0x8100)
	if ctl.status&unix.TP_STATUS_VLAN_TPID_VALID != 0 && ctl.vlanTPID != 0 {
		tpid = ctl.vlanTPID
	}
	out := make([]byte, 0, len(b)+4)
	out = append(out, b[:12]...)
	out = binary.BigEndian.AppendUint16(out, tpid)
	out = binary.BigEndian.AppendUint16(out, ctl.vlanTCI)
	return append(out, b[12:]...)
}

// Drops returns, per capture point, how many frames the kernel dropped because the socket
// buffer was full since the previous call (PACKET_STATISTICS, which resets on read).
func (c *Capturer) Drops() (map[string]uint32, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fds == nil {
		return nil, fmt.Errorf("capturer: drops: %w", errClosed)
	}
	out := map[string]uint32{}
	for i, fd := range c.fds {
		st, err := unix.GetsockoptTpacketStats(fd, unix.SOL_PACKET, unix.PACKET_STATISTICS)
		if err != nil {
			return nil, fmt.Errorf("capturer: point %s: PACKET_STATISTICS: %w", c.points[i].Name(), err)
		}
		out[c.points[i].Name()] = st.Drops
	}
	return out, nil
}

// Stop reads what is already queued, without waiting, closes the sockets and returns
// the frames. A Drain waiting in another goroutine returns at once. Calling Stop again
// returns nothing.
func (c *Capturer) Stop() (Frames, error) {
	c.wakeUp()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fds == nil {
		return nil, nil
	}
	out, err := c.readAll(nil)
	c.closeFDs()
	return sortFrames(out), err
}

// wakeUp interrupts a Drain waiting in poll (it watches the eventfd).
func (c *Capturer) wakeUp() {
	c.wakeMu.Lock()
	defer c.wakeMu.Unlock()
	if c.wake < 0 {
		return
	}
	var one [8]byte
	binary.NativeEndian.PutUint64(one[:], 1)
	unix.Write(c.wake, one[:]) // cannot block (EFD_NONBLOCK); an overflow still wakes
}

// closeFDs closes every socket. The caller holds c.mu (or owns c exclusively).
func (c *Capturer) closeFDs() {
	for _, fd := range c.fds {
		unix.Close(fd)
	}
	c.fds = nil
	c.closed = true
	c.wakeMu.Lock()
	if c.wake >= 0 {
		unix.Close(c.wake)
		c.wake = -1
	}
	c.wakeMu.Unlock()
}
