package scenarios

import (
	"fmt"
	"strings"

	"github.com/hnspath/hnspath/spec"
)

// unboundError is a packet's build error for a binding no expectation has
// bound yet, with the reason: the closest-frame report of each pending
// expectation that would have bound it (what did come out, field by field).
type unboundError struct {
	err  error
	hint string
}

func (e *unboundError) Error() string { return e.err.Error() + "\n" + strings.TrimRight(e.hint, "\n") }
func (e *unboundError) Unwrap() error { return e.err }

// unbound wraps err, a build error of packet spec s, with why the bindings
// s uses are not bound; it returns err unchanged when they all are.
func (ev *evaluator) unbound(s *spec.Spec, err error) error {
	names := unboundNames(s, ev.bindings)
	if len(names) == 0 {
		return err
	}
	var b strings.Builder
	for _, name := range names {
		found := false
		for i, es := range ev.exps {
			if es.done || es.err != nil || es.e.Kind != ExpectFrame || !usesBinding(es.spec, name) {
				continue
			}
			found = true
			where := fmt.Sprintf("%s:%d: expect[%d]", ev.sc.File, es.e.Line, i)
			if es.e.Note != "" {
				where += " (" + es.e.Note + ")"
			}
			fmt.Fprintf(&b, "  $%s would be bound by %s", name, indent(ev.frameFailure(where, es), "  ")[2:])
		}
		if !found {
			fmt.Fprintf(&b, "  no pending expectation binds $%s\n", name)
		}
	}
	return &unboundError{err: err, hint: b.String()}
}

// unboundNames lists the bindings s uses that b does not hold, each once.
func unboundNames(s *spec.Spec, b *spec.Bindings) []string {
	var out []string
	for _, l := range s.Layers {
		for _, f := range l.Fields {
			if f.Value.Kind != spec.KindBinding {
				continue
			}
			if _, ok := b.Lookup(f.Value.Name); ok {
				continue
			}
			dup := false
			for _, n := range out {
				dup = dup || n == f.Value.Name
			}
			if !dup {
				out = append(out, f.Value.Name)
			}
		}
	}
	return out
}

// usesBinding reports whether s names binding name.
func usesBinding(s *spec.Spec, name string) bool {
	if s == nil {
		return false
	}
	for _, l := range s.Layers {
		for _, f := range l.Fields {
			if f.Value.Kind == spec.KindBinding && f.Value.Name == name {
				return true
			}
		}
	}
	return false
}
