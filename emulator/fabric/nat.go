package fabric

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hnspath/hnspath/emulator/winnat"
)

// natConfig turns Set-NetNat-style settings into a WinNAT configuration;
// unset fields keep WinNAT's defaults.
func natConfig(s *NATSpec) (winnat.Config, error) {
	var c winnat.Config
	if s == nil {
		return c, nil
	}
	sec := func(n int) time.Duration { return time.Duration(n) * time.Second }
	c.ICMPQueryTimeout = sec(s.IcmpQueryTimeout)
	c.TCPEstablishedTimeout = sec(s.TcpEstablishedConnectionTimeout)
	c.TCPTransientTimeout = sec(s.TcpTransientConnectionTimeout)
	c.UDPIdleTimeout = sec(s.UdpIdleSessionTimeout)
	c.UDPInboundRefresh = s.UdpInboundRefresh
	c.MaxSessions = s.MaxSessions
	var err error
	if c.TCPFiltering, err = filtering(s.TcpFilteringBehavior); err != nil {
		return c, fmt.Errorf("TcpFilteringBehavior: %w", err)
	}
	if c.UDPFiltering, err = filtering(s.UdpFilteringBehavior); err != nil {
		return c, fmt.Errorf("UdpFilteringBehavior: %w", err)
	}
	if s.PortRange != "" {
		lo, hi, ok := strings.Cut(s.PortRange, "-")
		a, err1 := strconv.ParseUint(strings.TrimSpace(lo), 10, 16)
		b, err2 := strconv.ParseUint(strings.TrimSpace(hi), 10, 16)
		if !ok || err1 != nil || err2 != nil || a == 0 || a > b {
			return c, fmt.Errorf("PortRange: want LOW-HIGH, got %q", s.PortRange)
		}
		c.PortRange = [2]uint16{uint16(a), uint16(b)}
	}
	return c, nil
}

func filtering(s string) (winnat.Filtering, error) {
	switch strings.ToLower(s) {
	case "":
		return winnat.AddressDependentFiltering, nil
	case "addressdependentfiltering", "address-dependent":
		return winnat.AddressDependentFiltering, nil
	case "endpointindependentfiltering", "endpoint-independent":
		return winnat.EndpointIndependentFiltering, nil
	}
	return 0, fmt.Errorf("want AddressDependentFiltering or EndpointIndependentFiltering, got %q", s)
}
