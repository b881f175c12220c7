package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hnspath/hnspath/reports"
)

const (
	samplePcap     = "../../scenarios/samples/modes-sample.pcapng"
	sampleWorkload = "../../scenarios/samples/modes-sample.workload.yaml"
)

// TestModesSample runs hnspath modes on the sample capture: the per-mode
// table shows the documented differences.
func TestModesSample(t *testing.T) {
	code, out, errs := runCmd(t, "modes", "--workload", sampleWorkload, "--pcap", samplePcap, "--cost-time", "5ms")
	if code != exitOK {
		t.Fatalf("exit %d, stderr %s", code, errs)
	}
	rows := []struct{ flow, want string }{
		{"4 tcp laptop:50001 -> web:8080 (inbound)", "FAILS winnat-no-mapping"},
		{"5 icmp web -> gateway-ping (outbound)", "FAILS vfp-no-icmp-transposition"},
		{"6 tcp web:42000 -> cdn:443 (outbound)", "FAILS hns-ipv6-unsupported"},
		{"7 tcp web:43000 -> api:8080 (east-west) [1500-byte packets]", "partial mtu-mismatch"},
	}
	for _, r := range rows {
		found := false
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(l, r.flow) && strings.Contains(l, r.want) {
				found = true
			}
		}
		if !found {
			t.Errorf("no table row %q with %q in:\n%s", r.flow, r.want, out)
		}
	}
	for _, s := range []string{"nat  ", "transparent", "l2bridge", "l2tunnel", "overlay", "ns/packet (quick)", "documented constraints:",
		"MAC address spoofing must be enabled when the host is a VM", "for the Microsoft cloud (Azure) only"} {
		if !strings.Contains(out, s) {
			t.Errorf("output lacks %q", s)
		}
	}
}

func TestModesJSONAndMarkdown(t *testing.T) {
	code, out, errs := runCmd(t, "modes", "--workload", sampleWorkload, "--flows", "udp web:53000 -> resolver:53; icmp web -> gateway-ping", "--json", "--cost-time", "0s")
	if code != exitOK {
		t.Fatalf("exit %d, stderr %s", code, errs)
	}
	if k, err := reports.Detect([]byte(out)); err != nil || k != reports.KindModes {
		t.Fatalf("--json output detected as %q, %v; want %q", k, err, reports.KindModes)
	}
	if strings.Contains(out, `"cost"`) {
		t.Errorf("--cost-time 0s measured a cost")
	}
	code, out, errs = runCmd(t, "modes", "--workload", sampleWorkload, "--flows", "icmp web -> gateway-ping", "--md", "--mode", "nat,overlay", "--cost-time", "0s")
	if code != exitOK {
		t.Fatalf("exit %d, stderr %s", code, errs)
	}
	if !strings.Contains(out, "| flow | nat | overlay |") || strings.Contains(out, "l2bridge") {
		t.Errorf("--md --mode nat,overlay: got\n%s", out)
	}
}

func TestModesErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "w.yaml")
	if err := os.WriteFile(bad, []byte("endpoints:\n  - {name: web, expose: [80/sctp]}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no workload", []string{"--pcap", samplePcap}, exitUsage, "--workload is required"},
		{"no traffic", []string{"--workload", sampleWorkload}, exitUsage, "exactly one of --pcap and --flows"},
		{"both traffics", []string{"--workload", sampleWorkload, "--pcap", samplePcap, "--flows", "x"}, exitUsage, "exactly one"},
		{"md and json", []string{"--workload", sampleWorkload, "--pcap", samplePcap, "--md", "--json"}, exitUsage, "exclusive"},
		{"bad mode", []string{"--workload", sampleWorkload, "--pcap", samplePcap, "--mode", "ics"}, exitUsage, `--mode "ics"`},
		{"bad workload", []string{"--workload", bad, "--pcap", samplePcap}, exitFail, "w.yaml:2:"},
		{"missing capture", []string{"--workload", sampleWorkload, "--pcap", filepath.Join(dir, "none.pcap")}, exitFail, "none.pcap"},
		{"unknown name", []string{"--workload", sampleWorkload, "--flows", "tcp web:1 -> nobody:2"}, exitFail, `"nobody" is not a name of the workload`},
		{"not flows", []string{"--workload", sampleWorkload, "--flows", "nonsense"}, exitFail, "not a flow"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errs := runCmd(t, append([]string{"modes"}, tt.args...)...)
			if code != tt.code || !strings.Contains(errs, tt.want) {
				t.Fatalf("got exit %d, stderr %q; want exit %d and %q", code, errs, tt.code, tt.want)
			}
		})
	}
}

// TestModesHTMLInChromium: --html writes a page that headless Chromium
// renders with its tables and plot (skipped without Chromium).
func TestModesHTMLInChromium(t *testing.T) {
	page := filepath.Join(t.TempDir(), "modes.html")
	code, _, errs := runCmd(t, "modes", "--workload", sampleWorkload, "--pcap", samplePcap, "--html", page, "--cost-time", "5ms")
	if code != exitOK {
		t.Fatalf("exit %d, stderr %s", code, errs)
	}
	html, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{`<section id="modes">`, `<table class="modes">`, `<table class="addresses">`, `<svg class="plot"`, "<title>per-packet cost per mode"} {
		if !bytes.Contains(html, []byte(s)) {
			t.Errorf("page lacks %q", s)
		}
	}
	bin := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			bin = p
			break
		}
	}
	if bin == "" {
		t.Skip("chromium not found (apt-get install chromium, or make deps): the page is not rendered")
	}
	if testing.Short() {
		t.Skip("-short: no browser")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	shot := filepath.Join(filepath.Dir(page), "modes.png")
	common := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
		"--disable-component-update", "--disable-sync"}
	dom, err := exec.CommandContext(ctx, bin, append(common, "--user-data-dir="+t.TempDir(), "--dump-dom", "file://"+page)...).Output()
	if err != nil {
		t.Fatalf("chromium --dump-dom: %v", err)
	}
	for _, s := range []string{`<table class="modes">`, `<svg class="plot"`, "FAILS winnat-no-mapping"} {
		if !bytes.Contains(dom, []byte(s)) {
			t.Errorf("Chromium's DOM lacks %q", s)
		}
	}
	if err := exec.CommandContext(ctx, bin, append(common, "--user-data-dir="+t.TempDir(), "--screenshot="+shot, "--window-size=1280,2000", "file://"+page)...).Run(); err != nil {
		t.Fatalf("chromium --screenshot: %v", err)
	}
	if st, err := os.Stat(shot); err != nil || st.Size() < 10000 {
		t.Fatalf("screenshot %s: %v", shot, err)
	}
	t.Logf("screenshot: %s", shot)
}
