//go:build !linux

package linux

import (
	"errors"
	"fmt"
)

// CheckPrivileges reports that the Linux backend does not run on this operating system.
func CheckPrivileges() error {
	return fmt.Errorf("hostprobe/linux: network namespaces: %w", errors.ErrUnsupported)
}

// Clean reports that the Linux backend does not run on this operating system.
func Clean(prefix string) (removed []string, err error) {
	return nil, fmt.Errorf("hostprobe/linux: clean %q: %w", prefix, errors.ErrUnsupported)
}
