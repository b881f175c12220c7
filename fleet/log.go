//go:build fleet

package fleet

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/hnspath/hnspath/result"
)

// LogError is a problem in a pod's log: the pod's name as File, the log's
// line, and what was wrong.
type LogError struct {
	File  string
	Line  int
	Field string
	Err   error
}

func (e *LogError) Error() string {
	return fmt.Sprintf("%s:%d: %s: %v", e.File, e.Line, e.Field, e.Err)
}
func (e *LogError) Unwrap() error { return e.Err }

// NodeLog is what a pod's log hands back (the frames run.ps1 writes).
type NodeLog struct {
	// Started reports whether the script began; Done whether it finished
	// (its last line), with the probe's exit code in Exit.
	Started, Done bool
	Exit          int
	// Run and Node are the run's ID and the node's name as the script
	// gave them on its first line.
	Run, Node string
	// Info are the node's facts ("os-build", "hns-version").
	Info map[string]string
	// Files are the files the node sent, by name ("probe/summary.json",
	// "evidence/hnsdiag.txt"), in Names' order.
	Files map[string][]byte
	Names []string
	// Fails are the steps that failed on the node.
	Fails []string
	// Other are the log's other lines (the probe's own output), the last
	// maxOther of them.
	Other []string
}

const maxOther = 40

// ParseLog reads a pod's log: the lines of run run's frames (with run "",
// of the run named by the first "start" line). name is the pod's name (or
// the log file's) for errors. A log cut short (no "done" line) is not an
// error: Done says so.
func ParseLog(r io.Reader, name, run string) (*NodeLog, error) {
	l := &NodeLog{Info: map[string]string{}, Files: map[string][]byte{}, Run: run}
	tag := "#hnspath-fleet " + run + " "
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var (
		cur   string // the file being read, "" outside frames
		start int
		b64   bytes.Buffer
	)
	line := 0
	bad := func(field string, err error) error { return &LogError{File: name, Line: line, Field: field, Err: err} }
	for sc.Scan() {
		line++
		s := strings.TrimRight(sc.Text(), "\r")
		if l.Run == "" {
			if id, ok := strings.CutPrefix(s, "#hnspath-fleet "); ok {
				if id, _, ok = strings.Cut(id, " start"); ok && id != "" && !strings.Contains(id, " ") {
					l.Run = id
					tag = "#hnspath-fleet " + id + " "
				}
			}
		}
		rest, ok := strings.CutPrefix(s, tag)
		if cur != "" {
			if !ok {
				b64.WriteString(strings.TrimSpace(s))
				continue
			}
			verb, arg, _ := strings.Cut(rest, " ")
			if verb != "end" || arg != cur {
				return l, bad("frame "+cur, fmt.Errorf("%q before the end of the file begun on line %d", rest, start))
			}
			data, err := base64.StdEncoding.DecodeString(b64.String())
			if err != nil {
				return l, bad("frame "+cur, fmt.Errorf("base64: %v", err))
			}
			l.Files[cur] = data
			l.Names = append(l.Names, cur)
			cur = ""
			b64.Reset()
			continue
		}
		if !ok {
			if l.Started && !l.Done {
				l.Other = append(l.Other, s)
				if len(l.Other) > maxOther {
					l.Other = l.Other[1:]
				}
			}
			continue
		}
		verb, arg, _ := strings.Cut(rest, " ")
		switch verb {
		case "start":
			l.Started, l.Node = true, strings.TrimSpace(arg)
		case "info":
			k, v, _ := strings.Cut(arg, " ")
			l.Info[k] = strings.TrimSpace(v)
		case "fail":
			l.Fails = append(l.Fails, arg)
		case "begin":
			if err := checkFileName(arg); err != nil {
				return l, bad("begin", err)
			}
			if _, dup := l.Files[arg]; dup {
				return l, bad("begin", fmt.Errorf("file %q sent twice", arg))
			}
			cur, start = arg, line
		case "end":
			return l, bad("end", fmt.Errorf("end of %q outside a file", arg))
		case "done":
			n, err := strconv.Atoi(arg)
			if err != nil {
				return l, bad("done", fmt.Errorf("exit code %q: %v", arg, err))
			}
			l.Done, l.Exit = true, n
		default:
			return l, bad("frame", fmt.Errorf("unknown verb %q", verb))
		}
	}
	if err := sc.Err(); err != nil {
		return l, bad("log", err)
	}
	if cur != "" && l.Done {
		return l, bad("frame "+cur, fmt.Errorf("file begun on line %d has no end", start))
	}
	return l, nil
}

// checkFileName accepts the names run.ps1 sends: probe/X or evidence/X,
// X a plain file name, so that writing them under a directory stays in it.
func checkFileName(name string) error {
	dir, base, ok := strings.Cut(name, "/")
	if !ok || dir != "probe" && dir != "evidence" {
		return fmt.Errorf("file %q: want probe/NAME or evidence/NAME", name)
	}
	if base == "" || base == "." || base == ".." || strings.ContainsAny(base, `/\:`) || path.Clean(name) != name {
		return fmt.Errorf("file %q: not a plain file name", name)
	}
	return nil
}

// probeSummary is the probe's summary.json (hnspath probe --out).
type probeSummary struct {
	Backend   string `json:"backend"`
	Scenarios []struct {
		Name         string   `json:"name"`
		Result       string   `json:"result"`
		Packets      int      `json:"packets"`
		Differing    int      `json:"differing"`
		Undocumented int      `json:"undocumented"`
		Documented   []string `json:"documented"`
		Error        string   `json:"error"`
		Skipped      string   `json:"skipped"`
	} `json:"scenarios"`
}

