//go:build !linux

package linux

import (
	"context"
	"errors"
	"fmt"

	"github.com/hnspath/hnspath/emulator/fabric"
	"github.com/hnspath/hnspath/hostprobe"
	"github.com/hnspath/hnspath/result"
)

// errNotLinux is what every operation returns off Linux.
var errNotLinux = fmt.Errorf("hostprobe/linux: network namespaces: %w", errors.ErrUnsupported)

// CheckPrivileges reports that the Linux backend does not run on this operating system.
func CheckPrivileges() error { return errNotLinux }

// Clean reports that the Linux backend does not run on this operating system.
func Clean(prefix string) (removed []string, err error) {
	return nil, fmt.Errorf("hostprobe/linux: clean %q: %w", prefix, errors.ErrUnsupported)
}

// Leftovers reports that the Linux backend does not run on this operating system.
func Leftovers(prefix string) ([]string, error) {
	return nil, fmt.Errorf("hostprobe/linux: leftovers %q: %w", prefix, errors.ErrUnsupported)
}

// Backend is the Linux backend; off Linux every method returns errors.ErrUnsupported.
type Backend struct{}

var _ hostprobe.Backend = (*Backend)(nil)

// NewBackend returns a Linux backend that cannot run here.
func NewBackend(opts BackendOptions) *Backend { return &Backend{} }

// Name returns result.BackendLinux.
func (b *Backend) Name() string { return result.BackendLinux }

// Setup returns errors.ErrUnsupported.
func (b *Backend) Setup(ctx context.Context, topo *fabric.Topology) error { return errNotLinux }

// Run returns errors.ErrUnsupported.
func (b *Backend) Run(ctx context.Context, scenario string, inputs []hostprobe.Input, opts hostprobe.RunOptions) ([]*result.Packet, error) {
	return nil, errNotLinux
}

// Throughput returns errors.ErrUnsupported.
func (b *Backend) Throughput(ctx context.Context, w hostprobe.Workload) (hostprobe.Throughput, error) {
	return hostprobe.Throughput{}, errNotLinux
}

// Close does nothing.
func (b *Backend) Close() error { return nil }

// NotBuilt returns nothing: nothing is built.
func (b *Backend) NotBuilt() []hostprobe.NotBuilt { return nil }

// BenchProcessor is the kernel bench processor; off Linux it cannot be made.
type BenchProcessor struct{}

// NewBenchProcessor returns errors.ErrUnsupported.
func NewBenchProcessor(topo *fabric.Topology, in string, sinks []string, opts BackendOptions) (*BenchProcessor, error) {
	return nil, errNotLinux
}

// Process forwards nothing.
func (p *BenchProcessor) Process(frames [][]byte) int { return 0 }

// Err returns errors.ErrUnsupported.
func (p *BenchProcessor) Err() error { return errNotLinux }

// Reset returns errors.ErrUnsupported.
func (p *BenchProcessor) Reset() error { return errNotLinux }

// Close does nothing.
func (p *BenchProcessor) Close() error { return nil }
