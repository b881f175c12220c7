package linux

import (
	"fmt"
	"io"
	"time"
)

// L2BridgeMode selects the Linux analogue of l2bridge's MAC rewrite.
type L2BridgeMode uint8

const (
	// L2BridgeAuto uses ipvlan where the kernel has it, else MAC rewrites.
	L2BridgeAuto L2BridgeMode = iota
	// L2BridgeMACRewrite uses a bridge with nftables MAC rewrite rules.
	L2BridgeMACRewrite
	// L2BridgeIPVlan uses ipvlan L2 children of the NIC: containers send with the host's
	// MAC (the kernel analogue of the source MAC rewrite), and frames reach them with the
	// host's MAC as destination (no destination rewrite).
	L2BridgeIPVlan
)

// String returns "auto", "macrewrite" or "ipvlan".
func (m L2BridgeMode) String() string {
	switch m {
	case L2BridgeAuto:
		return "auto"
	case L2BridgeMACRewrite:
		return "macrewrite"
	case L2BridgeIPVlan:
		return "ipvlan"
	}
	return fmt.Sprintf("l2bridge-mode(%d)", uint8(m))
}

// Timings of Run.
const (
	// DefaultQuiet is how long Run waits for frames after the last one before the next
	// input: the kernel handles an injected frame, and what it causes, before the
	// sendto returns except when softirq work is deferred to ksoftirqd.
	DefaultQuiet = 25 * time.Millisecond
	// DefaultLimit bounds the wait for one input's frames.
	DefaultLimit = 2 * time.Second
)

// BackendOptions tune the Linux backend.
type BackendOptions struct {
	// L2Bridge selects the l2bridge analogue; Auto asks the kernel for ipvlan.
	L2Bridge L2BridgeMode
	// Quiet and Limit time each input's capture (DefaultQuiet, DefaultLimit when 0).
	Quiet, Limit time.Duration
	// CloseOnSignal closes the lab on SIGINT/SIGTERM (and exits, see Lab.CloseOnSignal).
	CloseOnSignal bool
	// Log, when set, receives one line per object Close deletes (Lab.SetLog).
	Log io.Writer
}

// ParseL2BridgeMode parses "auto", "macrewrite" or "ipvlan".
func ParseL2BridgeMode(s string) (L2BridgeMode, error) {
	for _, m := range []L2BridgeMode{L2BridgeAuto, L2BridgeMACRewrite, L2BridgeIPVlan} {
		if m.String() == s {
			return m, nil
		}
	}
	return 0, fmt.Errorf("l2bridge mode %q: want auto, macrewrite or ipvlan", s)
}
