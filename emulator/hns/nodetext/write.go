package nodetext

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/hnspath/hnspath/emulator/hns"
)

// WriteHNSJSON writes the objects as ConvertTo-Json prints what
// Get-HnsNetwork, Get-HnsEndpoint and Get-HnsPolicyList return (one JSON
// array: networks, endpoints, policy lists; see hns.Objects.V1Dump), with
// version as their packed HNS Version. It returns notes on objects written
// in v2 form.
func WriteHNSJSON(w io.Writer, o *hns.Objects, version hns.Version) ([]string, error) {
	items, notes := o.V1Dump(version)
	if items == nil {
		items = []any{}
	}
	b, err := json.MarshalIndent(items, "", "    ")
	if err != nil {
		return notes, err
	}
	b = append(b, '\n')
	_, err = w.Write(b)
	return notes, err
}

// WriteHnsdiag writes "hnsdiag list all": the networks, endpoints,
// namespaces and load balancers tables, laid out as the real tool prints
// them (names padded to 16 columns, network IDs in upper case, endpoint IDs
// in lower case).
func WriteHnsdiag(w io.Writer, o *hns.Objects) error {
	var b strings.Builder
	name := func(s string) string {
		if len(s) < 16 {
			return s + strings.Repeat(" ", 17-len(s))
		}
		return s + " "
	}
	netName := map[string]string{}
	b.WriteString("Networks:\n")
	b.WriteString(name("Name") + "ID\n")
	for _, n := range o.Networks {
		netName[strings.ToUpper(n.Id)] = n.Name
		b.WriteString(name(n.Name) + strings.ToUpper(n.Id) + "\n")
	}
	b.WriteString("\nEndpoints:\n")
	b.WriteString(name("Name") + "ID                                   Virtual Network Name\n")
	for _, e := range o.Endpoints {
		b.WriteString(name(e.Name) + strings.ToLower(e.Id) + " " + netName[strings.ToUpper(e.HostComputeNetwork)] + "\n")
	}
	b.WriteString("\nNamespaces:\n")
	b.WriteString("ID                                   | Endpoint IDs\n")
	for _, ns := range o.Namespaces {
		var eps []string
		for _, r := range ns.Resources {
			var d struct{ ID, Id string }
			if json.Unmarshal(r.Data, &d) == nil {
				eps = append(eps, strings.ToLower(d.ID+d.Id))
			}
		}
		b.WriteString(strings.ToLower(ns.Id) + " | " + strings.Join(eps, " ") + "\n")
	}
	b.WriteString("\nLoadBalancers:\n")
	b.WriteString("ID                                   | Virtual IPs      | Direct IP IDs\n")
	for _, lb := range o.LoadBalancers {
		vips := strings.Join(lb.FrontendVIPs, " ")
		if len(vips) < 16 {
			vips += strings.Repeat(" ", 16-len(vips))
		}
		var dips []string
		for _, id := range lb.HostComputeEndpoints {
			dips = append(dips, strings.ToLower(id))
		}
		b.WriteString(strings.ToLower(lb.Id) + " | " + vips + " | " + strings.Join(dips, " ") + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// record is one object of PowerShell's list view.
type record [][2]string

// writeList writes records in PowerShell's list view: a blank line, then
// each property padded to the longest name, " : " and its value; a blank
// line between objects and two at the end.
func writeList(w io.Writer, recs []record) error {
	var b strings.Builder
	b.WriteString("\n")
	for _, r := range recs {
		width := 0
		for _, kv := range r {
			width = max(width, len(kv[0]))
		}
		for _, kv := range r {
			b.WriteString(kv[0] + strings.Repeat(" ", width-len(kv[0])) + " : " + kv[1] + "\n")
		}
		b.WriteString("\n")
	}
	b.WriteString("\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// NetNatView is a WinNAT instance as Get-NetNat shows it.
type NetNatView struct {
	Name                             string
	ExternalIPInterfaceAddressPrefix string
	InternalIPInterfaceAddressPrefix string
	IcmpQueryTimeout                 int // seconds
	TcpEstablishedConnectionTimeout  int
	TcpTransientConnectionTimeout    int
	TcpFilteringBehavior             string
	UdpFilteringBehavior             string
	UdpIdleSessionTimeout            int
	UdpInboundRefresh                bool
}

func psBool(b bool) string {
	if b {
		return "True"
	}
	return "False"
}

// WriteNetNat writes Get-NetNat's list view, with the properties in the
// order real nodes print them (docker/for-win#196).
func WriteNetNat(w io.Writer, nats []NetNatView) error {
	var recs []record
	for _, n := range nats {
		recs = append(recs, record{
			{"Name", n.Name},
			{"ExternalIPInterfaceAddressPrefix", n.ExternalIPInterfaceAddressPrefix},
			{"InternalIPInterfaceAddressPrefix", n.InternalIPInterfaceAddressPrefix},
			{"IcmpQueryTimeout", strconv.Itoa(n.IcmpQueryTimeout)},
			{"TcpEstablishedConnectionTimeout", strconv.Itoa(n.TcpEstablishedConnectionTimeout)},
			{"TcpTransientConnectionTimeout", strconv.Itoa(n.TcpTransientConnectionTimeout)},
			{"TcpFilteringBehavior", n.TcpFilteringBehavior},
			{"UdpFilteringBehavior", n.UdpFilteringBehavior},
			{"UdpIdleSessionTimeout", strconv.Itoa(n.UdpIdleSessionTimeout)},
			{"UdpInboundRefresh", psBool(n.UdpInboundRefresh)},
			{"Store", "Local"},
			{"Active", "True"},
		})
	}
	return writeList(w, recs)
}

// StaticMappingView is one static mapping as Get-NetNatStaticMapping shows it.
type StaticMappingView struct {
	StaticMappingID               int
	NatName                       string
	Protocol                      string // TCP or UDP
	RemoteExternalIPAddressPrefix string
	ExternalIPAddress             string
	ExternalPort                  uint16
	InternalIPAddress             string
	InternalPort                  uint16
}

// zeroGUID is the InternalRoutingDomainId real nodes print.
const zeroGUID = "{00000000-0000-0000-0000-000000000000}"

// WriteStaticMappings writes Get-NetNatStaticMapping's list view, with the
// properties in the order Add-NetNatStaticMapping printed them
// (MicrosoftDocs/Virtualization-Documentation).
func WriteStaticMappings(w io.Writer, ms []StaticMappingView) error {
	var recs []record
	for _, m := range ms {
		recs = append(recs, record{
			{"StaticMappingID", strconv.Itoa(m.StaticMappingID)},
			{"NatName", m.NatName},
			{"Protocol", m.Protocol},
			{"RemoteExternalIPAddressPrefix", m.RemoteExternalIPAddressPrefix},
			{"ExternalIPAddress", m.ExternalIPAddress},
			{"ExternalPort", strconv.Itoa(int(m.ExternalPort))},
			{"InternalIPAddress", m.InternalIPAddress},
			{"InternalPort", strconv.Itoa(int(m.InternalPort))},
			{"InternalRoutingDomainId", zeroGUID},
			{"Active", "True"},
		})
	}
	return writeList(w, recs)
}

// SessionView is one NAT session as Get-NetNatSession shows it
// (MSFT_NetNatSession; Protocol is the IP protocol number).
type SessionView struct {
	NatName                    string
	CreationTime               string
	Protocol                   uint8
	InternalSourceAddress      string
	InternalSourcePort         uint16
	InternalDestinationAddress string
	InternalDestinationPort    uint16
	ExternalSourceAddress      string
	ExternalSourcePort         uint16
	ExternalDestinationAddress string
	ExternalDestinationPort    uint16
}

// WriteSessions writes Get-NetNatSession's list view. No real node's
// session output is public; the properties are MSFT_NetNatSession's, in the
// order scripts read them.
func WriteSessions(w io.Writer, ss []SessionView) error {
	var recs []record
	for _, s := range ss {
		recs = append(recs, record{
			{"NatName", s.NatName},
			{"InternalRoutingDomainId", zeroGUID},
			{"CreationTime", s.CreationTime},
			{"Protocol", strconv.Itoa(int(s.Protocol))},
			{"InternalSourceAddress", s.InternalSourceAddress},
			{"InternalSourcePort", strconv.Itoa(int(s.InternalSourcePort))},
			{"InternalDestinationAddress", s.InternalDestinationAddress},
			{"InternalDestinationPort", strconv.Itoa(int(s.InternalDestinationPort))},
			{"ExternalSourceAddress", s.ExternalSourceAddress},
			{"ExternalSourcePort", strconv.Itoa(int(s.ExternalSourcePort))},
			{"ExternalDestinationAddress", s.ExternalDestinationAddress},
			{"ExternalDestinationPort", strconv.Itoa(int(s.ExternalDestinationPort))},
		})
	}
	return writeList(w, recs)
}

// ProtocolName returns "TCP" or "UDP" for an IP protocol number, else the number.
func ProtocolName(p uint8) string {
	switch p {
	case 6:
		return "TCP"
	case 17:
		return "UDP"
	}
	return fmt.Sprint(p)
}
