package linux

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/google/nftables"
	"github.com/vishvananda/netlink"
)

// Clean removes the leftovers of earlier sessions whose process is gone: network
// namespaces under NetnsDir and links in the root namespace whose names start with
// prefix, and the matching marker files under MarkerDir. A session whose marker names a
// process that is still running (same pid and start time) is skipped, so Clean is safe
// while other probes run. A namespace without a readable marker is a leftover.
//
// prefix must start with Prefix: Clean(Prefix) cleans every session,
// Clean(lab.Session()+"-") one session. removed lists what was deleted, as
// "netns <name>", "link <name>" or "marker <path>"; err joins the failures, and Clean keeps
// going after one.
func Clean(prefix string) (removed []string, err error) {
	if !strings.HasPrefix(prefix, Prefix) {
		return nil, fmt.Errorf("clean: prefix %q does not start with %q", prefix, Prefix)
	}
	var errs []error
	alive := map[string]bool{} // by session, memoized
	isAlive := func(session string) bool {
		if a, ok := alive[session]; ok {
			return a
		}
		a := markerAlive(filepath.Join(MarkerDir, session))
		alive[session] = a
		return a
	}

	entries, err := os.ReadDir(NetnsDir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		errs = append(errs, fmt.Errorf("clean: %w", err))
	}
	remaining := map[string]bool{} // sessions that keep a namespace
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, prefix) {
			if s, ok := sessionOf(name); ok {
				remaining[s] = true
			}
			continue
		}
		s, ok := sessionOf(name)
		if ok && isAlive(s) {
			remaining[s] = true
			continue
		}
		if err := deleteNamedNS(filepath.Join(NetnsDir, name)); err != nil {
			errs = append(errs, fmt.Errorf("clean: netns %s: %w", name, err))
			if ok {
				remaining[s] = true
			}
			continue
		}
		removed = append(removed, "netns "+name)
	}

	// Labs never create links in the root namespace; a link found here with the prefix is
	// a leftover of a bug or of another tool using the prefix, and is removed all the same.
	// Root links cannot be tied to a session, so only a whole-session prefix (shorter than
	// an interface name) reaches them.
	links, err := netlink.LinkList()
	if err != nil {
		errs = append(errs, fmt.Errorf("clean: list root links: %w", err))
	}
	for _, link := range links {
		name := link.Attrs().Name
		if !strings.HasPrefix(name, prefix) {
			continue
		}
		if s, ok := sessionOf(name); ok && isAlive(s) {
			continue
		}
		if err := netlink.LinkDel(link); err != nil {
			var nf netlink.LinkNotFoundError
			if !errors.As(err, &nf) {
				errs = append(errs, fmt.Errorf("clean: root link %s: %w", name, err))
				continue
			}
		}
		removed = append(removed, "link "+name)
	}

	markers, err := os.ReadDir(MarkerDir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		errs = append(errs, fmt.Errorf("clean: %w", err))
	}
	for _, e := range markers {
		name := e.Name()
		s, ok := sessionOf(name)
		if !ok || s != name {
			continue // not a marker (e.g. a temporary file being written)
		}
		// The marker of session s matches prefix if prefix selects all of s's names.
		if !strings.HasPrefix(s+"-", prefix) {
			continue
		}
		if isAlive(s) || remaining[s] {
			continue
		}
		path := filepath.Join(MarkerDir, name)
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("clean: %w", err))
			continue
		}
		removed = append(removed, "marker "+path)
	}
	sort.Strings(removed)
	return removed, errors.Join(errs...)
}

