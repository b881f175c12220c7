package winnat

import (
	"cmp"
	"slices"
)

// View is a read-only snapshot of a NAT for display, as Get-NetNat,
// Get-NetNatStaticMapping and Get-NetNatSession show WinNAT: its
// configuration, its static mappings and its live sessions.
type View struct {
	Config Config
	// StaticMappings are sorted by protocol, external address and port.
	StaticMappings []StaticMapping
	// Sessions are the sessions alive at the latest packet time the NAT has
	// seen, oldest first (ties by internal source, then external port).
	Sessions []SessionInfo
}

// View returns a snapshot of n. It allocates and changes nothing; call it
// from the NAT's owner, between packets.
func (n *NAT) View() View {
	v := View{Config: n.Config(), StaticMappings: n.StaticMappings(), Sessions: n.Sessions()}
	slices.SortFunc(v.StaticMappings, func(a, b StaticMapping) int {
		return cmp.Or(cmp.Compare(a.Protocol, b.Protocol), a.ExternalAddr.Compare(b.ExternalAddr), cmp.Compare(a.ExternalPort, b.ExternalPort))
	})
	slices.SortStableFunc(v.Sessions, func(a, b SessionInfo) int {
		return cmp.Or(cmp.Compare(a.CreationTime, b.CreationTime), a.InternalSourceAddress.Compare(b.InternalSourceAddress),
			cmp.Compare(a.InternalSourcePort, b.InternalSourcePort), cmp.Compare(a.ExternalSourcePort, b.ExternalSourcePort))
	})
	return v
}
