package winnat

import (
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// Filtering is how WinNAT filters inbound packets on a dynamic mapping
// (RFC 4787 section 5; RFC 5382 section 4.3). The zero value is WinNAT's
// observed default.
type Filtering uint8

// Filtering behaviours, named as Get-NetNat shows them.
const (
	// AddressDependentFiltering admits inbound packets on a mapping only from
	// remote addresses the internal endpoint has sent to (any remote port).
	//
	// Real hosts report TcpFilteringBehavior and UdpFilteringBehavior
	// AddressDependentFiltering [OBS: Get-NetNat output, windows-behaviour.md
	// section 2.3], while the Set-NetNat cmdlet reference says the default is
	// EndpointIndependentFiltering [S: Set-NetNat.md]. We follow what real
	// hosts show and record the conflict here.
	AddressDependentFiltering Filtering = iota
	// EndpointIndependentFiltering admits inbound packets on a mapping from
	// any remote address and port (RFC 4787 REQ-8 "for transparency").
	EndpointIndependentFiltering
)

var filteringNames = [...]string{"AddressDependentFiltering", "EndpointIndependentFiltering"}

// String returns the name Get-NetNat uses.
func (f Filtering) String() string {
	if int(f) < len(filteringNames) {
		return filteringNames[f]
	}
	return "Filtering?"
}

// Mapping is how WinNAT picks the external address and port of a session
// (RFC 4787 section 4.1). The zero value is the default.
type Mapping uint8

// Mapping behaviours.
const (
	// EndpointIndependentMapping reuses the external port of an internal
	// address:port for every destination (RFC 4787 REQ-1, RFC 5382 REQ-1).
	// [I] WinNAT's mapping behaviour is undocumented
	// (windows-behaviour.md section 2.4 and open item 7.1); EIM is the RFC
	// requirement and our assumption until measured.
	EndpointIndependentMapping Mapping = iota
	// AddressDependentMapping gives an internal address:port one external
	// port per remote address.
	AddressDependentMapping
	// AddressAndPortDependentMapping gives an internal address:port one
	// external port per remote address:port.
	AddressAndPortDependentMapping
)

var mappingNames = [...]string{"EndpointIndependentMapping", "AddressDependentMapping", "AddressAndPortDependentMapping"}

// String returns the RFC 4787 name.
func (m Mapping) String() string {
	if int(m) < len(mappingNames) {
		return mappingNames[m]
	}
	return "Mapping?"
}

// Default values (windows-behaviour.md section 2.3, observed Get-NetNat).
const (
	DefaultICMPQueryTimeout      = 30 * time.Second
	DefaultTCPEstablishedTimeout = 1800 * time.Second
	DefaultTCPTransientTimeout   = 120 * time.Second
	DefaultUDPIdleTimeout        = 120 * time.Second
	// DefaultMaxSessions bounds the session table.
	DefaultMaxSessions = 1 << 20
)

// DefaultPortRange is the range of external ports for dynamic sessions:
// the Windows dynamic port range 49152-65535 (RFC 6335 section 6).
// [I] WinNAT's own range is undocumented (windows-behaviour.md open item
// 7.1); this is an inference.
var DefaultPortRange = [2]uint16{49152, 65535}

// DefaultInternalPrefix is Docker's default nat prefix on Windows
// [S: VD architecture.md].
var DefaultInternalPrefix = netip.MustParsePrefix("172.16.0.0/16")

// Config configures a NAT. Zero durations, a zero PortRange, zero
// MaxSessions and zero Shards take their defaults in New. The two booleans
// whose WinNAT default is true cannot be told from "unset", so build a
// Config from DefaultConfig to get every WinNAT default.
type Config struct {
	// Host names the host in trace events.
	Host string

	// InternalPrefix is the NAT network's prefix (Get-NetNat
	// InternalIPInterfaceAddressPrefix). WinNAT supports one per host and
	// IPv4 only (windows-behaviour.md section 2.2).
	InternalPrefix netip.Prefix
	// ExternalAddrs are the host's external IPv4 addresses. They must lie
	// outside InternalPrefix (section 2.2, limit 2).
	ExternalAddrs []netip.Addr
	// PortRange is the inclusive range of external ports (and ICMP query
	// identifiers) for dynamic sessions; default DefaultPortRange.
	PortRange [2]uint16

	// Idle timeouts: defaults 30 s, 1800 s, 120 s and 120 s (observed
	// IcmpQueryTimeout, TcpEstablishedConnectionTimeout,
	// TcpTransientConnectionTimeout, UdpIdleSessionTimeout).
	ICMPQueryTimeout      time.Duration
	TCPEstablishedTimeout time.Duration
	TCPTransientTimeout   time.Duration
	UDPIdleTimeout        time.Duration

	// TCPFiltering and UDPFiltering default to AddressDependentFiltering.
	TCPFiltering, UDPFiltering Filtering
	// Mapping defaults to EndpointIndependentMapping [I].
	Mapping Mapping

	// UDPInboundRefresh lets inbound packets refresh UDP sessions (Set-NetNat
	// -UdpInboundRefresh); WinNAT's default is false: only outbound packets
	// refresh them [S: Set-NetNat.md; OBS].
	UDPInboundRefresh bool
	// PortPreservation keeps the internal source port (or ICMP identifier)
	// as the external one when it lies in this shard's port range and is
	// free. [I] WinNAT's port preservation is undocumented (open item 7.1);
	// DefaultConfig sets it.
	PortPreservation bool

	// MaxSessions bounds the session table (default DefaultMaxSessions).
	// Mappings are bounded by it too: each lives only while it has sessions.
	MaxSessions int

	// Shard and Shards split PortRange between per-core instances, as a
	// benchmark shards flows like RSS: shard i of n allocates ports only
	// from the i-th of n equal parts. Shards 0 means 1. See ShardForPort.
	Shard, Shards int
}

// DefaultConfig returns WinNAT's defaults (observed Get-NetNat values,
// windows-behaviour.md section 2.3, plus the [I] assumptions above) with
// Docker's default internal prefix and no external address.
func DefaultConfig() Config {
	return Config{
		InternalPrefix:        DefaultInternalPrefix,
		PortRange:             DefaultPortRange,
		ICMPQueryTimeout:      DefaultICMPQueryTimeout,
		TCPEstablishedTimeout: DefaultTCPEstablishedTimeout,
		TCPTransientTimeout:   DefaultTCPTransientTimeout,
		UDPIdleTimeout:        DefaultUDPIdleTimeout,
		TCPFiltering:          AddressDependentFiltering,
		UDPFiltering:          AddressDependentFiltering,
		Mapping:               EndpointIndependentMapping,
		UDPInboundRefresh:     false,
		PortPreservation:      true,
		MaxSessions:           DefaultMaxSessions,
		Shards:                1,
	}
}

// ConfigError is an invalid Config or StaticMapping field.
type ConfigError struct {
	Field string // e.g. "ExternalAddrs[1]"
	Err   error
}

// Error returns "winnat: config: Field: cause".
func (e *ConfigError) Error() string { return "winnat: config: " + e.Field + ": " + e.Err.Error() }

// Unwrap returns the cause.
func (e *ConfigError) Unwrap() error { return e.Err }

func fieldErr(field, format string, args ...any) error {
	return &ConfigError{Field: field, Err: fmt.Errorf(format, args...)}
}

// withDefaults returns c with zero fields set to their defaults, or the
// first invalid field.
func (c Config) withDefaults() (Config, error) {
	if !c.InternalPrefix.IsValid() {
		return c, fieldErr("InternalPrefix", "required")
	}
	if !c.InternalPrefix.Addr().Is4() {
		return c, fieldErr("InternalPrefix", "%v is not IPv4: WinNAT does not translate IPv6", c.InternalPrefix)
	}
	c.InternalPrefix = c.InternalPrefix.Masked()
	if len(c.ExternalAddrs) == 0 {
		return c, fieldErr("ExternalAddrs", "at least one external address is required")
	}
	for i, a := range c.ExternalAddrs {
		f := fmt.Sprintf("ExternalAddrs[%d]", i)
		switch {
		case !a.IsValid():
			return c, fieldErr(f, "invalid address")
		case !a.Is4():
			return c, fieldErr(f, "%v is not IPv4: WinNAT does not translate IPv6", a)
		case a.IsUnspecified() || a.IsMulticast():
			return c, fieldErr(f, "%v is not a unicast address", a)
		case c.InternalPrefix.Contains(a):
			return c, fieldErr(f, "%v overlaps the internal prefix %v (internal and external prefixes must not overlap)", a, c.InternalPrefix)
		}
		for j := 0; j < i; j++ {
			if c.ExternalAddrs[j] == a {
				return c, fieldErr(f, "%v duplicates ExternalAddrs[%d]", a, j)
			}
		}
	}
	c.ExternalAddrs = append([]netip.Addr(nil), c.ExternalAddrs...)
	if c.PortRange == [2]uint16{} {
		c.PortRange = DefaultPortRange
	}
	if c.PortRange[0] == 0 || c.PortRange[0] > c.PortRange[1] {
		return c, fieldErr("PortRange", "%d-%d: need 1 <= first <= last", c.PortRange[0], c.PortRange[1])
	}
	for _, d := range []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{
		{"ICMPQueryTimeout", &c.ICMPQueryTimeout, DefaultICMPQueryTimeout},
		{"TCPEstablishedTimeout", &c.TCPEstablishedTimeout, DefaultTCPEstablishedTimeout},
		{"TCPTransientTimeout", &c.TCPTransientTimeout, DefaultTCPTransientTimeout},
		{"UDPIdleTimeout", &c.UDPIdleTimeout, DefaultUDPIdleTimeout},
	} {
		if *d.v < 0 {
			return c, fieldErr(d.name, "%v is negative", *d.v)
		}
		if *d.v == 0 {
			*d.v = d.def
		}
	}
	if c.TCPFiltering > EndpointIndependentFiltering {
		return c, fieldErr("TCPFiltering", "unknown value %d", c.TCPFiltering)
	}
	if c.UDPFiltering > EndpointIndependentFiltering {
		return c, fieldErr("UDPFiltering", "unknown value %d", c.UDPFiltering)
	}
	if c.Mapping > AddressAndPortDependentMapping {
		return c, fieldErr("Mapping", "unknown value %d", c.Mapping)
	}
	if c.MaxSessions < 0 {
		return c, fieldErr("MaxSessions", "%d is negative", c.MaxSessions)
	}
	if c.MaxSessions == 0 {
		c.MaxSessions = DefaultMaxSessions
	}
	if c.MaxSessions > 1<<31 {
		return c, fieldErr("MaxSessions", "%d is more than 2^31", c.MaxSessions)
	}
	if c.Shards < 0 {
		return c, fieldErr("Shards", "%d is negative", c.Shards)
	}
	if c.Shards == 0 {
		c.Shards = 1
	}
	if c.Shard < 0 || c.Shard >= c.Shards {
		return c, fieldErr("Shard", "%d is not in [0, %d)", c.Shard, c.Shards)
	}
	if n := int(c.PortRange[1]) - int(c.PortRange[0]) + 1; n < c.Shards {
		return c, fieldErr("Shards", "%d shards need at least %d ports, PortRange has %d", c.Shards, c.Shards, n)
	}
	return c, nil
}

// shardRange returns the inclusive sub-range of ports of shard s of n.
func shardRange(r [2]uint16, s, n int) (lo, hi uint16) {
	size := int(r[1]) - int(r[0]) + 1
	return uint16(int(r[0]) + s*size/n), uint16(int(r[0]) + (s+1)*size/n - 1)
}

// ShardForPort returns the shard whose part of portRange holds port, for a
// host that dispatches inbound packets to per-core NATs configured with
// Shards n (the external port, or ICMP identifier, of an inbound packet
// names its session's shard; see InboundPort). Ports outside portRange
// (static mappings) go to shard 0.
func ShardForPort(portRange [2]uint16, n int, port uint16) int {
	if n <= 1 || port < portRange[0] || port > portRange[1] {
		return 0
	}
	size := int(portRange[1]) - int(portRange[0]) + 1
	o := int(port - portRange[0])
	s := o * n / size
	for s+1 < n && (s+1)*size/n <= o {
		s++
	}
	for s > 0 && s*size/n > o {
		s--
	}
	return s
}

// ErrPortInUse says an external (protocol, address, port) is already taken.
// HNS reports this case as HCN_E_PORT_ALREADY_EXISTS
// (windows-behaviour.md section 5.4).
var ErrPortInUse = errors.New("port already exists (HCN_E_PORT_ALREADY_EXISTS 0x803b0013)")
