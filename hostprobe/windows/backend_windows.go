//go:build windows

package windows

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os/exec"
	"time"

	"github.com/Microsoft/hcsshim/hcn"
	"github.com/hnspath/hnspath/emulator/hns"
	"golang.org/x/sys/windows"
)

// This file holds only the thin adapters over the host: hcsshim's hcn package (HCN),
// os/exec (Runner) and sockets in a compartment (Sender). The logic is in the
// platform-free files.

func hostAdapters() (HCN, Runner, Sender) { return hcnHost{}, execRunner{}, socketSender{} }

// hcnHost is HCN over hcsshim v0.15.0's hcn package.
type hcnHost struct{}

func (hcnHost) CreateNetwork(js []byte) (string, error) {
	var n hcn.HostComputeNetwork
	if err := json.Unmarshal(js, &n); err != nil {
		return "", err
	}
	c, err := n.Create()
	if err != nil {
		return "", err
	}
	return c.Id, nil
}

func (hcnHost) CreateNamespace(js []byte) (string, uint32, error) {
	var ns hcn.HostComputeNamespace
	if err := json.Unmarshal(js, &ns); err != nil {
		return "", 0, err
	}
	c, err := ns.Create()
	if err != nil {
		return "", 0, err
	}
	return c.Id, c.NamespaceId, nil
}

func (hcnHost) CreateEndpoint(js []byte, network string) (string, error) {
	var e hcn.HostComputeEndpoint
	if err := json.Unmarshal(js, &e); err != nil {
		return "", err
	}
	e.HostComputeNetwork = network
	c, err := e.Create()
	if err != nil {
		return "", err
	}
	return c.Id, nil
}

func (hcnHost) CreateLoadBalancer(js []byte, eps []string) (string, error) {
	var lb hcn.HostComputeLoadBalancer
	if err := json.Unmarshal(js, &lb); err != nil {
		return "", err
	}
	lb.HostComputeEndpoints = eps
	c, err := lb.Create()
	if err != nil {
		return "", err
	}
	return c.Id, nil
}

func (hcnHost) UpdateLoadBalancer(id string, eps []string) error {
	lb, err := hcn.GetLoadBalancerByID(id)
	if err != nil {
		return err
	}
	lb.HostComputeEndpoints = eps
	_, err = lb.Update(id)
	return err
}

func (hcnHost) AddNamespaceEndpoint(ns, ep string) error { return hcn.AddNamespaceEndpoint(ns, ep) }
func (hcnHost) RemoveNamespaceEndpoint(ns, ep string) error {
	return hcn.RemoveNamespaceEndpoint(ns, ep)
}

func (hcnHost) Delete(kind, id string) error {
	switch kind {
	case hns.KindNetwork:
		return (&hcn.HostComputeNetwork{Id: id}).Delete()
	case hns.KindNamespace:
		return (&hcn.HostComputeNamespace{Id: id}).Delete()
	case hns.KindEndpoint:
		return (&hcn.HostComputeEndpoint{Id: id}).Delete()
	case hns.KindLoadBalancer:
		return (&hcn.HostComputeLoadBalancer{Id: id}).Delete()
	}
	return fmt.Errorf("delete: unknown kind %q", kind)
}

