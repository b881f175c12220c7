package windows

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"
)

// Runner runs the host's commands (pktmon, vfpctrl, the container runtime). The real one
// (runner_windows.go) uses os/exec; the tests record the command lines. Output is the
// command's combined output as it wrote it (UTF-8, or UTF-16LE with a BOM as some
// Windows tools and PowerShell redirections write): callers decode it with decodeOutput.
type Runner interface {
	Run(ctx context.Context, name string, args ...string) ([]byte, error)
}

// decodeOutput returns a command's output as UTF-8 text with LF line ends: a UTF-16LE or
// UTF-16BE byte-order mark selects UTF-16, a UTF-8 BOM is dropped, CRLF and lone CR
// become LF.
func decodeOutput(b []byte) string {
	var s string
	switch {
	case len(b) >= 2 && b[0] == 0xff && b[1] == 0xfe:
		s = utf16String(b[2:], false)
	case len(b) >= 2 && b[0] == 0xfe && b[1] == 0xff:
		s = utf16String(b[2:], true)
	default:
		s = string(bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")))
	}
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.ReplaceAll(s, "\r", "\n")
}

func utf16String(b []byte, bigEndian bool) string {
	u := make([]uint16, len(b)/2)
	for i := range u {
		if bigEndian {
			u[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
		} else {
			u[i] = uint16(b[2*i]) | uint16(b[2*i+1])<<8
		}
	}
	return string(utf16.Decode(u))
}

// PktmonSyntax is one generation of pktmon's command line. Server 2019 shipped pktmon
// (1809) with `start --etw -p <size> -c <components>` and `format`/`pcapng` for the
// conversions; Windows 10 2004 / 20H2, Server 2022 and later use `start --capture
// --comp <ids> --pkt-size <size>`, `etl2txt` and `etl2pcap` (pktmon-syntax.md; the
// 1809 form as Microsoft's own Server 2019 recipes use it, e.g. "pktmon start --etw -p
// 0"). DetectPktmonSyntax picks one from `pktmon help`.
type PktmonSyntax struct {
	Name string
	// Start returns the arguments that start a capture of whole packets at the given
	// components (never all of them: the backend always names the components) into etl.
	Start func(etl string, components []int) []string
	// CountersOnly returns the arguments that start counting (no packet logging) at the
	// components, or nil when this pktmon cannot.
	CountersOnly func(components []int) []string
	// Pcapng returns the arguments that convert etl to a pcapng; dropOnly converts the
	// drops only (a plain conversion leaves them out).
	Pcapng func(etl, out string, dropOnly bool) []string
	// Text returns the arguments that convert etl to text (one metadata line per packet
	// appearance, components' properties).
	Text func(etl, out string) []string
	// List returns the arguments that list the components as JSON.
	List []string
	// Counters returns the arguments that print the counters as JSON, nil when unknown.
	Counters []string
}

// joinIDs joins component ids with commas: "--comp 4,5" (pktmon start help: "a
// comma-separated list of component IDs").
func joinIDs(ids []int) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.Itoa(id)
	}
	return strings.Join(s, ",")
}

// PktmonModern is the syntax of Windows 10 2004+ and Server 2022+.
var PktmonModern = PktmonSyntax{
	Name: "modern",
	Start: func(etl string, comps []int) []string {
		return []string{"start", "--capture", "--comp", joinIDs(comps), "--pkt-size", "0", "--file-name", etl}
	},
	CountersOnly: func(comps []int) []string {
		return []string{"start", "--capture", "--counters-only", "--comp", joinIDs(comps)}
	},
	Pcapng: func(etl, out string, dropOnly bool) []string {
		a := []string{"etl2pcap", etl, "--out", out}
		if dropOnly {
			a = append(a, "--drop-only")
		}
		return a
	},
	Text:     func(etl, out string) []string { return []string{"etl2txt", etl, "--out", out} },
	List:     []string{"list", "--json"},
	Counters: []string{"counters", "--json"},
}

// PktmonLegacy is the syntax of the first pktmon (Windows Server 2019 / 1809 builds).
var PktmonLegacy = PktmonSyntax{
	Name: "legacy",
	Start: func(etl string, comps []int) []string {
		return []string{"start", "--etw", "-p", "0", "-c", joinIDs(comps), "-f", etl}
	},
	Pcapng: func(etl, out string, dropOnly bool) []string {
		a := []string{"pcapng", etl, "-o", out}
		if dropOnly {
			a = append(a, "-d")
		}
		return a
	},
	Text: func(etl, out string) []string { return []string{"format", etl, "-o", out} },
	List: []string{"comp", "list", "--json"},
}

// DetectPktmonSyntax reads `pktmon help` (its output, decoded): a pktmon whose command
// list has etl2pcap or whose start takes --capture is modern; one that offers `--etw`,
// `format` or `pcapng` but neither of those is legacy. The command names are not
// localised; an output with none of them is an error.
func DetectPktmonSyntax(help string) (PktmonSyntax, error) {
	words := map[string]bool{}
	for _, f := range strings.FieldsFunc(help, func(r rune) bool {
		return r == ' ' || r == '\t' || r == '\n' || r == '|' || r == '{' || r == '}' || r == '[' || r == ']' || r == ','
	}) {
		words[f] = true
	}
	switch {
	case words["etl2pcap"] || words["etl2txt"] || words["--capture"]:
		return PktmonModern, nil
	case words["--etw"] || words["format"] || words["pcapng"]:
		return PktmonLegacy, nil
	}
	return PktmonSyntax{}, fmt.Errorf("pktmon help: no known command (etl2pcap, etl2txt, format, pcapng) in its output %q", clip(help, 120))
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}
