package scenarios

import (
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"

	"github.com/hnspath/hnspath/emulator/fabric"
	"github.com/hnspath/hnspath/emulator/hns"
	"github.com/hnspath/hnspath/emulator/hns/nodetext"
	"github.com/hnspath/hnspath/emulator/winnat"
	"github.com/hnspath/hnspath/pcapio"
)

// ShowFormats are the formats Show writes, each what a Windows tool prints.
var ShowFormats = []string{"hns-json", "hnsdiag", "get-netnat", "get-netnatstaticmapping", "get-netnatsession"}

// ShowOptions select what Show writes.
type ShowOptions struct {
	// Format is one of ShowFormats.
	Format string
	// Host is the host to show; empty: the topology's only (or first) host.
	Host string
	// Capture, when not nil, is run through the topology first (as replay
	// runs it: timestamps as the virtual clock), so that Get-NetNatSession
	// shows the sessions it left.
	Capture *pcapio.Reader
	// Port is the port of packets from a pcap file or unnamed interfaces.
	Port string
}

// Show writes one host of the topology in a Windows tool's own format, so
// that an emulated node can be put beside a real one; import reads every
// format back (hnsdiag and the NAT cmdlets together with the HNS JSON).
// It returns notes (what a format could not carry) for stderr.
func Show(t *Topology, w io.Writer, opts ShowOptions) ([]string, error) {
	hs, err := showHost(t, opts.Host)
	if err != nil {
		return nil, err
	}
	var objs hns.Objects // a copy: Normalize fills in the slices it is given
	if b, err := json.Marshal(hs.HNS); err != nil || json.Unmarshal(b, &objs) != nil {
		return nil, fmt.Errorf("show: copy the HNS objects: %v", err)
	}
	if err := objs.Normalize(); err != nil {
		return nil, err
	}
	prof := hns.DefaultProfile()
	if hs.Profile != "" {
		if prof, err = hns.ProfileByName(hs.Profile); err != nil {
			return nil, err
		}
	}
	switch opts.Format {
	case "hns-json":
		return nodetext.WriteHNSJSON(w, &objs, prof.Version)
	case "hnsdiag":
		return nil, nodetext.WriteHnsdiag(w, &objs)
	case "get-netnat", "get-netnatstaticmapping", "get-netnatsession":
	default:
		return nil, fmt.Errorf("show: unknown format %q (%s)", opts.Format, strings.Join(ShowFormats, ", "))
	}
	f, err := t.Build(fabric.Options{})
	if err != nil {
		return nil, err
	}
	var start time.Time
	if opts.Capture != nil {
		if start, err = runCapture(f, opts.Capture, opts.Port); err != nil {
			return nil, err
		}
	} else if opts.Format == "get-netnatsession" {
		return []string{"no --pcap given: a node without traffic has no NAT sessions"}, nodetext.WriteSessions(w, nil)
	}
	h, _ := f.Host(hs.Name)
	nat := h.NAT()
	var notes []string
	if nat == nil {
		notes = append(notes, fmt.Sprintf("host %s has no nat network: WinNAT has no instance (the cmdlets print nothing)", hs.Name))
	}
	name, internal := natIdentity(&objs)
	var v winnat.View
	if nat != nil {
		v = nat.View()
		if !internal.IsValid() {
			internal = v.Config.InternalPrefix
		}
	}
	switch opts.Format {
	case "get-netnat":
		var nats []nodetext.NetNatView
		if nat != nil {
			c := v.Config
			nats = append(nats, nodetext.NetNatView{
				Name: name, InternalIPInterfaceAddressPrefix: internal.String(),
				IcmpQueryTimeout: int(c.ICMPQueryTimeout / time.Second), TcpEstablishedConnectionTimeout: int(c.TCPEstablishedTimeout / time.Second),
				TcpTransientConnectionTimeout: int(c.TCPTransientTimeout / time.Second), UdpIdleSessionTimeout: int(c.UDPIdleTimeout / time.Second),
				TcpFilteringBehavior: c.TCPFiltering.String(), UdpFilteringBehavior: c.UDPFiltering.String(), UdpInboundRefresh: c.UDPInboundRefresh,
			})
		}
		return notes, nodetext.WriteNetNat(w, nats)
	case "get-netnatstaticmapping":
		var ms []nodetext.StaticMappingView
		for i, m := range v.StaticMappings {
			ext, remote := "0.0.0.0", "0.0.0.0/0"
			if m.ExternalAddr.IsValid() {
				ext = m.ExternalAddr.String()
			}
			if m.RemotePrefix.IsValid() {
				remote = m.RemotePrefix.String()
			}
			in := m.InternalPort
			if in == 0 {
				in = m.ExternalPort
			}
			ms = append(ms, nodetext.StaticMappingView{StaticMappingID: i, NatName: name, Protocol: nodetext.ProtocolName(m.Protocol),
				RemoteExternalIPAddressPrefix: remote, ExternalIPAddress: ext, ExternalPort: m.ExternalPort,
				InternalIPAddress: m.InternalAddr.String(), InternalPort: in})
		}
		return notes, nodetext.WriteStaticMappings(w, ms)
	}
	var ss []nodetext.SessionView
	for _, s := range v.Sessions {
		ss = append(ss, nodetext.SessionView{
			NatName: name, CreationTime: psTime(start.Add(time.Duration(s.CreationTime))), Protocol: s.Protocol,
			InternalSourceAddress: s.InternalSourceAddress.String(), InternalSourcePort: s.InternalSourcePort,
			InternalDestinationAddress: s.InternalDestinationAddress.String(), InternalDestinationPort: s.InternalDestinationPort,
			ExternalSourceAddress: s.ExternalSourceAddress.String(), ExternalSourcePort: s.ExternalSourcePort,
			ExternalDestinationAddress: s.ExternalDestinationAddress.String(), ExternalDestinationPort: s.ExternalDestinationPort,
		})
	}
	return notes, nodetext.WriteSessions(w, ss)
}