// Leftovers lists what carries a name starting with prefix (Prefix, or a session's
// "hnsp-<id>-"): network namespaces under NetnsDir, markers under MarkerDir, and links
// and nftables tables in the root namespace, whether or not their session is alive. A
// test after a run and a Clean expects none.
func Leftovers(prefix string) ([]string, error) {
	if !strings.HasPrefix(prefix, Prefix) {
		return nil, fmt.Errorf("leftovers: prefix %q does not start with %q", prefix, Prefix)
	}
	var out []string
	for _, dir := range []string{NetnsDir, MarkerDir} {
		ents, err := os.ReadDir(dir)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("leftovers: %w", err)
		}
		for _, e := range ents {
			// A marker is named by its session, without the trailing "-".
			if strings.HasPrefix(e.Name(), prefix) || strings.HasPrefix(e.Name()+"-", prefix) && dir == MarkerDir {
				out = append(out, filepath.Join(dir, e.Name()))
			}
		}
	}
	links, err := netlink.LinkList()
	if err != nil {
		return nil, fmt.Errorf("leftovers: list root links: %w", err)
	}
	for _, l := range links {
		if strings.HasPrefix(l.Attrs().Name, prefix) {
			out = append(out, "root link "+l.Attrs().Name)
		}
	}
	c, err := nftables.New()
	if err != nil {
		return nil, fmt.Errorf("leftovers: %w", err)
	}
	tables, err := c.ListTables()
	if err != nil {
		return nil, fmt.Errorf("leftovers: list root nftables tables: %w", err)
	}
	for _, t := range tables {
		if strings.HasPrefix(t.Name+"-", prefix) || strings.HasPrefix(t.Name, prefix) {
			out = append(out, "root nftables table "+t.Name)
		}
	}
	sort.Strings(out)
	return out, nil
}

// writeMarker creates the marker file path atomically and exclusively: it writes a
// temporary file and hard-links it into place, so a reader never sees a partial marker
// and an existing marker is never overwritten (os.ErrExist).
func writeMarker(path string, pid int) error {
	start, err := procStartTime(pid)
	if err != nil {
		return err
	}
	tmp := fmt.Sprintf("%s.tmp%d", path, pid)
	if err := os.WriteFile(tmp, []byte(formatMarker(pid, start)), 0o644); err != nil {
		return err
	}
	defer os.Remove(tmp)
	return os.Link(tmp, path)
}

// formatMarker returns the content of a marker file.
func formatMarker(pid int, start uint64) string {
	return fmt.Sprintf("%d %d\n", pid, start)
}

// parseMarker parses the content of a marker file: "<pid> <start time>\n".
func parseMarker(b []byte) (pid int, start uint64, err error) {
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return 0, 0, fmt.Errorf("marker: got %d fields, want 2 (pid, start time)", len(f))
	}
	p, err := strconv.ParseUint(f[0], 10, 31)
	if err != nil || p == 0 {
		return 0, 0, fmt.Errorf("marker: field 1 (pid) %q: not a positive pid", f[0])
	}
	start, err = strconv.ParseUint(f[1], 10, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("marker: field 2 (start time) %q: %w", f[1], err)
	}
	return int(p), start, nil
}

// markerAlive reports whether the marker at path names a running process: one with the
// recorded pid and the same start time (so a recycled pid does not count).
func markerAlive(path string) bool {
	b, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	pid, start, err := parseMarker(b)
	if err != nil {
		return false
	}
	got, err := procStartTime(pid)
	return err == nil && got == start
}

// procStartTime returns field 22 (starttime, clock ticks since boot) of /proc/<pid>/stat.
func procStartTime(pid int) (uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseStatStartTime(b)
}

// parseStatStartTime extracts starttime from the content of /proc/<pid>/stat (proc(5)).
// The command name (field 2) is in parentheses and may itself hold spaces and ')', so
// fields are counted after the last ')'.
func parseStatStartTime(b []byte) (uint64, error) {
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("stat: no ')' after the command name")
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state), so field 22 is f[19].
	if len(f) < 20 {
		return 0, fmt.Errorf("stat: got %d fields after the command name, want at least 20", len(f))
	}
	v, err := strconv.ParseUint(f[19], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("stat: field 22 (starttime) %q: %w", f[19], err)
	}
	return v, nil
}
