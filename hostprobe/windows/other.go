//go:build !windows

package windows

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// errNotWindows is what every host operation returns off Windows.
var errNotWindows = fmt.Errorf("hostprobe/windows: HNS: %w", errors.ErrUnsupported)

// hostAdapters returns adapters that fail with errors.ErrUnsupported: there is no HNS
// here.
func hostAdapters() (HCN, Runner, Sender) { return noHCN{}, noHost{}, noHost{} }

type noHCN struct{}

func (noHCN) CreateNetwork([]byte) (string, error)                { return "", errNotWindows }
func (noHCN) CreateNamespace([]byte) (string, uint32, error)      { return "", 0, errNotWindows }
func (noHCN) CreateEndpoint([]byte, string) (string, error)       { return "", errNotWindows }
func (noHCN) CreateLoadBalancer([]byte, []string) (string, error) { return "", errNotWindows }
func (noHCN) UpdateLoadBalancer(string, []string) error           { return errNotWindows }
func (noHCN) AddNamespaceEndpoint(string, string) error           { return errNotWindows }
func (noHCN) RemoveNamespaceEndpoint(string, string) error        { return errNotWindows }
func (noHCN) Delete(string, string) error                         { return errNotWindows }
func (noHCN) Get(string, string) (Object, error)                  { return Object{}, errNotWindows }
func (noHCN) List(string) ([]Object, error)                       { return nil, errNotWindows }
func (noHCN) Features() (Features, error)                         { return Features{}, errNotWindows }
func (noHCN) ErrorCode(error) (uint32, bool)                      { return 0, false }

type noHost struct{}

func (noHost) Run(context.Context, string, ...string) ([]byte, error) { return nil, errNotWindows }
func (noHost) UDP(uint32, netip.AddrPort, netip.AddrPort, []byte) error {
	return errNotWindows
}
func (noHost) TCPConnect(uint32, netip.AddrPort, netip.AddrPort, time.Duration) error {
	return errNotWindows
}

func (noHost) UDPBatch(uint32, []Datagram) (int, error) { return 0, errNotWindows }

// CheckHost returns errors.ErrUnsupported: the Windows backend needs HNS.
func CheckHost() error { return errNotWindows }
