package host

import (
	"net/netip"
	"testing"

	"github.com/hnspath/hnspath/emulator/emutest"
	"github.com/hnspath/hnspath/emulator/packet"
	"github.com/hnspath/hnspath/emulator/winnat"
)

// natRefs returns the Refs of two sessions of one WinNAT that share a slot:
// the first expired before the second was made.
func natRefs(t *testing.T) (first, second winnat.Ref) {
	t.Helper()
	cfg := winnat.DefaultConfig()
	cfg.InternalPrefix = netip.MustParsePrefix("172.16.0.0/24")
	cfg.ExternalAddrs = []netip.Addr{netip.MustParseAddr("10.0.0.4")}
	n, err := winnat.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	out := func(src string, sport uint16, now int64) winnat.Ref {
		var p packet.Parsed
		p.Decode(emutest.UDP4(t, "00:15:5d:00:00:02", "00:15:5d:00:00:01", src, "198.18.0.10", sport, 53, []byte("x")))
		v, r, ref := n.Outbound(&p, cfg.ExternalAddrs[0], now, nil)
		if v != winnat.Translated || ref == 0 {
			t.Fatalf("Outbound = %v %v ref %d, want translated with a session", v, r, ref)
		}
		return ref
	}
	first = out("172.16.0.2", 40000, 0)
	later := int64(cfg.UDPIdleTimeout) + 1
	n.Expire(later, 100)
	second = out("172.16.0.3", 40001, later)
	if first.Index() != second.Index() || first == second {
		t.Fatalf("refs %#x %#x, want one slot under two Refs", first, second)
	}
	return first, second
}

// TestFastPathTags: the cache's tags are its own, per session and
// direction; a session made later in the same slot finds none, and a reset
// drops them all.
func TestFastPathTags(t *testing.T) {
	r1, r2 := natRefs(t)
	h := &Host{Stack: &Stack{natIface: -1}}
	f := &h.fast
	f.paths = []fastPath{{dir: pathOut, in: 1}, {dir: pathIn, in: 2}}
	if f.path(r1, pathOut) != nil {
		t.Fatal("a path before any tag")
	}
	f.tag(r1, pathOut, 1)
	f.tag(r1, pathIn, 2)
	if fp := f.path(r1, pathOut); fp != &f.paths[0] {
		t.Fatalf("out path %p, want %p", fp, &f.paths[0])
	}
	if fp := f.path(r1, pathIn); fp != &f.paths[1] {
		t.Fatalf("in path %p, want %p", fp, &f.paths[1])
	}
	if f.path(r2, pathOut) != nil || f.path(r2, pathIn) != nil {
		t.Fatal("a later session in the same slot found the first one's tags")
	}
	f.tag(r2, pathIn, 2)
	if f.path(r1, pathOut) != nil || f.path(r2, pathOut) != nil || f.path(r2, pathIn) != &f.paths[1] {
		t.Fatal("tagging the new session must drop the old one's tags and keep only its own")
	}
	// A slot that points at a path of the other direction is no path.
	f.tag(r2, pathOut, 2)
	if f.path(r2, pathOut) != nil {
		t.Fatal("an inbound path served an outbound packet")
	}
	f.reset(h)
	if f.path(r2, pathIn) != nil || len(f.paths) != 0 {
		t.Fatal("tags or paths survived a reset")
	}
}
