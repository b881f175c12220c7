package scenarios

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzLoadScenario loads random scenario text (YAML, or JSON when it
// starts with '{') next to the library's nat topology: loading must not
// panic, and every error must name a file and a line.
func FuzzLoadScenario(f *testing.F) {
	// Every library topology, where library scenarios and the tests' own
	// files look for them.
	topos := memFiles{}
	tps, _ := filepath.Glob("library/topologies/*.yaml")
	for _, p := range tps {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		topos["topologies/"+filepath.Base(p)] = b
		topos["library/topologies/"+filepath.Base(p)] = b
	}
	seeds, _ := filepath.Glob("library/*.yaml")
	more, _ := filepath.Glob("testdata/*.yaml")
	jsons, _ := filepath.Glob("testdata/*.json")
	for _, p := range append(append(seeds, more...), jsons...) {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(expectBase))
	f.Add([]byte(stepBase + staleLB))
	f.Add([]byte(stepBase + "  - do: {update_load_balancer: {host: host1, name: svc-web, endpoints: [pod-d, pod-z]}}\n"))
	f.Add([]byte("a: &x [*x, *x]\nb: *x\n"))
	f.Add([]byte("<<: {name: x}\n"))
	f.Add([]byte(`{"name": "x", "topology": {"hosts": [{"name": "h", "nics": 3}]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		name := "s.yaml"
		if len(data) > 0 && data[0] == '{' {
			name = "s.json"
		}
		fsys := memFiles{name: data}
		for k, v := range topos {
			fsys[k] = v
		}
		sc, err := load(fsys, name, name)
		if err == nil {
			if sc.Name == "" || sc.Topology == nil {
				t.Fatalf("loaded a scenario without name or topology")
			}
			return
		}
		var errs Errors
		if !errors.As(err, &errs) || len(errs) == 0 {
			t.Fatalf("error %T %v, want Errors", err, err)
		}
		for _, e := range errs {
			if e.File == "" || e.Line <= 0 {
				t.Fatalf("error without file:line: %q", e.Error())
			}
			if !strings.HasPrefix(e.Error(), e.File+":") {
				t.Fatalf("error %q does not start with its file", e.Error())
			}
		}
	})
}
