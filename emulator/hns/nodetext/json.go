package nodetext

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"regexp"
	"strconv"
	"strings"

	"github.com/hnspath/hnspath/emulator/hns"
)

// jsonBlock reads the JSON value that starts at byte offset off (a
// ConvertTo-Json output, or the JSON of a log line) and adds its objects.
func (r *reader) jsonBlock(off int) {
	end, ok := r.decodeJSON(r.text, off, 0, "")
	if !ok {
		r.i++
		r.skipBroken()
		return
	}
	r.addJSON(r.text[off:end], r.lineAt(off))
	r.skipTo(end)
}

// decodeJSON checks that one JSON value starts at off of text and returns
// where it ends. base and what locate errors of a value that is not in the
// file's own text (an unquoted log message): base is its line.
func (r *reader) decodeJSON(text []byte, off, base int, what string) (int, bool) {
	dec := json.NewDecoder(bytes.NewReader(text[off:]))
	var raw json.RawMessage
	err := dec.Decode(&raw)
	if err == nil {
		return off + int(dec.InputOffset()), true
	}
	line := func(o int) int {
		if base > 0 {
			return base
		}
		return r.lineAt(o)
	}
	start := line(off)
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		at := off + int(se.Offset) - 1
		if at < off {
			at = off
		}
		bad := ""
		if base == 0 {
			ln := r.lineAt(at)
			if ln-1 < len(r.lines) {
				bad = strings.TrimSpace(r.lines[ln-1].s)
			}
		}
		msg := strings.TrimPrefix(se.Error(), "json: ")
		if strings.HasPrefix(bad, "...") {
			msg = "a \"...\" line left fields out (an elision in the paste): they are missing; the JSON object starting at line " +
				strconv.Itoa(start) + " cannot be read; give the whole ConvertTo-Json output"
		} else {
			msg += " in the JSON value starting at line " + strconv.Itoa(start)
		}
		r.errs.add(r.file, line(at), what, "%s", msg)
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		r.errs.add(r.file, line(len(text)), what, "the JSON value starting at line %d ends before it is closed: the output is cut; "+
			"the fields after this line are missing; give the whole output", start)
	default:
		r.errs.add(r.file, start, what, "%v", err)
	}
	return 0, false
}

// skipBroken skips the rest of a JSON value that did not parse: the lines
// that look like JSON (or a "..." elision), blank ones included.
func (r *reader) skipBroken() {
	for r.i < len(r.lines) && !r.lines[r.i].skip {
		t := strings.TrimSpace(r.lines[r.i].s)
		if t != "" && !strings.ContainsAny(t[:1], "\"{}[].,") && !strings.HasPrefix(t, "true") && !strings.HasPrefix(t, "false") &&
			!strings.HasPrefix(t, "null") && (t[0] < '0' || t[0] > '9') && t[0] != '-' {
			return
		}
		r.i++
	}
}

// addJSON splits one JSON value into HNS objects, numbered from line.
func (r *reader) addJSON(js []byte, line int) {
	items, err := hns.SplitDump(js)
	if err != nil {
		r.errs.add(r.file, line, "", "%v", err)
		return
	}
	for _, it := range items {
		it.Line += line - 1
		r.version(it.JSON, it.Line)
		r.objs = append(r.objs, it)
	}
}

// version records the packed HNS version of a v1 object.
func (r *reader) version(js json.RawMessage, line int) {
	var probe struct {
		Version json.RawMessage
	}
	if json.Unmarshal(js, &probe) != nil || len(probe.Version) == 0 {
		return
	}
	var n uint64
	if json.Unmarshal(probe.Version, &n) != nil {
		return // a v2 object's Version is {Major, Minor}, not the HNS version
	}
	if v, ok := hns.UnpackVersion(n); ok {
		r.node.Versions = append(r.node.Versions, Version{File: r.file, Line: line, Version: v})
	}
}

// klogRE matches a klog header (kube-proxy): "I1219 08:24:31.456250    3716 proxier.go:145] ".
var klogRE = regexp.MustCompile(`^[IWEF]\d{4} \d\d:\d\d:\d\d\.\d+\s+\d+ [^ \]]+:\d+\] `)

// logrusRE matches a logrus text line (containerd, rke2): time="..." level=...
var logrusRE = regexp.MustCompile(`^time="[^"]*" level=\w+ `)

func logLine(t string) bool { return klogRE.MatchString(t) || logrusRE.MatchString(t) }

// logLine reads HNS JSON from a log line: kube-proxy's klog lines carry it
// as is (possibly over several lines), logrus lines inside msg="..." with
// Go quoting.
func (r *reader) logLine() {
	l := r.lines[r.i]
	t := strings.TrimSpace(l.s)
	lead := len(l.s) - len(strings.TrimLeft(l.s, " \t"))
	if logrusRE.MatchString(t) {
		r.i++
		k := strings.Index(t, ` msg="`)
		if k < 0 {
			r.node.notef(r.file, l.n, "skipped a log line without a message")
			return
		}
		q, err := strconv.QuotedPrefix(t[k+5:])
		if err != nil {
			// A cut paste: take the continuation lines too, if any, and
			// try again; otherwise say what is missing.
			r.errs.add(r.file, l.n, "msg", "the log message has no closing quote: the line is cut, so the HNS JSON in it is incomplete (give the whole log line)")
			r.skipBroken()
			return
		}
		msg, _ := strconv.Unquote(q)
		j := strings.IndexAny(msg, "{[")
		if j < 0 {
			r.node.notef(r.file, l.n, "skipped a log line without HNS JSON: %q", clip(msg))
			return
		}
		if _, ok := r.decodeJSON([]byte(msg), j, l.n, "msg"); ok {
			r.addJSON([]byte(msg[j:]), l.n)
		}
		return
	}
	// klog: the JSON starts at the first '{' or '[' of the message and may
	// run over the following lines.
	for k := strings.IndexAny(t, "{["); k >= 0; {
		off := l.off + lead + k
		dec := json.NewDecoder(bytes.NewReader(r.text[off:]))
		var raw json.RawMessage
		if dec.Decode(&raw) == nil && (raw[0] == '{' || raw[0] == '[') {
			end := off + int(dec.InputOffset())
			r.addJSON(r.text[off:end], l.n)
			r.skipTo(end)
			return
		}
		next := strings.IndexAny(t[k+1:], "{[")
		if next < 0 {
			break
		}
		k += 1 + next
	}
	if k := jsonStart(t); k >= 0 {
		// JSON that does not decode: report it where it starts.
		if _, ok := r.decodeJSON(r.text, l.off+lead+k, 0, "log"); !ok {
			r.i++
			r.skipBroken()
			return
		}
	}
	r.node.notef(r.file, l.n, "skipped a log line without HNS JSON")
	r.i++
}

// jsonStart returns where a JSON object or array seems to start in a log
// message ('{' followed by a quote, or ending the line; "[{"), or -1.
func jsonStart(t string) int {
	for k := 0; k < len(t); k++ {
		switch {
		case t[k] == '{' && (k+1 == len(t) || strings.HasPrefix(strings.TrimLeft(t[k+1:], " "), "\"")):
			return k
		case t[k] == '[' && strings.HasPrefix(t[k+1:], "{"):
			return k
		}
	}
	return -1
}
