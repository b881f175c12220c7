package nodetext

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/hnspath/hnspath/emulator/hns"
)

// Error is a problem in one input, located: file, line and field.
type Error struct {
	File  string
	Line  int
	Field string // may be empty
	Msg   string
}

func (e *Error) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	}
	if e.Field == "" {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s:%d: %s: %s", e.File, e.Line, e.Field, e.Msg)
}

// Skeleton is an object that a listing (hnsdiag) names without its
// settings: it must be completed by an object with the same ID from
// another input.
type Skeleton struct {
	File    string
	Line    int
	Kind    string // hns.KindNetwork, hns.KindEndpoint, hns.KindNamespace, hns.KindLoadBalancer
	ID      string
	Name    string
	Network string   // an endpoint's network name, when listed
	IP      string   // an endpoint's IP address, when listed (record form)
	Extra   []string // other listed values (VIPs, endpoint IDs)
}

// NIC is a physical NIC (or the host vNIC that carries the host's address
// on an external switch) read from ipconfig /all, with its MTU and gateway.
type NIC struct {
	File    string
	Line    int
	Name    string // the adapter's name as Windows shows it, e.g. "vEthernet (Ethernet)"
	MAC     string // as printed, 00-15-5D-..
	IP      string // with prefix length
	Gateway string
	MTU     int
}

// Route is a management OS route through a gateway (route print).
type Route struct {
	File    string
	Line    int
	Prefix  string
	NextHop string
	Via     string // the interface address
}

// NetNat is one Get-NetNat object.
type NetNat struct {
	File   string
	Line   int
	Fields map[string]string // property -> value as printed
}

// StaticMapping is one Get-NetNatStaticMapping object.
type StaticMapping struct {
	File                          string
	Line                          int
	NatName                       string
	Protocol                      string // TCP or UDP
	ExternalIPAddress             string
	ExternalPort                  string
	InternalIPAddress             string
	InternalPort                  string
	RemoteExternalIPAddressPrefix string
}

// Node is what one input (a file, or a collectlogs bundle) says about a node.
type Node struct {
	// Objects are the HNS objects as JSON, per file, for hns.ImportObjects.
	Objects []FileObjects
	// Skeletons are objects known only by name and ID.
	Skeletons []Skeleton
	NICs      []NIC
	Routes    []Route
	NATs      []NetNat
	Mappings  []StaticMapping
	// Versions are the packed HNS versions the objects carry, with where.
	Versions []Version
	// Notes say what was skipped, guessed or lost, each "file:line: ...".
	Notes []string
}

// FileObjects are the HNS objects read from one file.
type FileObjects struct {
	File    string
	Objects []hns.RawObject
}

// Version is an HNS version read from an object's packed Version field.
type Version struct {
	File    string
	Line    int
	Version hns.Version
}

func (n *Node) notef(file string, line int, format string, args ...any) {
	at := fmt.Sprintf("%s:%d: ", file, line)
	if line == 0 {
		at = file + ": " // about a directory, or a whole file
	}
	n.Notes = append(n.Notes, at+fmt.Sprintf(format, args...))
}

// Merge adds what o holds to n.
func (n *Node) Merge(o *Node) {
	n.Objects = append(n.Objects, o.Objects...)
	n.Skeletons = append(n.Skeletons, o.Skeletons...)
	n.NICs = append(n.NICs, o.NICs...)
	n.Routes = append(n.Routes, o.Routes...)
	n.NATs = append(n.NATs, o.NATs...)
	n.Mappings = append(n.Mappings, o.Mappings...)
	n.Versions = append(n.Versions, o.Versions...)
	n.Notes = append(n.Notes, o.Notes...)
}

// maxErrors caps the errors reported for one input.
const maxErrors = 20

// errList collects located errors.
type errList []error

func (l *errList) add(file string, line int, field, format string, args ...any) {
	if len(*l) < maxErrors {
		*l = append(*l, &Error{File: file, Line: line, Field: field, Msg: fmt.Sprintf(format, args...)})
	}
}

func (l errList) err() error {
	if len(l) == 0 {
		return nil
	}
	return errors.Join(l...)
}