// notFound wraps hcsshim's typed not-found errors (from lookups) into ErrNotFound.
func notFound(err error) error {
	if err != nil && hcn.IsNotFoundError(err) {
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	return err
}

func (hcnHost) Get(kind, id string) (Object, error) {
	switch kind {
	case hns.KindNetwork:
		n, err := hcn.GetNetworkByID(id)
		if err != nil {
			return Object{}, notFound(err)
		}
		return Object{Kind: kind, ID: n.Id, Name: n.Name}, nil
	case hns.KindNamespace:
		ns, err := hcn.GetNamespaceByID(id)
		if err != nil {
			return Object{}, notFound(err)
		}
		eps, err := hcn.GetNamespaceEndpointIds(id)
		if err != nil {
			return Object{}, notFound(err)
		}
		return Object{Kind: kind, ID: ns.Id, Compartment: ns.NamespaceId, Endpoints: eps}, nil
	case hns.KindEndpoint:
		e, err := hcn.GetEndpointByID(id)
		if err != nil {
			return Object{}, notFound(err)
		}
		return endpointObject(e), nil
	case hns.KindLoadBalancer:
		lb, err := hcn.GetLoadBalancerByID(id)
		if err != nil {
			return Object{}, notFound(err)
		}
		return Object{Kind: kind, ID: lb.Id, Endpoints: lb.HostComputeEndpoints}, nil
	}
	return Object{}, fmt.Errorf("get: unknown kind %q", kind)
}

func endpointObject(e *hcn.HostComputeEndpoint) Object {
	o := Object{Kind: hns.KindEndpoint, ID: e.Id, Name: e.Name, MAC: e.MacAddress}
	for _, ipc := range e.IpConfigurations {
		o.IPv4 = append(o.IPv4, ipc.IpAddress)
	}
	return o
}

func (hcnHost) List(kind string) ([]Object, error) {
	var out []Object
	switch kind {
	case hns.KindNetwork:
		ns, err := hcn.ListNetworks()
		for _, n := range ns {
			out = append(out, Object{Kind: kind, ID: n.Id, Name: n.Name})
		}
		return out, err
	case hns.KindNamespace:
		nss, err := hcn.ListNamespaces()
		for _, ns := range nss {
			eps, _ := hcn.GetNamespaceEndpointIds(ns.Id)
			out = append(out, Object{Kind: kind, ID: ns.Id, Compartment: ns.NamespaceId, Endpoints: eps})
		}
		return out, err
	case hns.KindEndpoint:
		eps, err := hcn.ListEndpoints()
		for i := range eps {
			out = append(out, endpointObject(&eps[i]))
		}
		return out, err
	case hns.KindLoadBalancer:
		lbs, err := hcn.ListLoadBalancers()
		for _, lb := range lbs {
			out = append(out, Object{Kind: kind, ID: lb.Id, Endpoints: lb.HostComputeEndpoints})
		}
		return out, err
	}
	return nil, fmt.Errorf("list: unknown kind %q", kind)
}

func (hcnHost) Features() (Features, error) {
	g, err := hcn.GetGlobals()
	if err != nil {
		return Features{}, err
	}
	f := hcn.GetSupportedFeatures()
	return Features{Major: g.Version.Major, Minor: g.Version.Minor, ModifyLoadBalancer: f.ModifyLoadbalancer, DSR: f.DSR}, nil
}

// ErrorCode returns the code of an *hcn.HcnError (hcn.CheckErrorWithCode: its code field
// is not exported), trying the codes the backend knows.
func (hcnHost) ErrorCode(err error) (uint32, bool) {
	var he *hcn.HcnError
	if !errors.As(err, &he) {
		return 0, false
	}
	for _, c := range NotFoundCodes() {
		if hcn.CheckErrorWithCode(err, hcn.ErrorCode(c)) {
			return c, true
		}
	}
	return 0, false
}

// execRunner runs commands with os/exec.
type execRunner struct{}

func (execRunner) Run(ctx context.Context, name string, args ...string) ([]byte, error) {
	return exec.CommandContext(ctx, name, args...).CombinedOutput()
}

var (
	iphlpapi                          = windows.NewLazySystemDLL("iphlpapi.dll")
	procGetCurrentThreadCompartmentId = iphlpapi.NewProc("GetCurrentThreadCompartmentId")
	procSetCurrentThreadCompartmentId = iphlpapi.NewProc("SetCurrentThreadCompartmentId")
)

var hostCompartment = threadCompartment{
	Get: func() uint32 {
		r, _, _ := procGetCurrentThreadCompartmentId.Call()
		return uint32(r)
	},
	Set: func(id uint32) error {
		if r, _, _ := procSetCurrentThreadCompartmentId.Call(uintptr(id)); r != 0 {
			return fmt.Errorf("SetCurrentThreadCompartmentId(%d): error %d", id, r)
		}
		return nil
	},
}

// socketSender opens sockets on a thread in the endpoint's compartment.
type socketSender struct{}

func (socketSender) UDP(comp uint32, local, remote netip.AddrPort, payload []byte) error {
	return inCompartment(hostCompartment, comp, func() error {
		c, err := net.DialUDP("udp4", net.UDPAddrFromAddrPort(local), net.UDPAddrFromAddrPort(remote))
		if err != nil {
			return err
		}
		defer c.Close()
		_, err = c.Write(payload)
		return err
	})
}

func (socketSender) TCPConnect(comp uint32, local, remote netip.AddrPort, timeout time.Duration) error {
	return inCompartment(hostCompartment, comp, func() error {
		d := net.Dialer{LocalAddr: net.TCPAddrFromAddrPort(local), Timeout: timeout}
		c, err := d.Dial("tcp4", remote.String())
		if err == nil {
			c.Close()
		}
		return nil // a refused or timed-out connection still sent its SYN
	})
}

func (socketSender) UDPBatch(comp uint32, ds []Datagram) (int, error) {
	sent := 0
	err := inCompartment(hostCompartment, comp, func() error {
		type pair struct{ l, r netip.AddrPort }
		conns := map[pair]*net.UDPConn{}
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for _, d := range ds {
			k := pair{d.Local, d.Remote}
			c := conns[k]
			if c == nil {
				var err error
				if c, err = net.DialUDP("udp4", net.UDPAddrFromAddrPort(d.Local), net.UDPAddrFromAddrPort(d.Remote)); err != nil {
					return err
				}
				conns[k] = c
			}
			if _, err := c.Write(d.Payload); err != nil {
				return err
			}
			sent++
		}
		return nil
	})
	return sent, err
}

// CheckHost checks that this host can run the backend: HNS answers and pktmon exists.
func CheckHost() error {
	if _, err := hcn.GetGlobals(); err != nil {
		return fmt.Errorf("hostprobe/windows: HNS: %w", err)
	}
	if _, err := exec.LookPath("pktmon"); err != nil {
		return fmt.Errorf("hostprobe/windows: pktmon: %w", err)
	}
	return nil
}
