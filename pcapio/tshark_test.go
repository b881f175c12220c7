package pcapio

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// These tests use Wireshark's tshark as an independent reader and writer
// of the formats. They are skipped when tshark is not installed.

var tsharkFields = []string{
	"frame.interface_name", "frame.interface_description", "frame.time_epoch",
	"frame.cap_len", "frame.len", "frame.comment", "frame.encap_type",
	"frame.verdict.ebpf_tc", "frame.verdict.ebpf_xdp", "frame.verdict.hw", "eth.src",
}

// tsFrame is one frame as tshark shows it: field name to values.
type tsFrame map[string][]string

func (f tsFrame) get(name string) string { return strings.Join(f[name], "\n") }

func tshark(t *testing.T, path string) []tsFrame {
	t.Helper()
	bin, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark is not installed (DEBIAN_FRONTEND=noninteractive apt-get install -y tshark): skipping the check with Wireshark's reader")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	args := []string{"-r", path, "-T", "json"}
	for _, f := range tsharkFields {
		args = append(args, "-e", f)
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	// tshark exits 2 after reading what it could of a damaged file.
	var ee *exec.ExitError
	if err != nil && !(errors.As(err, &ee) && len(out) > 0) {
		t.Fatalf("tshark %v: %v\n%s", args, err, stderr.String())
	}
	var docs []struct {
		Source struct {
			Layers map[string][]string `json:"layers"`
		} `json:"_source"`
	}
	if err := json.Unmarshal(out, &docs); err != nil {
		t.Fatalf("tshark output: %v\n%s", err, out)
	}
	frames := make([]tsFrame, len(docs))
	for i, d := range docs {
		frames[i] = d.Source.Layers
	}
	return frames
}

// epochString prints a time the way tshark's frame.time_epoch does.
func epochString(t time.Time) string {
	return fmt.Sprintf("%d.%09d", t.Unix(), t.Nanosecond())
}

func TestTsharkReadsOurPcapng(t *testing.T) {
	in := samplePackets()
	path := filepath.Join(t.TempDir(), "out.pcapng")
	if err := os.WriteFile(path, writeNg(t, in), 0o644); err != nil {
		t.Fatal(err)
	}
	frames := tshark(t, path)
	if len(frames) != len(in) {
		t.Fatalf("tshark read %d frames, want %d", len(frames), len(in))
	}
	for i, p := range in {
		f := frames[i]
		want := map[string]string{
			"frame.interface_name": p.Port,
			"frame.time_epoch":     epochString(p.Time),
			"frame.cap_len":        strconv.Itoa(len(p.Data)),
			"frame.len":            strconv.Itoa(max(p.OrigLen, len(p.Data))),
			"frame.comment":        p.Comment,
			"eth.src":              "02:00:00:00:00:99",
		}
		if p.Port == "client" {
			want["frame.interface_description"] = "outside client"
		}
		if v := p.Verdict; v != nil {
			switch v.Type {
			case VerdictLinuxTC:
				want["frame.verdict.ebpf_tc"] = strconv.FormatUint(v.Value, 10)
			case VerdictLinuxXDP:
				want["frame.verdict.ebpf_xdp"] = strconv.FormatUint(v.Value, 10)
			case VerdictHardware:
				want["frame.verdict.hw"] = hex.EncodeToString(v.Data)
			}
		}
		for k, w := range want {
			g := f.get(k)
			if k == "frame.verdict.hw" { // tshark prints "de ad"
				g = strings.ReplaceAll(g, " ", "")
			}
			if g != w {
				t.Errorf("packet %d: tshark %s = %q, want %q", i+1, k, g, w)
			}
		}
	}
}

func TestTsharkReadsOurPcap(t *testing.T) {
	in := samplePackets()
	path := filepath.Join(t.TempDir(), "out.pcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := NewPcapWriter(f)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range in {
		if err := w.Write(p); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	frames := tshark(t, path)
	if len(frames) != len(in) {
		t.Fatalf("tshark read %d frames, want %d", len(frames), len(in))
	}
	for i, p := range in {
		if g, w := frames[i].get("frame.time_epoch"), epochString(p.Time); g != w {
			t.Errorf("packet %d: time %s, want %s", i+1, g, w)
		}
		if g, w := frames[i].get("frame.cap_len"), strconv.Itoa(len(p.Data)); g != w {
			t.Errorf("packet %d: cap_len %s, want %s", i+1, g, w)
		}
	}
}

// TestGeneratorFilesAgainstTshark reads the pcapng-test-generator files
// with our reader and with tshark: names, times and lengths must agree, up
// to the first packet we reject, which must be one that is not Ethernet
// (or in a section of an unsupported version). The little-endian files
// suffice: TestByteOrders shows the big-endian ones read the same.
func TestGeneratorFilesAgainstTshark(t *testing.T) {
	if testing.Short() {
		t.Skip("runs tshark once per file")
	}
	for _, path := range generatorFiles(t) {
		{
			t.Run(path, func(t *testing.T) {
				var frames []tsFrame
				for _, f := range tshark(t, path) {
					if len(f["frame.encap_type"]) > 0 { // frames that are packets on an interface
						frames = append(frames, f)
					}
				}
				ours, err := readUntilError(t, path)
				if len(ours) > len(frames) {
					t.Fatalf("we read %d packets, tshark %d", len(ours), len(frames))
				}
				for i, p := range ours {
					f := frames[i]
					// tshark 4.0 names the interfaces of test201's second
					// section after the first section's; pcapgo's expectations
					// for this file (ngread_test.go) agree with ours.
					if g := f.get("frame.interface_name"); g != p.Port && filepath.Base(path) != "test201.pcapng" {
						t.Errorf("packet %d: port %q, tshark interface %q", i+1, p.Port, g)
					}
					if g := f.get("frame.cap_len"); g != strconv.Itoa(len(p.Data)) {
						t.Errorf("packet %d: %d bytes, tshark %s", i+1, len(p.Data), g)
					}
					if g := f.get("frame.time_epoch"); g != "" && g != epochString(p.Time) {
						t.Errorf("packet %d: time %s, tshark %s", i+1, epochString(p.Time), g)
					}
					if g := strings.Join(f["frame.comment"], "\n"); g != p.Comment {
						t.Errorf("packet %d: comment %q, tshark %q", i+1, p.Comment, g)
					}
				}
				switch {
				case err == nil && len(ours) != len(frames):
					t.Errorf("we read %d packets, tshark %d", len(ours), len(frames))
				case err != nil && strings.Contains(err.Error(), "not Ethernet"):
					if g := frames[len(ours)].get("frame.encap_type"); g == "1" {
						t.Errorf("we reject packet %d (%v), tshark says it is Ethernet", len(ours)+1, err)
					}
				case err != nil && !strings.Contains(err.Error(), "version 2.0 not supported"):
					t.Errorf("error: %v", err)
				}
			})
		}
	}
}
