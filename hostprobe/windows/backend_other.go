//go:build !windows

package windows

import (
	"context"
	"errors"
	"fmt"

	"github.com/hnspath/hnspath/emulator/fabric"
	"github.com/hnspath/hnspath/emulator/vfp"
	"github.com/hnspath/hnspath/hostprobe"
	"github.com/hnspath/hnspath/result"
)

// errNotWindows is what every operation returns off Windows.
var errNotWindows = fmt.Errorf("hostprobe/windows: HNS: %w", errors.ErrUnsupported)

// Backend is the Windows backend; off Windows every method returns errors.ErrUnsupported.
type Backend struct{ opts Options }

var _ hostprobe.Backend = (*Backend)(nil)

// NewBackend returns a Windows backend that cannot run here.
func NewBackend(opts Options) *Backend { return &Backend{opts: opts} }

// Name returns result.BackendWindows.
func (b *Backend) Name() string { return result.BackendWindows }

// Setup returns errors.ErrUnsupported.
func (b *Backend) Setup(ctx context.Context, topo *fabric.Topology) error { return errNotWindows }

// Run returns errors.ErrUnsupported.
func (b *Backend) Run(ctx context.Context, scenario string, inputs []hostprobe.Input, opts hostprobe.RunOptions) ([]*result.Packet, error) {
	return nil, errNotWindows
}

// Throughput returns errors.ErrUnsupported.
func (b *Backend) Throughput(ctx context.Context, w hostprobe.Workload) (hostprobe.Throughput, error) {
	return hostprobe.Throughput{}, errNotWindows
}

// HostRules returns errors.ErrUnsupported.
func (b *Backend) HostRules(ctx context.Context, port string) ([]*vfp.Layer, error) {
	return nil, errNotWindows
}

// AskVFP returns errors.ErrUnsupported.
func (b *Backend) AskVFP(ctx context.Context, port string, t Tuple) (TupleVerdict, error) {
	return TupleVerdict{}, errNotWindows
}

// Close does nothing.
func (b *Backend) Close() error { return nil }

// NotBuilt returns nothing: nothing is built.
func (b *Backend) NotBuilt() []hostprobe.NotBuilt { return nil }

// Clean returns errors.ErrUnsupported.
func Clean(prefix string) (removed []string, err error) {
	return nil, fmt.Errorf("hostprobe/windows: clean %q: %w", prefix, errors.ErrUnsupported)
}
