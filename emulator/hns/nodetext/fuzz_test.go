package nodetext

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fuzzSeeds are the real samples, the test bundle's files and the table
// tests' inputs.
func fuzzSeeds(f *testing.F) [][]byte {
	var seeds [][]byte
	for _, pat := range []string{"testdata/real/*.txt", "../../../scenarios/testdata/collectlogs-bundle/*.txt"} {
		files, _ := filepath.Glob(pat)
		for _, file := range files {
			b, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			seeds = append(seeds, b)
		}
	}
	for _, s := range []string{
		"Networks:\nName             ID\nnat              not-a-guid\n",
		"Endpoint : c9385412-bdef-49f5-88b0-c9d484ef6716\n    Name : x\n    IP Address : 10.0.0.1 ### y\n",
		"{\n  \"Name\": \"nat\",\n  ...\n}\n",
		"Policies : {@{A={@{B=1}}; C=System.Object[]}...}\nName : {,,}\n",
		`time="x" level=debug msg="Network Response : [{\"Name\":\"nat\",\"Type\":\"nat\"}]"`,
		"I1219 08:24:31.456250    3716 proxier.go:145] resource, {\n\"ID\":\"a335d997-4160-44f9-9f72-1087a2cba45e\",\"SourceVIP\":\"1.2.3.4\"}\n",
	} {
		seeds = append(seeds, []byte(s))
	}
	return seeds
}

// FuzzRead checks that no input makes Read panic, that every object it
// returns is JSON, and that every error and note names the file.
func FuzzRead(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		n, err := Read("in.txt", data)
		if err != nil && !strings.HasPrefix(err.Error(), "in.txt:") {
			t.Errorf("error does not name the file: %v", err)
		}
		for _, note := range n.Notes {
			if !strings.HasPrefix(note, "in.txt:") {
				t.Errorf("note does not name the file: %s", note)
			}
		}
		for _, fo := range n.Objects {
			for _, o := range fo.Objects {
				if !json.Valid(o.JSON) || o.Line < 1 {
					t.Errorf("object at line %d: %q", o.Line, o.JSON)
				}
			}
		}
	})
}

// FuzzReadBundle feeds the bundle readers (ipconfig, route print, netsh)
// with any bytes: no panic, and every NIC they take has a MAC, an IPv4
// prefix and a gateway.
func FuzzReadBundle(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		files := []File{{Name: "network.txt", Data: data}, {Name: "ip.txt", Data: data}, {Name: "routes.txt", Data: data}, {Name: "mtu.txt", Data: data}}
		n, _ := ReadBundle("dir", files)
		for _, nic := range n.NICs {
			if nic.MAC == "" || !strings.Contains(nic.IP, "/") || nic.Gateway == "" {
				t.Errorf("NIC %+v", nic)
			}
		}
	})
}
