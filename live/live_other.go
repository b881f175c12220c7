//go:build !linux

package live

import (
	"context"
	"errors"
	"fmt"
)

// Run needs Linux network namespaces and AF_PACKET.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	return nil, fmt.Errorf("hnspath live: %w: needs Linux network namespaces and AF_PACKET", errors.ErrUnsupported)
}

// Exec needs Linux network namespaces.
func Exec(runDir, port string, argv []string) error {
	return fmt.Errorf("hnspath live exec: %w: needs Linux network namespaces", errors.ErrUnsupported)
}
