package workload

import (
	"context"
	"os"
	"strconv"
	"testing"
)

// soakModes are the workloads the soak runs: every network mode, with
// outbound and inbound NAT and overlay both ways.
var soakModes = []string{"nat-outbound", "nat-inbound", "transparent", "l2bridge", "l2bridge-outboundnat", "l2tunnel",
	"overlay-encap", "overlay-decap", "overlay-roundtrip", "acl", "lb"}

// TestSoak replays flows through every mode for a long virtual time (see
// Soak) and checks that every frame is delivered (no false drop: no full
// table, no exhausted port range) and that the heap in use and the live
// heap stay flat once both flow sets have been made.
//
// By default it is short (2,000 flows a pass, 6 passes). The soak proper
// runs with HNSPATH_SOAK=1 (50,000 flows a pass, 40 passes: 2M flows per
// mode; HNSPATH_SOAK_FLOWS and HNSPATH_SOAK_PASSES override them):
//
//	HNSPATH_SOAK=1 go test ./bench/workload -run '^TestSoak$' -v -timeout 3h
func TestSoak(t *testing.T) {
	flows, passes := 2_000, 6
	if os.Getenv("HNSPATH_SOAK") != "" {
		flows, passes = 50_000, 40
	} else if testing.Short() {
		t.Skip("set HNSPATH_SOAK=1 for the soak")
	}
	if v, err := strconv.Atoi(os.Getenv("HNSPATH_SOAK_FLOWS")); err == nil && v > 0 {
		flows = v
	}
	if v, err := strconv.Atoi(os.Getenv("HNSPATH_SOAK_PASSES")); err == nil && v >= 3 {
		passes = v
	}
	for _, mode := range soakModes {
		t.Run(mode, func(t *testing.T) {
			r, err := Soak(context.Background(), SoakConfig{Mode: mode, Flows: flows, Passes: passes})
			if err != nil {
				t.Fatal(err)
			}
			t.Log(r)
			if want := uint64(passes * flows); r.Packets < want {
				t.Errorf("%d packets, want at least %d", r.Packets, want)
			}
			if r.Delivered != r.Packets || len(r.Drops) != 0 {
				t.Errorf("%d of %d frames delivered; drops %v: want every frame delivered", r.Delivered, r.Packets, r.Drops)
			}
			// Flat: after both sets were made (pass 2), the heap in use may
			// grow by the allocator's fragmentation (measured: about 5% over
			// 38 passes in the VFP modes, the live objects unchanged),
			// bounded here by 8 MiB plus 10%. The live objects may not grow
			// by more than 1 MiB plus 1%: a leak of one session, flow or
			// port per flow grows them by every pass's flows.
			last := len(r.HeapInUse) - 1
			base := r.HeapInUse[1]
			if limit := base + base/10 + 8<<20; r.HeapInUse[last] > limit {
				t.Errorf("heap in use grew from %.1f MiB (pass 2) to %.1f MiB (end): want flat (at most %.1f MiB)",
					mib(base), mib(r.HeapInUse[last]), mib(limit))
			}
			live := r.HeapAlloc[1]
			if limit := live + live/100 + 1<<20; r.HeapAlloc[last] > limit {
				t.Errorf("live heap grew from %.1f MiB (pass 2) to %.1f MiB (end): want flat (at most %.1f MiB)",
					mib(live), mib(r.HeapAlloc[last]), mib(limit))
			}
		})
	}
}
