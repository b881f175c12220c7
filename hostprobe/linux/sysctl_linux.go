package linux

import (
	"fmt"
	"os"
	"path"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// sysctlPath turns a sysctl key into a path under /proc/sys. key is either dotted
// ("net.ipv4.ip_forward") or a path ("net/ipv4/conf/eth0.100/rp_filter"; use this form
// when an interface name holds a dot). Only keys under net/ are accepted: those are the
// per-namespace ones, and anything else would change the host.
func sysctlPath(key string) (string, error) {
	p := key
	if !strings.Contains(p, "/") {
		p = strings.ReplaceAll(p, ".", "/")
	}
	if !strings.HasPrefix(p, "net/") {
		return "", fmt.Errorf("sysctl %q: only net.* keys are per network namespace", key)
	}
	for _, part := range strings.Split(p, "/") {
		if part == "" || part == "." || part == ".." {
			return "", fmt.Errorf("sysctl %q: empty, \".\" or \"..\" path element", key)
		}
	}
	return path.Join("/proc/sys", p), nil
}

// SetSysctl writes value to the sysctl key inside n. The file is opened by a thread in n:
// /proc/sys/net resolves against the opening thread's network namespace. Useful keys:
//
//	net.ipv4.ip_forward=1                     route between interfaces
//	net.ipv4.conf.all.rp_filter=0, net/ipv4/conf/<if>/rp_filter=0   no reverse-path drop
//	net.ipv6.conf.<if>.accept_dad=0, net.ipv6.conf.<if>.disable_ipv6=1
//	net.ipv4.conf.<if>.arp_ignore=1, net.ipv4.conf.<if>.proxy_arp=1
//	net.ipv6.conf.all.forwarding=1
//
// Settings under conf/default apply to links created afterwards.
func (n *Namespace) SetSysctl(key, value string) error {
	return n.op(fmt.Sprintf("set sysctl %s=%s", key, value), func() error {
		p, err := sysctlPath(key)
		if err != nil {
			return err
		}
		return doIn(n.fd, func() error {
			f, err := os.OpenFile(p, os.O_WRONLY, 0)
			if err != nil {
				return err
			}
			if _, err := f.WriteString(value); err != nil {
				f.Close()
				return err
			}
			return f.Close()
		})
	})
}

// Sysctl reads the sysctl key inside n, without the trailing newline.
func (n *Namespace) Sysctl(key string) (string, error) {
	var out string
	err := n.op("read sysctl "+key, func() error {
		p, err := sysctlPath(key)
		if err != nil {
			return err
		}
		return doIn(n.fd, func() error {
			b, err := os.ReadFile(p)
			out = strings.TrimRight(string(b), "\n")
			return err
		})
	})
	return out, err
}

// ethtool commands (include/uapi/linux/ethtool.h) that switch one offload on or off.
const (
	ethtoolSRXCSUM = 0x15 // rx checksumming
	ethtoolSTXCSUM = 0x17 // tx checksumming
	ethtoolSSG     = 0x19 // scatter-gather
	ethtoolSTSO    = 0x1f // TCP segmentation offload
	ethtoolSGSO    = 0x24 // generic segmentation offload
	ethtoolSGRO    = 0x2c // generic receive offload
)

// ethtoolValue is struct ethtool_value.
type ethtoolValue struct {
	cmd  uint32
	data uint32
}

// ifreqData is struct ifreq with the ifr_data pointer member. data is an unsafe.Pointer
// so the garbage collector keeps the pointed-to value alive during the ioctl.
type ifreqData struct {
	name [unix.IFNAMSIZ]byte
	data unsafe.Pointer
	_    [24 - unsafe.Sizeof(uintptr(0))]byte // pad to sizeof(struct ifreq) == 40
}

// SetOffloads switches tx/rx checksum offload, scatter-gather, TSO, GSO and GRO of
// ifname on or off. With offloads on (the veth default), packets that local sockets send
// carry a partial checksum and may be GSO super-frames larger than the MTU, and a capture
// shows them that way (Frame.ChecksumPartial); turn them off on a namespace's interfaces
// to capture wire-exact frames with final checksums.
func (n *Namespace) SetOffloads(ifname string, on bool) error {
	return n.op(fmt.Sprintf("set offloads of %s to %v", ifname, on), func() error {
		if err := checkIfname(ifname); err != nil {
			return err
		}
		return doIn(n.fd, func() error {
			fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				return err
			}
			defer unix.Close(fd)
			v := uint32(0)
			if on {
				v = 1
			}
			// Order matters when turning off: TSO and SG depend on tx checksumming.
			cmds := []struct {
				cmd  uint32
				name string
			}{{ethtoolSGRO, "gro"}, {ethtoolSGSO, "gso"}, {ethtoolSTSO, "tso"}, {ethtoolSSG, "sg"}, {ethtoolSTXCSUM, "tx-checksum"}, {ethtoolSRXCSUM, "rx-checksum"}}
			if on {
				for i, j := 0, len(cmds)-1; i < j; i, j = i+1, j-1 {
					cmds[i], cmds[j] = cmds[j], cmds[i]
				}
			}
			for _, c := range cmds {
				val := &ethtoolValue{cmd: c.cmd, data: v}
				var ifr ifreqData
				copy(ifr.name[:], ifname)
				ifr.data = unsafe.Pointer(val)
				if _, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SIOCETHTOOL, uintptr(unsafe.Pointer(&ifr))); errno != 0 {
					if errno == unix.EOPNOTSUPP && !on {
						continue // the device has no such offload to turn off
					}
					return fmt.Errorf("ethtool %s: %w", c.name, errno)
				}
			}
			return nil
		})
	})
}
