package vfp

import (
	"math/rand"
	"net/netip"
	"testing"

	"github.com/hnspath/hnspath/emulator/drop"
	"github.com/hnspath/hnspath/emulator/header"
	"github.com/hnspath/hnspath/emulator/packet"
)

const (
	macPod  = "00:15:5d:00:00:02" // container vNIC
	macHost = "00:15:5d:00:00:01" // host / l2bridge rewrite MAC
	macGW   = "00:15:5d:00:00:fe" // next hop
	macPeer = "00:15:5d:00:00:99" // remote
	sec     = int64(1e9)
)

func mac(s string) header.MAC {
	m, ok := header.ParseMAC(s)
	if !ok {
		panic("bad MAC " + s)
	}
	return m
}

func addr(s string) netip.Addr { return netip.MustParseAddr(s) }

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }

func prefixes(ss ...string) []netip.Prefix {
	var ps []netip.Prefix
	for _, s := range ss {
		ps = append(ps, pfx(s))
	}
	return ps
}

// newPort returns a port with the layers added, failing the test on error.
func newPort(t testing.TB, opts PortOptions, layers ...*Layer) *Port {
	t.Helper()
	p := NewPort("port1", opts)
	for _, l := range layers {
		if err := p.AddLayer(l); err != nil {
			t.Fatalf("AddLayer(%s): %v", l.Name, err)
		}
	}
	return p
}

// load copies frame into a fresh buffer and decodes it.
func load(frame []byte) (*packet.Buffer, *packet.Parsed) {
	b := packet.NewBuffer()
	if !b.Set(frame) {
		panic("frame too big")
	}
	var pp packet.Parsed
	pp.Decode(b.Bytes())
	return b, &pp
}

// run processes a copy of frame and returns the verdict, reason and the
// resulting frame (a copy).
func run(p *Port, dir Direction, frame []byte, now int64) (Verdict, drop.Reason, []byte) {
	res, out := runResult(p, dir, frame, now)
	return res.Verdict, res.Reason, out
}

// runResult processes a copy of frame and returns the result and the
// resulting frame (a copy).
func runResult(p *Port, dir Direction, frame []byte, now int64) (Result, []byte) {
	b, pp := load(frame)
	res := p.Process(dir, b, pp, now, nil)
	return res, append([]byte(nil), b.Bytes()...)
}

func newRand(seed int64) *rand.Rand { return rand.New(rand.NewSource(seed)) }
