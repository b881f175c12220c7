package main

import (
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hnspath/hnspath/hostprobe/linux"
	"github.com/hnspath/hnspath/result"
	"github.com/hnspath/hnspath/scenarios/library"
)

// probeScenarioDir writes two library scenarios and their topology into a directory.
func probeScenarioDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"nat-outbound-udp.yaml", "nat-host-no-loopback.yaml", "topologies/nat.yaml"} {
		b, err := fs.ReadFile(library.FS(), name)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestProbeEmulator runs the emulator backend against the emulator: every scenario
// agrees, and the output files are written.
func TestProbeEmulator(t *testing.T) {
	dir := probeScenarioDir(t)
	out := t.TempDir()
	code, stdout, stderr := runCmd(t, "probe", "--backend", "emulator", "--out", out,
		filepath.Join(dir, "nat-outbound-udp.yaml"), filepath.Join(dir, "nat-host-no-loopback.yaml"))
	if code != exitOK {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	for _, want := range []string{"nat-outbound-udp", "nat-host-no-loopback", "2 scenarios: 2 agrees"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	for _, f := range []string{"nat-outbound-udp.emulator.results.jsonl", "nat-outbound-udp.diff.txt", "summary.txt", "summary.json"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("output %s: %v", f, err)
		}
	}
	var s summaryJSON
	b, err := os.ReadFile(filepath.Join(out, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	if s.Backend != "emulator" || len(s.Scenarios) != 2 || s.Scenarios[0].Result != "agrees" || s.Scenarios[0].Packets != 3 {
		t.Errorf("summary.json: got %+v", s)
	}
	f, err := os.Open(filepath.Join(out, "nat-outbound-udp.emulator.results.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ps, err := result.ReadAll(f, "results")
	if err != nil || len(ps) != 3 {
		t.Errorf("results file: got %d packets, %v; want 3", len(ps), err)
	}
}

// TestProbeDuplicateNames: two scenarios with the same name would write the same
// output files; the second is a located load error (exit 1) and runs not.
func TestProbeDuplicateNames(t *testing.T) {
	dir := probeScenarioDir(t)
	a := filepath.Join(dir, "nat-outbound-udp.yaml")
	b, err := os.ReadFile(a)
	if err != nil {
		t.Fatal(err)
	}
	twin := filepath.Join(dir, "twin.yaml")
	if err := os.WriteFile(twin, b, 0o644); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	code, stdout, stderr := runCmd(t, "probe", "--backend", "emulator", "--out", out, a, twin)
	if code != exitFail || !strings.Contains(stderr, `twin.yaml: name: "nat-outbound-udp" is also the name of `+a) {
		t.Errorf("exit %d, stderr %q; want 1 and the located error", code, stderr)
	}
	if !strings.Contains(stdout, "1 scenarios:") {
		t.Errorf("want one scenario run:\n%s", stdout)
	}
}

// TestProbeUnsupported checks exit code 3 where a backend cannot run, and 2 for bad flags.
func TestProbeUnsupported(t *testing.T) {
	dir := probeScenarioDir(t)
	code, _, stderr := runCmd(t, "probe", "--backend", "windows", filepath.Join(dir, "nat-outbound-udp.yaml"))
	if code != exitUnsupported || !strings.Contains(stderr, "not supported") && !strings.Contains(stderr, "unsupported") {
		t.Errorf("probe --backend windows on Linux: exit %d, stderr %q; want 3 with the reason", code, stderr)
	}
	if code, _, _ := runCmd(t, "probe", "clean", "--backend", "windows"); code != exitUnsupported {
		t.Errorf("probe clean --backend windows on Linux: exit %d, want 3", code)
	}
	for _, args := range [][]string{
		{"probe", "--backend", "bsd"},
		{"probe", "--l2bridge", "vlan"},
		{"probe", "clean", "extra"},
		{"probe", "clean", "--backend", "emulator"},
		{"probe", "clean", "--prefix", "bad"}, // was 1: a bad flag value is a usage error
		{"probe", "clean", "--backend", "windows", "--prefix", "bad"},
	} {
		if code, _, _ := runCmd(t, args...); code != exitUsage {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
	}
	if code, _, stderr := runCmd(t, "probe", "clean", "--help"); code != exitOK || !strings.Contains(stderr, "Usage: hnspath probe clean") {
		t.Errorf("probe clean --help: exit %d, stderr %q", code, stderr)
	}
	if linux.CheckPrivileges() != nil {
		code, _, stderr := runCmd(t, "probe", filepath.Join(dir, "nat-outbound-udp.yaml"))
		if code != exitUnsupported || !strings.Contains(stderr, "cannot run here") {
			t.Errorf("probe without privileges: exit %d, stderr %q; want 3", code, stderr)
		}
	}
}

// TestProbeLinux runs two scenarios on the kernel (as root): the outbound UDP flow agrees
// with the emulator, and the host's hairpin differs as documented.
func TestProbeLinux(t *testing.T) {
	if err := linux.CheckPrivileges(); err != nil {
		t.Skip(err)
	}
	dir := probeScenarioDir(t)
	out := t.TempDir()
	code, stdout, stderr := runCmd(t, "probe", "--out", out, "--fail-on-undocumented", dir)
	if code != exitOK {
		t.Fatalf("exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
	for _, want := range []string{
		"nat-outbound-udp ", "agrees",
		"nat-host-no-loopback", "differs (documented)", "host-hairpin",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "nat-outbound-udp.linux.results.jsonl")); err != nil {
		t.Errorf("linux results: %v", err)
	}
	// Everything the runs made is gone: clean finds nothing of them.
	code, stdout, _ = runCmd(t, "probe", "clean")
	if code != exitOK {
		t.Errorf("probe clean: exit %d", code)
	}
	if strings.Contains(stdout, "netns") {
		t.Errorf("probe clean after finished runs removed namespaces (a leak):\n%s", stdout)
	}
}

// TestProbeLibraryLinux runs the whole scenario library on the kernel (as root): every
// scenario with a Linux analogue runs (only those that expect HNS to reject their
// topology are skipped), none differs in a way nothing explains (--fail-on-undocumented),
// and the scenarios whose header rewriting DESIGN says Windows and Linux share
// (port-mapping DNAT, masquerade, VXLAN, bridging, TTL, checksums) agree outright.
func TestProbeLibraryLinux(t *testing.T) {
	if err := linux.CheckPrivileges(); err != nil {
		t.Skip(err)
	}
	if testing.Short() {
		t.Skip("the library on the kernel takes seconds")
	}
	out := t.TempDir()
	code, stdout, stderr := runCmd(t, "probe", "--fail-on-undocumented", "--out", out)
	if code != exitOK {
		t.Fatalf("exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
	b, err := os.ReadFile(filepath.Join(out, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	var s summaryJSON
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	scs, err := loadScenarios(nil)
	if err != nil {
		t.Fatal(err)
	}
	rejected := map[string]bool{}
	for _, sc := range scs {
		rejected[sc.Name] = sc.ExpectError != nil
	}
	if len(s.Scenarios) != len(scs) {
		t.Errorf("summary.json: got %d scenarios, want the library's %d", len(s.Scenarios), len(scs))
	}
	results := map[string]string{}
	for _, sc := range s.Scenarios {
		results[sc.Name] = sc.Result
		switch {
		case sc.Result == "skipped":
			if !rejected[sc.Name] {
				t.Errorf("%s skipped: %s; only scenarios whose topology HNS rejects have nothing to run", sc.Name, sc.Skipped)
			}
		case rejected[sc.Name]:
			t.Errorf("%s: got %s, want skipped (HNS rejects its topology)", sc.Name, sc.Result)
		case sc.Result == "error":
			t.Errorf("%s could not run on the kernel: %s", sc.Name, sc.Error)
		case sc.Undocumented > 0 || sc.Result == "differs":
			t.Errorf("%s: %d packets differ in undocumented ways (%s)", sc.Name, sc.Undocumented, sc.Result)
		}
	}
	for _, name := range []string{"nat-static-portmap", "nat-outbound-tcp", "nat-outbound-udp", "nat-outbound-icmp", "nat-hairpin-container",
		"nat-icmp-error-translation", "overlay-round-trip", "overlay-custom-vxlan-port", "overlay-vni-mismatch",
		"l2bridge-cross-host", "l2bridge-same-host-bridged", "l2bridge-ipv6-dual-stack", "transparent-own-mac"} {
		if results[name] != "agrees" {
			t.Errorf("%s: got %q, want agrees (header rewriting Windows and Linux share)", name, results[name])
		}
	}
	// overlay-mtu-1450's 1451-byte packet is one the kernel refuses to send from the
	// pod's veth: not compared, so the scenario is partial, not an agreement.
	if got := results["overlay-mtu-1450"]; !strings.HasPrefix(got, "partial") {
		t.Errorf("overlay-mtu-1450: got %q, want partial (an input Linux could not inject)", got)
	}
}

// probeChildEnv makes TestProbeKilledChild run `hnspath probe` with the arguments in
// the variable (separated by newlines) instead of skipping.
const probeChildEnv = "HNSPATH_PROBE_CHILD"

// TestProbeKilledChild is the body of the child process of TestProbeKilledThenClean.
func TestProbeKilledChild(t *testing.T) {
	args := os.Getenv(probeChildEnv)
	if args == "" {
		t.Skip("runs only as TestProbeKilledThenClean's child")
	}
	os.Exit(run(strings.Split(args, "\n"), os.Stdout, os.Stderr))
}

// TestProbeKilledThenClean kills `hnspath probe` (SIGKILL: no teardown) while a scenario
// runs on the kernel, and checks that `hnspath probe clean` then removes its session:
// no network namespace, marker, root-namespace link or nftables table of it is left.
func TestProbeKilledThenClean(t *testing.T) {
	if err := linux.CheckPrivileges(); err != nil {
		t.Skip(err)
	}
	dir := probeScenarioDir(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// A long quiet time keeps the child inside the scenario's run.
	cmd := exec.Command(exe, "-test.run=^TestProbeKilledChild$")
	cmd.Env = append(os.Environ(), probeChildEnv+"=probe\n--quiet\n10s\n"+filepath.Join(dir, "nat-outbound-udp.yaml"))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	defer func() {
		if !killed {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	}()
	session := ""
	for deadline := time.Now().Add(20 * time.Second); session == "" && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		ms, _ := filepath.Glob(filepath.Join(linux.MarkerDir, linux.Prefix+"*"))
		for _, m := range ms {
			b, err := os.ReadFile(m)
			if f := strings.Fields(string(b)); err == nil && len(f) == 2 && f[0] == strconv.Itoa(cmd.Process.Pid) {
				if ns, _ := filepath.Glob(filepath.Join(linux.NetnsDir, filepath.Base(m)+"-*")); len(ns) >= 5 {
					session = filepath.Base(m)
				}
			}
		}
	}
	if session == "" {
		t.Fatalf("the child built no lab within 20 s")
	}
	// Let the scenario start running (its first input waits out --quiet).
	time.Sleep(500 * time.Millisecond)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	killed = true
	left, _ := filepath.Glob(filepath.Join(linux.NetnsDir, session+"-*"))
	if len(left) == 0 {
		t.Fatalf("after SIGKILL: no namespace of %s left, want some (the test would prove nothing)", session)
	}
	code, stdout, stderr := runCmd(t, "probe", "clean", "--prefix", session+"-")
	if code != exitOK {
		t.Fatalf("probe clean: exit %d, stderr %s", code, stderr)
	}
	if n := strings.Count(stdout, "removed netns "+session+"-"); n != len(left) {
		t.Errorf("probe clean removed %d of %d namespaces:\n%s", n, len(left), stdout)
	}
	left, err = linux.Leftovers(session + "-")
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 0 {
		t.Errorf("left after probe clean: %q", left)
	}
}

// partialScenario is a transparent network with an ACL on the endpoint: the Linux
// analogue (macvlan) does not build endpoint policies, so the blocked SYN gets through
// on the kernel.
const partialScenario = `name: transparent-acl
summary: an ACL on a transparent endpoint blocks port 22
sources: ["docs/windows-behaviour.md §3.1: ACL policy (a test scenario of hnspath probe)"]
topology:
  hosts:
    - name: host1
      nics: [{name: eth0, mac: "00:15:5d:00:00:04", ip: 10.0.0.4/24, gateway: 10.0.0.1}]
      hns:
        Networks:
          - {Name: tnet, Type: Transparent, Ipams: [{Type: Static, Subnets: [{IpAddressPrefix: 10.0.0.0/24, Routes: [{NextHop: 10.0.0.1, DestinationPrefix: 0.0.0.0/0}]}]}]}
        Endpoints:
          - Name: web
            HostComputeNetwork: tnet
            MacAddress: 00-15-5D-01-01-02
            IpConfigurations: [{IpAddress: 10.0.0.20, PrefixLength: 24}]
            Policies: [{Type: ACL, Settings: {Id: block-ssh, Protocols: "6", Action: Block, Direction: In, LocalPorts: "22", Priority: 100, RuleType: Switch}}]
  peers:
    - {name: client, mac: "02:00:00:00:00:99", ip: 10.0.0.99/24, gateway: 10.0.0.1}
  underlay:
    router: {mac: "02:00:00:00:00:01", ips: [10.0.0.1/24]}
packets:
  - at: client
    frame: ipv4(dst=10.0.0.20) / tcp(sport=40000, dport=22, flags=S)
  - at: client
    frame: ipv4(dst=10.0.0.20) / tcp(sport=40001, dport=80, flags=S)
expect:
  - drop: {packet: 1, reason: "*"}
  - at: host1/web
    packet: 2
    frame: ipv4(src=10.0.0.99, dst=10.0.0.20) / tcp(dport=80, flags=S)
`

// TestProbePartial runs a scenario whose differences come from a part the Linux
// analogue does not build: the summary says "partial" with the part, the JSON counts the
// packet as partial and not as undocumented, and --fail-on-undocumented passes.
func TestProbePartial(t *testing.T) {
	if err := linux.CheckPrivileges(); err != nil {
		t.Skip(err)
	}
	dir, out := t.TempDir(), t.TempDir()
	file := filepath.Join(dir, "transparent-acl.yaml")
	if err := os.WriteFile(file, []byte(partialScenario), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCmd(t, "probe", "--fail-on-undocumented", "--out", out, file)
	if code != exitOK {
		t.Fatalf("exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
	const part = "endpoint host1/web: ACL policy on a transparent network is not built (macvlan bypasses the host's hooks)"
	for _, want := range []string{"partial (not built: " + part + ")", "1 scenarios: 1 partial", "not built on linux: " + part} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	b, err := os.ReadFile(filepath.Join(out, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	var s summaryJSON
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	if len(s.Scenarios) != 1 {
		t.Fatalf("summary.json: got %d scenarios, want 1", len(s.Scenarios))
	}
	sc := s.Scenarios[0]
	if sc.Differing != 1 || sc.Undocumented != 0 || sc.Partial != 1 || len(sc.PartialBy) != 1 || sc.PartialBy[0] != part ||
		!strings.HasPrefix(sc.Result, "partial (not built: ") {
		t.Errorf("summary.json: got %+v, want packet 1 differing, partial by %q, none undocumented", sc, part)
	}
	diff, err := os.ReadFile(filepath.Join(out, "transparent-acl.diff.txt"))
	if err != nil || !strings.Contains(string(diff), "[not built: "+part+"]") {
		t.Errorf("diff.txt: got %q, %v; want the difference labelled not built", diff, err)
	}
}
