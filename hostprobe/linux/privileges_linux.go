package linux

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Capability bit numbers from include/uapi/linux/capability.h.
const (
	capNetAdmin = 12
	capNetRaw   = 13
	capSysAdmin = 21
)

// neededCaps lists the capabilities the backend uses, with what each one is for.
var neededCaps = []struct {
	bit  uint
	name string
	why  string
}{
	{capNetAdmin, "CAP_NET_ADMIN", "links, addresses, routes, nftables"},
	{capSysAdmin, "CAP_SYS_ADMIN", "unshare/setns network namespaces, bind-mount them under " + NetnsDir},
	{capNetRaw, "CAP_NET_RAW", "AF_PACKET injection and capture"},
}

// CheckPrivileges reports whether this process may create network namespaces, links,
// nftables tables and AF_PACKET sockets. It returns nil for root and for a process whose
// effective capability set holds CAP_NET_ADMIN, CAP_SYS_ADMIN and CAP_NET_RAW; otherwise
// the error names each missing capability and what it is needed for, so that a command
// can print it and a test can pass it to t.Skip.
func CheckPrivileges() error {
	if _, err := os.Stat("/proc/self/ns/net"); err != nil {
		return fmt.Errorf("hostprobe/linux: network namespaces not available: %w", err)
	}
	eff, err := readCapEff("/proc/self/status")
	if err != nil {
		return fmt.Errorf("hostprobe/linux: check privileges: %w", err)
	}
	return missingCaps(eff, os.Geteuid())
}

// missingCaps returns nil if eff holds every capability in neededCaps, or an error naming
// the missing ones.
func missingCaps(eff uint64, euid int) error {
	var missing []string
	for _, c := range neededCaps {
		if eff&(1<<c.bit) == 0 {
			missing = append(missing, fmt.Sprintf("%s (%s)", c.name, c.why))
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return fmt.Errorf("hostprobe/linux: needs root or CAP_NET_ADMIN, CAP_SYS_ADMIN and CAP_NET_RAW; running as uid %d without %s", euid, strings.Join(missing, ", "))
}

// readCapEff returns the CapEff mask from a /proc/<pid>/status file.
func readCapEff(path string) (uint64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		v, ok := strings.CutPrefix(sc.Text(), "CapEff:")
		if !ok {
			continue
		}
		eff, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		if err != nil {
			return 0, fmt.Errorf("%s:%d: CapEff: %w", path, line, err)
		}
		return eff, nil
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("read %s: %w", path, err)
	}
	return 0, fmt.Errorf("%s: no CapEff line", path)
}
