package winnat

import (
	"errors"
	"net/netip"
	"testing"
	"time"
)

func TestNewConfigErrors(t *testing.T) {
	tests := []struct {
		name  string
		mod   func(*Config)
		field string
	}{
		{"no prefix", func(c *Config) { c.InternalPrefix = netip.Prefix{} }, "InternalPrefix"},
		{"ipv6 prefix", func(c *Config) { c.InternalPrefix = netip.MustParsePrefix("fd00::/64") }, "InternalPrefix"},
		{"no external address", func(c *Config) { c.ExternalAddrs = nil }, "ExternalAddrs"},
		{"external inside the prefix", func(c *Config) { c.ExternalAddrs = []netip.Addr{e1, netip.MustParseAddr("172.16.5.4")} }, "ExternalAddrs[1]"},
		{"external ipv6", func(c *Config) { c.ExternalAddrs = []netip.Addr{netip.MustParseAddr("2001:db8::1")} }, "ExternalAddrs[0]"},
		{"external unspecified", func(c *Config) { c.ExternalAddrs = []netip.Addr{netip.IPv4Unspecified()} }, "ExternalAddrs[0]"},
		{"external duplicate", func(c *Config) { c.ExternalAddrs = []netip.Addr{e1, e1} }, "ExternalAddrs[1]"},
		{"port range reversed", func(c *Config) { c.PortRange = [2]uint16{2000, 1000} }, "PortRange"},
		{"port range from 0", func(c *Config) { c.PortRange = [2]uint16{0, 1000} }, "PortRange"},
		{"negative timeout", func(c *Config) { c.UDPIdleTimeout = -time.Second }, "UDPIdleTimeout"},
		{"unknown filtering", func(c *Config) { c.TCPFiltering = 7 }, "TCPFiltering"},
		{"unknown mapping", func(c *Config) { c.Mapping = 9 }, "Mapping"},
		{"negative sessions", func(c *Config) { c.MaxSessions = -1 }, "MaxSessions"},
		{"shard out of range", func(c *Config) { c.Shards, c.Shard = 4, 4 }, "Shard"},
		{"more shards than ports", func(c *Config) { c.PortRange, c.Shards = [2]uint16{100, 102}, 4 }, "Shards"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := testConfig()
			tt.mod(&c)
			_, err := New(c)
			var ce *ConfigError
			if !errors.As(err, &ce) || ce.Field != tt.field {
				t.Fatalf("New = %v, want a *ConfigError on %s", err, tt.field)
			}
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	// A Config with only the required fields gets the observed Get-NetNat
	// values (windows-behaviour.md section 2.3).
	n, err := New(Config{InternalPrefix: netip.MustParsePrefix("172.16.0.0/16"), ExternalAddrs: []netip.Addr{e1}})
	if err != nil {
		t.Fatal(err)
	}
	c := n.Config()
	want := struct {
		icmp, est, trans, udp time.Duration
		ports                 [2]uint16
		tf, uf                Filtering
		m                     Mapping
		inRefresh             bool
	}{30 * time.Second, 1800 * time.Second, 120 * time.Second, 120 * time.Second, [2]uint16{49152, 65535},
		AddressDependentFiltering, AddressDependentFiltering, EndpointIndependentMapping, false}
	got := want
	got.icmp, got.est, got.trans, got.udp = c.ICMPQueryTimeout, c.TCPEstablishedTimeout, c.TCPTransientTimeout, c.UDPIdleTimeout
	got.ports, got.tf, got.uf, got.m, got.inRefresh = c.PortRange, c.TCPFiltering, c.UDPFiltering, c.Mapping, c.UDPInboundRefresh
	if got != want {
		t.Errorf("defaults = %+v, want %+v", got, want)
	}
	if d := DefaultConfig(); !d.PortPreservation || d.MaxSessions != 1<<20 {
		t.Errorf("DefaultConfig: PortPreservation %v MaxSessions %d, want true %d", d.PortPreservation, d.MaxSessions, 1<<20)
	}
}

func TestShards(t *testing.T) {
	// Every port of the range belongs to exactly one shard, the one
	// ShardForPort names, and shard ranges are contiguous.
	for _, tt := range []struct {
		r      [2]uint16
		shards int
	}{{[2]uint16{49152, 65535}, 1}, {[2]uint16{49152, 65535}, 3}, {[2]uint16{1000, 1006}, 7}, {[2]uint16{1, 65535}, 16}} {
		owner := map[uint16]int{}
		for s := 0; s < tt.shards; s++ {
			c := testConfig()
			c.PortRange, c.Shard, c.Shards = tt.r, s, tt.shards
			n, err := New(c)
			if err != nil {
				t.Fatal(err)
			}
			lo, hi := n.PortRange()
			for p := int(lo); p <= int(hi); p++ {
				if o, dup := owner[uint16(p)]; dup {
					t.Fatalf("range %v/%d: port %d in shards %d and %d", tt.r, tt.shards, p, o, s)
				}
				owner[uint16(p)] = s
			}
		}
		if len(owner) != int(tt.r[1])-int(tt.r[0])+1 {
			t.Errorf("range %v/%d: %d ports covered, want %d", tt.r, tt.shards, len(owner), int(tt.r[1])-int(tt.r[0])+1)
		}
		for p, s := range owner {
			if got := ShardForPort(tt.r, tt.shards, p); got != s {
				t.Errorf("range %v/%d: ShardForPort(%d) = %d, want %d", tt.r, tt.shards, p, got, s)
			}
		}
	}
}

func TestStrings(t *testing.T) {
	tests := []struct{ got, want string }{
		{AddressDependentFiltering.String(), "AddressDependentFiltering"},
		{EndpointIndependentFiltering.String(), "EndpointIndependentFiltering"},
		{EndpointIndependentMapping.String(), "EndpointIndependentMapping"},
		{Translated.String(), "translated"},
		{NotHandled.String(), "not-handled"},
		{Dropped.String(), "dropped"},
		{Verdict(0).String(), "verdict?"},
		{StateTCPEstablished.String(), "established"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}
