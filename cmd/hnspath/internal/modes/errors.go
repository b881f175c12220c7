package modes

import (
	"fmt"
	"strings"
)

// InputError is a problem in a workload or flows file, located by file,
// line and column and by the field's path (STYLE.md §3).
type InputError struct {
	File string
	// Line and Col are 1-based; 0 when unknown.
	Line, Col int
	// Field is the path of the field, e.g. "endpoints[0].expose[1]".
	Field string
	Err   error
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
		b.WriteString(e.Field + ": ")
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

// Unwrap returns the underlying error.
func (e *InputError) Unwrap() error { return e.Err }

// maxErrors is how many errors of one file are listed.
const maxErrors = 20

// Errors are every problem found in one file, in line order.
type Errors []*InputError

// Error lists the errors one per line, at most maxErrors of them.
func (l Errors) Error() string {
	var b strings.Builder
	for i, e := range l {
		if i == maxErrors {
			fmt.Fprintf(&b, "\n... and %d more", len(l)-maxErrors)
			break
		}
		if i > 0 {
			b.WriteString("\n")
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