// Results reads the node's probe results: summary.json, and each
// scenario's differences from its diff.txt.
func (l *NodeLog) Results(name string) ([]result.FleetResult, error) {
	data, ok := l.Files["probe/summary.json"]
	if !ok {
		return nil, &LogError{File: name, Line: 0, Field: "probe/summary.json", Err: errors.New("not sent")}
	}
	var s probeSummary
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&s); err != nil {
		return nil, &LogError{File: name + ":probe/summary.json", Line: lineAt(data, dec.InputOffset()), Field: "summary", Err: err}
	}
	var out []result.FleetResult
	var errs []error
	for _, sc := range s.Scenarios {
		r := result.FleetResult{Scenario: sc.Name, Result: sc.Result, Packets: sc.Packets, Differing: sc.Differing,
			Undocumented: sc.Undocumented, Documented: sc.Documented, Error: sc.Error, Skipped: sc.Skipped}
		if d, ok := l.Files["probe/"+sc.Name+".diff.txt"]; ok {
			diffs, err := ParseDiffs(d, name+":probe/"+sc.Name+".diff.txt")
			errs = append(errs, err)
			r.Diffs = diffs
		}
		out = append(out, r)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Scenario < out[j].Scenario })
	return out, errors.Join(errs...)
}

func lineAt(data []byte, off int64) int {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	return 1 + bytes.Count(data[:off], []byte("\n"))
}

// ParseDiffs reads a probe diff.txt (hnspath probe --out: NAME.diff.txt):
// a header line, then per differing packet "  packet N at PORT:" and its
// differences indented by four spaces; the documented differences' notes
// ("  [ID] ...") are skipped.
func ParseDiffs(data []byte, file string) ([]result.FleetDiff, error) {
	var out []result.FleetDiff
	pkt, in, have := 0, "", false
	for i, s := range strings.Split(string(data), "\n") {
		s = strings.TrimRight(s, "\r")
		switch {
		case i == 0 || strings.TrimSpace(s) == "":
		case strings.HasPrefix(s, "    "):
			if !have {
				return out, &LogError{File: file, Line: i + 1, Field: "difference", Err: errors.New("before any packet line")}
			}
			out = append(out, result.FleetDiff{Packet: pkt, In: in, Text: strings.TrimSpace(s)})
		case strings.HasPrefix(s, "  packet "):
			rest := strings.TrimSuffix(strings.TrimPrefix(s, "  packet "), ":")
			num, port, ok := strings.Cut(rest, " at ")
			n, err := strconv.Atoi(num)
			if !ok || err != nil || !strings.HasSuffix(s, ":") {
				return out, &LogError{File: file, Line: i + 1, Field: "packet", Err: fmt.Errorf("%q: want \"  packet N at PORT:\"", s)}
			}
			pkt, in, have = n, port, true
		case strings.HasPrefix(s, "  ["):
		default:
			return out, &LogError{File: file, Line: i + 1, Field: "line", Err: fmt.Errorf("%q: not a packet, difference or note line", s)}
		}
	}
	return out, nil
}

// SplitPrefixed splits the output of kubectl logs --prefix (every line
// "[pod/NAME/CONTAINER] text") into one log per pod. It reports false when
// data is not in that form (a plain pod log).
func SplitPrefixed(data []byte) (map[string][]byte, bool) {
	out := map[string][]byte{}
	for line := range bytes.Lines(data) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if !bytes.HasPrefix(line, []byte("[pod/")) {
			return nil, false
		}
		end := bytes.Index(line, []byte("] "))
		if end < 0 {
			end = bytes.IndexByte(line, ']')
			if end < 0 || len(bytes.TrimSpace(line[end+1:])) != 0 {
				return nil, false
			}
		}
		pod, _, _ := strings.Cut(string(line[len("[pod/"):end]), "/")
		rest := line[min(end+2, len(line)):]
		out[pod] = append(out[pod], rest...)
		if !bytes.HasSuffix(rest, []byte("\n")) {
			out[pod] = append(out[pod], '\n')
		}
	}
	return out, len(out) > 0
}

// FromLogs makes a fleet report from pod logs collected by other means
// (kubectl logs, after hnspath fleet manifests were applied), by log name
// (a file, or a pod of a kubectl logs --prefix file); every log must be of
// the same run. It writes the files the logs carry under out when out is
// not "".
func FromLogs(logs map[string][]byte, out string) (*result.Fleet, error) {
	f := &result.Fleet{Schema: result.FleetSchema}
	names := make([]string, 0, len(logs))
	for n := range logs {
		names = append(names, n)
	}
	sort.Strings(names)
	var errs []error
	for _, name := range names {
		l, err := ParseLog(bytes.NewReader(logs[name]), name, "")
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !l.Started {
			errs = append(errs, &LogError{File: name, Line: 1, Field: "log", Err: errors.New("no \"#hnspath-fleet RUN start\" line: not the log of a fleet pod")})
			continue
		}
		if f.Run == "" {
			f.Run = l.Run
		} else if l.Run != f.Run {
			errs = append(errs, &LogError{File: name, Line: 1, Field: "run", Err: fmt.Errorf("run %s, the other logs are of run %s", l.Run, f.Run)})
			continue
		}
		node := l.Node
		if node == "" {
			node = name
		}
		res := result.FleetNode{Name: node}
		if reason, why := fromLog(&res, l, name, out, "the log says no more"); reason != "" {
			res.Status, res.Reason, res.Why = result.FleetNotRun, reason, why
		}
		f.Nodes = append(f.Nodes, res)
	}
	sort.SliceStable(f.Nodes, func(i, j int) bool { return f.Nodes[i].Name < f.Nodes[j].Name })
	f.Scenarios = scenarioNames(nil, f.Nodes)
	f.Group()
	return f, errors.Join(errs...)
}
