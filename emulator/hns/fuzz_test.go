package hns

import (
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
)

// fuzzSeeds returns the table-test inputs: the topologies and every fixture.
func fuzzSeeds(t testing.TB) [][]byte {
	seeds := [][]byte{
		[]byte(baseTopology),
		[]byte(normalizeInput),
		[]byte(`{"Networks":[{"Name":"n","Flags":"EnableNonPersistent, DisableHostPort","Type":"l2bridge"}],"Routes":[{"Routes":[{"DestinationPrefix":"10.0.0.0/8"}]}]}`),
		[]byte(`{"LoadBalancers":[{"PortMappings":[{"Protocol":"TCP","DistributionType":"SourceIP","Flags":["ILB",2]}]}]}`),
		[]byte(`{"Endpoints":[{"Policies":[{"Type":"PortMapping","Settings":{"InternalPort":"80"}}],"Flags":"RemoteEndpoint"}]}`),
		[]byte(`{"Success":true,"Output":{"Name":"nat"}}`),
		[]byte(`{"Subnets":[{"Policies":["@{Type=VSID; VSID=9999}"]}],"Type":"Overlay"}`),
	}
	for _, glob := range []string{"testdata/import/*.json", "testdata/cni/*"} {
		names, _ := filepath.Glob(glob)
		for _, n := range names {
			seeds = append(seeds, readFixture(t, filepath.Join(filepath.Base(filepath.Dir(n)), filepath.Base(n))))
		}
	}
	shapes, err := os.ReadFile("testdata/hcsshim_marshal_shapes.txt")
	if err == nil {
		seeds = append(seeds, shapes)
	}
	return seeds
}

var fuzzHost = HostContext{Name: "h", Profile: WS2022, NICs: []NIC{{Name: "Ethernet", Prefix: netip.MustParsePrefix("10.0.0.10/24")}}}

// FuzzUnmarshalObjects checks that decoding never panics, that what decodes
// encodes, and that encoding is stable: decode(encode(x)) encodes the same.
// It also runs Normalize, Validate and the policy decoders on the result.
func FuzzUnmarshalObjects(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var o Objects
		if json.Unmarshal(data, &o) != nil {
			return
		}
		m1, err := json.Marshal(&o)
		if err != nil {
			t.Fatalf("marshal decoded objects: %v", err)
		}
		var o2 Objects
		if err := json.Unmarshal(m1, &o2); err != nil {
			t.Fatalf("our own encoding does not decode: %v\n%s", err, m1)
		}
		m2, err := json.Marshal(&o2)
		if err != nil {
			t.Fatal(err)
		}
		if string(m1) != string(m2) {
			t.Fatalf("encoding not stable:\n%s\n%s", m1, m2)
		}
		_ = Validate(&o, fuzzHost)
		for i := range o.Endpoints {
			_, _ = o.Endpoints[i].DecodePolicies()
		}
		for i := range o.Networks {
			_, _ = o.Networks[i].DecodePolicies()
			for _, s := range o.Networks[i].Subnets() {
				_, _ = s.SubnetPolicies()
			}
		}
		_ = o.Normalize()
	})
}

// FuzzImportDump checks that ImportDump never panics, and that what it
// returns encodes to a bundle that imports back to the same objects.
func FuzzImportDump(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Add(utf16LE(`[{"VirtualNetwork":"n","IPAddress":"10.0.0.5"}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		o, _, err := ImportDump(data)
		if err != nil {
			return
		}
		if o == nil {
			t.Fatal("nil objects without an error")
		}
		m1, err := json.Marshal(o)
		if err != nil {
			t.Fatalf("marshal imported objects: %v", err)
		}
		o2, _, err := ImportDump(m1)
		if err != nil {
			t.Fatalf("re-import of our own encoding: %v\n%s", err, m1)
		}
		m2, err := json.Marshal(o2)
		if err != nil {
			t.Fatal(err)
		}
		if string(m1) != string(m2) {
			t.Fatalf("re-import changed the objects:\n%s\n%s", m1, m2)
		}
		_ = Validate(o, fuzzHost)
	})
}