// psTime formats t as PowerShell prints a DateTime in the en-US culture.
func psTime(t time.Time) string { return t.UTC().Format("1/2/2006 3:04:05 PM") }

func showHost(t *Topology, name string) (*fabric.HostSpec, error) {
	var names []string
	for i := range t.Hosts {
		if name == "" || t.Hosts[i].Name == name {
			return &t.Hosts[i], nil
		}
		names = append(names, t.Hosts[i].Name)
	}
	if name == "" {
		return nil, fmt.Errorf("show: the topology has no hosts")
	}
	return nil, fmt.Errorf("show: no host %q (hosts: %s)", name, strings.Join(names, ", "))
}

// natIdentity returns the name WinNAT's instance gets ("NAT" and the nat
// network's ID, the form HNS-created NATs have on current nodes) and its
// internal interface prefix as Get-NetNat prints it for HNS: the gateway
// address with the prefix length (docker/for-win#196: 172.31.0.1/20).
func natIdentity(o *hns.Objects) (string, netip.Prefix) {
	for _, n := range o.Networks {
		if n.Type != hns.NAT && n.Type != hns.ICS {
			continue
		}
		for _, ipam := range n.Ipams {
			for _, s := range ipam.Subnets {
				p, err := netip.ParsePrefix(s.IpAddressPrefix)
				if err != nil || !p.Addr().Is4() {
					continue
				}
				for _, r := range s.Routes {
					if gw, err := netip.ParseAddr(r.NextHop); err == nil && p.Contains(gw) {
						return "NAT" + strings.ToUpper(n.Id), netip.PrefixFrom(gw, p.Bits())
					}
				}
				return "NAT" + strings.ToUpper(n.Id), p
			}
		}
		return "NAT" + strings.ToUpper(n.Id), netip.Prefix{}
	}
	return "NAT", netip.Prefix{}
}

// runCapture runs a capture's packets through f, as Replay does, and
// returns the first packet's time.
func runCapture(f *fabric.Fabric, r *pcapio.Reader, defaultPort string) (time.Time, error) {
	var out fabric.Outcome
	var first time.Time
	var now int64
	ids := map[string]fabric.PortID{}
	for n := 0; ; n++ {
		pkt, err := r.Next()
		if err == io.EOF {
			return first, nil
		}
		if err != nil {
			return first, err
		}
		port := pkt.Port
		if port == "" {
			port = defaultPort
		}
		id, ok := ids[port]
		if !ok {
			if id, ok = f.PortByName(port); !ok {
				if port == "" {
					return first, fmt.Errorf("packet %d has no port: give the port for a pcap file (--port)", pkt.Index)
				}
				return first, fmt.Errorf("packet %d: unknown port %q (ports: %s)", pkt.Index, port, portNames(f))
			}
			ids[port] = id
		}
		if n == 0 {
			first = pkt.Time
		}
		now = max(now, int64(pkt.Time.Sub(first)))
		f.Inject(id, pkt.Data, now, &out)
	}
}
