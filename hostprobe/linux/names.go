package linux

import (
	"fmt"
	"strings"
)

const (
	// Prefix starts the name of every network namespace and marker a Lab creates:
	// namespaces are "hnsp-<id>-<name>", markers "hnsp-<id>". Clean only accepts
	// prefixes that start with it.
	Prefix = "hnsp-"

	// NetnsDir is where named network namespaces are bind-mounted; it is the iproute2
	// convention, so `ip netns list` shows a lab's namespaces.
	NetnsDir = "/run/netns"

	// MarkerDir holds one marker file per live Lab, named "hnsp-<id>" and holding
	// "<pid> <start time in clock ticks>\n" of the process that owns it.
	MarkerDir = "/run/hnspath"

	// MaxIfnameLen is the longest interface name the kernel accepts (IFNAMSIZ 16 minus the NUL).
	MaxIfnameLen = 15

	// maxNSNameLen bounds the caller's part of a namespace name.
	maxNSNameLen = 48

	// idLen is the number of hex characters in a lab id.
	idLen = 6
)

// checkIfname reports whether name is a valid Linux interface name (dev_valid_name in
// net/core/dev.c: 1..15 bytes, not "." or "..", no '/', ':' or whitespace).
func checkIfname(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("interface name is empty")
	case len(name) > MaxIfnameLen:
		return fmt.Errorf("interface name %q is %d bytes, max %d", name, len(name), MaxIfnameLen)
	case name == "." || name == "..":
		return fmt.Errorf("interface name %q is reserved", name)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c == '/' || c == ':' || c <= ' ' || c >= 0x7f {
			return fmt.Errorf("interface name %q has invalid byte %q at offset %d", name, c, i)
		}
	}
	return nil
}

// checkNSName reports whether name can be the caller's part of a namespace name:
// 1..48 bytes of [a-z0-9._-], starting with a letter or digit.
func checkNSName(name string) error {
	if name == "" {
		return fmt.Errorf("namespace name is empty")
	}
	if len(name) > maxNSNameLen {
		return fmt.Errorf("namespace name %q is %d bytes, max %d", name, len(name), maxNSNameLen)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		ok := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || i > 0 && (c == '-' || c == '_' || c == '.')
		if !ok {
			return fmt.Errorf("namespace name %q has invalid byte %q at offset %d (want [a-z0-9._-], starting with a letter or digit)", name, c, i)
		}
	}
	return nil
}

// sessionOf returns the session name ("hnsp-<id>") of a namespace or marker name made by a
// Lab, and whether name has that form.
func sessionOf(name string) (string, bool) {
	rest, ok := strings.CutPrefix(name, Prefix)
	if !ok || len(rest) < idLen {
		return "", false
	}
	for i := 0; i < idLen; i++ {
		c := rest[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return "", false
		}
	}
	if len(rest) > idLen && rest[idLen] != '-' {
		return "", false
	}
	return Prefix + rest[:idLen], true
}
