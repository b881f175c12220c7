package windows

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hnspath/hnspath/emulator/hns"
	"github.com/hnspath/hnspath/internal/input"
)

// A journal records the HNS objects a session created, one line each ("add KIND ID
// NAME", "gone KIND ID"), in WorkDir/<prefix>journal.txt, written as each object is
// created. Namespaces and load balancers have no name in HCN v2, so without it a
// session killed before its teardown would leave them behind where no prefix finds
// them; Clean reads it.
type journal struct {
	path string
	err  error // the first write error; the journal is best effort
}

func journalPath(dir, prefix string) string { return filepath.Join(dir, prefix+"journal.txt") }

func newJournal(dir, prefix string) *journal { return &journal{path: journalPath(dir, prefix)} }

func (j *journal) write(line string) {
	if j == nil || j.err != nil {
		return
	}
	f, err := os.OpenFile(j.path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		j.err = err
		return
	}
	_, err = f.WriteString(line + "\n")
	j.err = errors.Join(err, f.Sync(), f.Close())
}

func (j *journal) add(kind, id, name string) { j.write("add " + kind + " " + id + " " + name) }

func (j *journal) gone(kind, id string) {
	if id != "" {
		j.write("gone " + kind + " " + id)
	}
}

func (j *journal) remove() {
	if j != nil {
		_ = os.Remove(j.path)
	}
}

// journalObject is an object a journal says exists.
type journalObject struct{ Kind, ID, Name string }

// readJournal returns the objects a journal lists as created and not gone, in creation
// order.
func readJournal(path string) ([]journalObject, error) {
	data, err := input.ReadFile(path, 0)
	if err != nil {
		return nil, err
	}
	var out []journalObject
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	for n := 1; sc.Scan(); n++ {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) == 0:
		case f[0] == "add" && len(f) >= 3:
			o := journalObject{Kind: f[1], ID: f[2]}
			if len(f) > 3 {
				o.Name = f[3]
			}
			out = append(out, o)
		case f[0] == "gone" && len(f) == 3:
			for i := range out {
				if out[i].Kind == f[1] && equalID(out[i].ID, f[2]) {
					out = append(out[:i], out[i+1:]...)
					break
				}
			}
		default:
			return out, fmt.Errorf("%s:%d: journal: %q is not an add or gone line", path, n, clip(sc.Text(), 60))
		}
	}
	return out, sc.Err()
}

// Clean deletes what session prefix left behind: the load balancers and namespaces its
// journal lists (also empty ones), the endpoints and networks whose names start with
// prefix, and the namespaces and load balancers that reference only those endpoints.
// prefix must be a whole session prefix (hnsp-<6 hex>-), so that another live session is
// never touched.
func Clean(prefix string) ([]string, error) {
	h, _, _ := hostAdapters()
	if _, err := h.Features(); err != nil {
		return nil, fmt.Errorf("hostprobe/windows: clean: HNS: %w", err)
	}
	return CleanWith(h, os.TempDir(), prefix)
}

// CleanWith is Clean over h, with the journal in dir.
func CleanWith(h HCN, dir, prefix string) (removed []string, err error) {
	if err := CheckPrefix(prefix); err != nil {
		msg := fmt.Sprintf("hostprobe/windows: clean: %v: a bare %q would also match other live sessions", err, PrefixBase)
		if ss := journalSessions(dir); len(ss) > 0 {
			msg += "; sessions with a journal in " + dir + ": " + strings.Join(ss, ", ")
		}
		return nil, errors.New(msg)
	}
	var errs []error
	jpath := journalPath(dir, prefix)
	journaled, jerr := readJournal(jpath)
	if jerr != nil && !errors.Is(jerr, os.ErrNotExist) {
		errs = append(errs, jerr)
	}
	del := func(kind, id, label string) {
		if err := deleteGone(h, kind, id); err != nil {
			errs = append(errs, fmt.Errorf("%s %s: %w", kind, id, err))
			return
		}
		removed = append(removed, label)
	}
	done := map[string]bool{}
	eps, err := h.List(hns.KindEndpoint)
	if err != nil {
		return nil, errors.Join(append(errs, err)...)
	}
	ours := map[string]bool{}
	for _, e := range eps {
		if strings.HasPrefix(e.Name, prefix) {
			ours[normID(e.ID)] = true
		}
	}
	for _, o := range journaled {
		if o.Kind == hns.KindEndpoint {
			ours[normID(o.ID)] = true
		}
	}
	onlyOurs := func(ids []string) bool {
		for _, id := range ids {
			if !ours[normID(id)] {
				return false
			}
		}
		return len(ids) > 0
	}
	// Newest first: load balancers, then namespaces (detached first), endpoints, networks.
	for _, kind := range []string{hns.KindLoadBalancer, hns.KindNamespace} {
		for i := len(journaled) - 1; i >= 0; i-- {
			o := journaled[i]
			if o.Kind != kind {
				continue
			}
			if kind == hns.KindNamespace {
				if got, err := h.Get(kind, o.ID); err == nil {
					for _, ep := range got.Endpoints {
						_ = detachGone(h, kind, o.ID, ep)
					}
				}
			}
			done[normID(o.ID)] = true
			del(kind, o.ID, kind+" "+o.ID+" ("+o.Name+")")
		}
		objs, err := h.List(kind)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, o := range objs {
			if done[normID(o.ID)] || !onlyOurs(o.Endpoints) {
				continue
			}
			if kind == hns.KindNamespace {
				for _, ep := range o.Endpoints {
					_ = detachGone(h, kind, o.ID, ep)
				}
			}
			done[normID(o.ID)] = true
			del(kind, o.ID, kind+" "+o.ID)
		}
	}
	for _, kind := range []string{hns.KindEndpoint, hns.KindNetwork} {
		objs := eps
		if kind == hns.KindNetwork {
			if objs, err = h.List(kind); err != nil {
				errs = append(errs, err)
				continue
			}
		}
		for _, o := range objs {
			if strings.HasPrefix(o.Name, prefix) {
				done[normID(o.ID)] = true
				del(kind, o.ID, kind+" "+o.Name)
			}
		}
		for i := len(journaled) - 1; i >= 0; i-- {
			if o := journaled[i]; o.Kind == kind && !done[normID(o.ID)] {
				done[normID(o.ID)] = true
				if _, err := h.Get(kind, o.ID); err != nil && isNotFound(h, err) {
					continue
				}
				del(kind, o.ID, kind+" "+o.Name)
			}
		}
	}
	if len(errs) == 0 {
		_ = os.Remove(jpath)
	}
	return removed, errors.Join(errs...)
}

// journalSessions lists the session prefixes with a journal in dir.
func journalSessions(dir string) []string {
	m, _ := filepath.Glob(filepath.Join(dir, PrefixBase+"*-journal.txt"))
	var out []string
	for _, p := range m {
		s := strings.TrimSuffix(filepath.Base(p), "journal.txt")
		if CheckPrefix(s) == nil {
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}