// textLine is one line of an input, without its line ending.
type textLine struct {
	n    int    // 1-based
	s    string // the text
	off  int    // byte offset of the line in the decoded text
	skip bool   // annotation or prompt
}

// promptRE matches a PowerShell prompt ("PS C:\k> cmd", "PS> cmd"), also
// with the backtick of a Markdown code span in front.
var promptRE = regexp.MustCompile("^\\s*`?PS(\\s[^>]*)?>\\s*(.*)$")

// splitLines decodes data and splits it into lines, marking collector
// annotations ("# ...") and PowerShell prompts as skipped (with a note).
func splitLines(file string, data []byte, node *Node) ([]byte, []textLine) {
	text := hns.DecodeText(data)
	prompts := &Node{}
	defer func() { node.Notes = append(node.Notes, prompts.Notes...) }() // after the annotation note
	var lines []textLine
	off := 0
	annotations := 0
	first := 0
	for i := 1; off <= len(text); i++ {
		end := bytes.IndexByte(text[off:], '\n')
		var s string
		next := 0
		if end < 0 {
			s = string(text[off:])
			next = len(text) + 1
		} else {
			s = string(text[off : off+end])
			next = off + end + 1
		}
		s = strings.TrimSuffix(s, "\r")
		l := textLine{n: i, s: s, off: off}
		switch {
		case strings.HasPrefix(s, "# ") || s == "#":
			l.skip = true
			if annotations == 0 {
				first = i
			}
			annotations++
		case promptRE.MatchString(s):
			l.skip = true
			prompts.notef(file, i, "skipped a PowerShell prompt line (command: %s)", strings.TrimSpace(promptRE.FindStringSubmatch(s)[2]))
		}
		lines = append(lines, l)
		off = next
	}
	if annotations > 0 {
		node.notef(file, first, "skipped %d line(s) starting with \"# \" (annotations added when collecting; no tool prints them)", annotations)
	}
	return text, lines
}

// Read reads one file of any of the kinds in the package comment, detected
// by its content. file names it in messages.
func Read(file string, data []byte) (*Node, error) {
	node := &Node{}
	text, lines := splitLines(file, data, node)
	var errs errList
	r := &reader{file: file, text: text, lines: lines, node: node, errs: &errs}
	r.run()
	return node, errs.err()
}

// reader walks the lines of one file, block by block.
type reader struct {
	file  string
	text  []byte
	lines []textLine
	i     int
	node  *Node
	errs  *errList
	objs  []hns.RawObject
}

func (r *reader) run() {
	for r.i < len(r.lines) {
		l := r.lines[r.i]
		t := strings.TrimSpace(l.s)
		switch {
		case l.skip || t == "":
			r.i++
		case t == "{" || t == "[" || strings.HasPrefix(t, "{\"") || strings.HasPrefix(t, "[{") || strings.HasPrefix(t, "[ {"):
			r.jsonBlock(l.off + strings.Index(l.s, t[:1]))
		case hnsdiagSection(t) != "" || r.hnsdiagHeader() != "":
			r.hnsdiagTable()
		case r.isTableHeader():
			r.skipTable()
		case keyLineRE.MatchString(l.s):
			r.listRecord()
		case logLine(t):
			r.logLine()
		default:
			r.node.notef(r.file, l.n, "skipped: not output of a command this reader knows: %q", clip(t))
			r.i++
		}
	}
	if len(r.objs) > 0 {
		r.node.Objects = append(r.node.Objects, FileObjects{File: r.file, Objects: r.objs})
	}
}

func clip(s string) string {
	if len(s) > 60 {
		return s[:57] + "..."
	}
	return s
}

// lineAt returns the 1-based line of byte offset off of the text.
func (r *reader) lineAt(off int) int {
	// The last line that starts at or before off (lines are in order).
	i := sort.Search(len(r.lines), func(i int) bool { return r.lines[i].off > off })
	if i == 0 {
		return 1
	}
	return r.lines[i-1].n
}

// skipTo moves past every line that starts before byte offset end.
func (r *reader) skipTo(end int) {
	for r.i < len(r.lines) && r.lines[r.i].off < end {
		r.i++
	}
}
