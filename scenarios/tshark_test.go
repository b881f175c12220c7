package scenarios_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hnspath/hnspath/pcapio"
	"github.com/hnspath/hnspath/result"
	"github.com/hnspath/hnspath/scenarios"
	"github.com/hnspath/hnspath/spec"
)

// tshark runs Wireshark's tshark on a capture with checksum validation on
// and returns its stdout; stderr must hold nothing but tshark's notice
// about running as root.
func tshark(t *testing.T, path string, args ...string) string {
	t.Helper()
	bin, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark is not installed (apt-get install tshark; .ci/run installs it): skipping the check of the output pcapng files with Wireshark's reader")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	all := append([]string{"-r", path, "-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE"}, args...)
	cmd := exec.CommandContext(ctx, bin, all...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("tshark %v: %v\n%s", all, err, stderr.String())
	}
	for _, l := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
		if l != "" && !strings.Contains(l, "This could be dangerous") {
			t.Errorf("tshark %s: %s", filepath.Base(path), l)
		}
	}
	return stdout.String()
}

// TestTsharkReadsLibraryOutputs runs the whole library and has tshark read
// every output pcapng: no errors, the interface names are the ports the
// results name, checksums are valid (tshark checks IPv4, UDP, TCP, ICMP
// and ICMPv6), and VXLAN frames (UDP 4789) decode with their inner frame.
func TestTsharkReadsLibraryOutputs(t *testing.T) {
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("tshark is not installed (apt-get install tshark; .ci/run installs it): skipping the check of the output pcapng files with Wireshark's reader")
	}
	dir := t.TempDir()
	scs := loadLibrary(t)
	for _, sc := range scs {
		if rep := scenarios.Run(sc, scenarios.Options{OutDir: dir}); rep.Err != nil {
			t.Fatalf("%s: %v", sc.Name, rep.Err)
		}
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.pcapng"))
	if len(files) == 0 {
		t.Fatal("no pcapng written")
	}
	var mu sync.Mutex
	checked, vxlan := 0, 0
	t.Run("files", func(t *testing.T) {
		for _, f := range files {
			name := strings.TrimSuffix(filepath.Base(f), ".pcapng")
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				c, v := checkCapture(t, dir, name)
				mu.Lock()
				checked, vxlan = checked+c, vxlan+v
				mu.Unlock()
			})
		}
	})
	if checked == 0 {
		t.Error("tshark verified no checksum at all")
	}
	// The library's overlay scenarios (overlay-round-trip and others) put
	// VXLAN frames on the wire: the check must have found some.
	if vxlan == 0 {
		t.Error("no UDP/4789 frames in the library's outputs, want the overlay scenarios' VXLAN frames")
	}
	t.Logf("%d pcapng files, %d checksums verified good, %d VXLAN frames", len(files), checked, vxlan)
}

// checkCapture checks one scenario's pcapng with tshark and returns the
// number of checksums verified good and of VXLAN frames.
func checkCapture(t *testing.T, dir, name string) (checked, vxlan int) {
	// The ports the results name.
	rf, err := os.Open(filepath.Join(dir, name+".results.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := result.ReadAll(rf, name)
	rf.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(res) == 0 {
		return 0, 0 // expect_error scenarios write an empty capture
	}
	want := map[string]bool{}
	for _, p := range res {
		want[p.In] = true
		for _, o := range p.Outputs {
			want[o.Port] = true
		}
		for _, d := range p.Drops {
			if len(d.Frame) > 0 {
				want[d.Port] = true
			}
		}
	}
	out := tshark(t, filepath.Join(dir, name+".pcapng"), "-T", "fields", "-E", "separator=|", "-e", "frame.interface_name",
		"-e", "ip.checksum.status", "-e", "udp.checksum.status", "-e", "tcp.checksum.status", "-e", "icmp.checksum.status",
		"-e", "icmpv6.checksum.status", "-e", "udp.dstport", "-e", "vxlan.vni", "-e", "eth.src")
	got := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		cols := strings.Split(line, "|")
		if len(cols) != 9 {
			t.Fatalf("tshark line %q: want 9 fields", line)
		}
		got[cols[0]] = true
		for _, c := range cols[1:6] {
			for _, st := range strings.Split(c, ",") {
				switch st {
				case "0":
					t.Errorf("bad checksum: %s", line)
				case "1":
					checked++
				}
			}
		}
		// VXLAN: a frame to UDP/4789 decodes as VXLAN with an inner
		// Ethernet frame (two Ethernet source addresses).
		if strings.HasPrefix(cols[6], "4789") {
			vxlan++
			if cols[7] == "" || len(strings.Split(cols[8], ",")) < 2 {
				t.Errorf("UDP/4789 frame without a decoded VXLAN header and inner frame: %s", line)
			}
		}
	}
	if g, w := keys(got), keys(want); g != w {
		t.Errorf("interface names %s, want the ports %s", g, w)
	}
	return checked, vxlan
}

func keys(m map[string]bool) string {
	var k []string
	for s := range m {
		k = append(k, s)
	}
	sort.Strings(k)
	return strings.Join(k, ",")
}

// TestTsharkVXLANCheck makes sure the VXLAN check of
// TestTsharkReadsLibraryOutputs finds VXLAN frames when there are some: a
// capture with one VXLAN frame built from a spec.
func TestTsharkVXLANCheck(t *testing.T) {
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("tshark is not installed (apt-get install tshark; .ci/run installs it)")
	}
	frames, err := spec.Build(spec.MustParse("ether(src=02:00:00:00:00:01, dst=02:00:00:00:00:02) / ipv4(src=10.0.0.4, dst=10.0.0.5) / "+
		"udp(sport=49000, dport=4789) / vxlan(vni=4096) / ether(src=0e:2a:0a:f4:01:02, dst=0e:2a:0a:f4:02:02) / "+
		"ipv4(src=10.244.1.2, dst=10.244.2.2) / udp(sport=1000, dport=2000) / raw(load=\"inner\")"), nil, spec.BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	p := &result.Packet{Scenario: "vx", Index: 1, In: "host1/eth0", Frame: frames[0], Outcome: result.OutcomeConsumed}
	var jb bytes.Buffer
	jw := result.NewWriter(&jb)
	jw.Write(p)
	jw.Flush()
	if err := os.WriteFile(filepath.Join(dir, "vx.results.jsonl"), jb.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	var pb bytes.Buffer
	nw, err := pcapio.NewNgWriter(&pb, pcapio.NgOptions{})
	if err != nil {
		t.Fatal(err)
	}
	nw.Write(pcapio.Packet{Port: "host1/eth0", Time: time.Unix(1, 0), Data: frames[0]})
	nw.Flush()
	if err := os.WriteFile(filepath.Join(dir, "vx.pcapng"), pb.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	checked, vxlan := checkCapture(t, dir, "vx")
	if vxlan != 1 || checked < 3 {
		t.Errorf("vxlan frames %d, checksums verified %d; want 1 and at least 3 (outer IPv4 and UDP, inner IPv4)", vxlan, checked)
	}
}
