package scenarios

import (
	"fmt"
	"sort"
	"strings"
)

// InputError is a problem in a scenario or topology file, located by file,
// line and column, and by the field's path in the file (docs/style.md §3).
type InputError struct {
	// File is the file name as given (for the built-in library,
	// "library/NAME.yaml").
	File string
	// Line and Col are 1-based; 0 when unknown.
	Line, Col int
	// Field is the path of the field, e.g. "packets[2].frame" or
	// "topology.hosts[0].nics[0].mac".
	Field string
	// Err is the underlying error.
	Err error
}

// Error formats e as "file:line:col: field: message".
func (e *InputError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
		if e.Col > 0 {
			fmt.Fprintf(&b, ":%d", e.Col)
		}
	}
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

// Unwrap returns the underlying error.
func (e *InputError) Unwrap() error { return e.Err }

// MaxErrors is how many errors of one file are reported; the rest are
// counted.
const MaxErrors = 20

// Errors are all the problems found in one file (or set of files), in
// file and line order.
type Errors []*InputError

// Error lists the errors one per line, at most MaxErrors of them.
func (l Errors) Error() string {
	var b strings.Builder
	for i, e := range l {
		if i == MaxErrors {
			fmt.Fprintf(&b, "\n... and %d more", len(l)-MaxErrors)
			break
		}
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Unwrap returns the errors, so that errors.As finds each *InputError.
func (l Errors) Unwrap() []error {
	out := make([]error, len(l))
	for i, e := range l {
		out[i] = e
	}
	return out
}

// sorted returns l ordered by file, line and column, without exact
// duplicates.
func (l Errors) sorted() Errors {
	sort.SliceStable(l, func(i, j int) bool {
		a, b := l[i], l[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
	out := l[:0]
	seen := map[string]bool{}
	for _, e := range l {
		k := e.Error()
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, e)
	}
	return out
}

// errList collects errors of one file.
type errList struct {
	errs Errors
}

func (l *errList) add(file string, n *node, field string, format string, args ...any) {
	e := &InputError{File: file, Field: field, Err: fmt.Errorf(format, args...)}
	if n != nil {
		e.Line, e.Col = n.Line, n.Col
	}
	l.errs = append(l.errs, e)
}

func (l *errList) wrap(file string, n *node, field string, err error) {
	e := &InputError{File: file, Field: field, Err: err}
	if n != nil {
		e.Line, e.Col = n.Line, n.Col
	}
	l.errs = append(l.errs, e)
}

// full reports whether enough errors were found to stop looking.
func (l *errList) full() bool { return len(l.errs) >= 4*MaxErrors }

func (l *errList) err() error {
	if len(l.errs) == 0 {
		return nil
	}
	return l.errs.sorted()
}
