package scenarios

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/hnspath/hnspath/emulator/fabric"
)

// realSamples holds verbatim output of real Windows nodes (HNS objects,
// hnsdiag, collectlogs, WinNAT cmdlets), each with a header naming its
// public source ("# " lines, which the reader skips with a note).
const realSamples = "../emulator/hns/nodetext/testdata/real"

// importGolden renders what Import says about dumps: its notes, then the
// topology or the error.
func importGolden(t *testing.T, dumps []Dump, opts ImportOptions) string {
	t.Helper()
	topo, warns, err := Import(dumps, opts)
	var b strings.Builder
	b.WriteString("notes:\n")
	for _, w := range warns {
		b.WriteString("  " + w + "\n")
	}
	if err != nil {
		b.WriteString("error:\n" + err.Error() + "\n")
		return b.String()
	}
	y, yerr := MarshalTopologyYAML(topo, "")
	if yerr != nil {
		t.Fatal(yerr)
	}
	b.WriteString("topology:\n")
	b.Write(y)
	// What import writes must load back.
	if _, perr := ParseTopology("topology.yaml", y); perr != nil {
		t.Errorf("the imported topology does not parse: %v", perr)
	}
	return b.String()
}

func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "nodeimport", name+".golden")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./scenarios -run TestImportRealSamples -update)", err)
	}
	if got != string(want) {
		t.Errorf("%s: output differs from %s:\n--- got\n%s\n--- want\n%s", name, path, got, want)
	}
}

func readSample(t *testing.T, name string) Dump {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(realSamples, name))
	if err != nil {
		t.Fatal(err)
	}
	return Dump{Name: name, Data: b}
}

// TestImportRealSamples imports every real sample of kinds 1 (HNS objects),
// 2 (hnsdiag), 5 (collectlogs) and 6 (WinNAT) alone: each imports, or fails
// with located messages that name what is missing (partial pastes; listings
// that give names and IDs only; NAT output without its nat network). What
// each must show is asserted below, independently of the golden files.
func TestImportRealSamples(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(realSamples, "*.txt"))
	if err != nil || len(files) != 17 {
		t.Fatalf("want the 17 samples of kinds 1, 2, 5, 6, got %d (%v)", len(files), err)
	}
	// Expectations from the samples themselves (INDEX.md of the collection):
	// "" means the sample imports; otherwise the error must contain it.
	want := map[string][]string{
		"collectlogs-endpoint.txt__knabben_blog_2021-0903.txt":                                       {":12: ", `"..." line left fields out`},
		"get-hnsendpoint-fl__microsoft_Windows-Containers_563.txt":                                   nil,
		"get-hnsendpoint-fl__mrolmedo_rke2windows_calico-overlay.txt":                                nil,
		"get-hnsendpoint-json__projectcalico_calico_4682.txt":                                        {":40: ", "starting at line 11 ends before it is closed", "missing"},
		"get-hnsnetwork-fl__jayunit100_k8sprototypes_ovs-metering-error.log.md.txt":                  nil,
		"get-hnsnetwork-fl__knabben_blog_2021-0903-calico-overlay.txt":                               nil,
		"get-hnsnetwork-fl__mtelvers_tunbury_2026-03-03-obuilder-hcs-2.txt":                          nil,
		"get-hnspolicylist-fl_and_kubeproxy-hcn-lb-log__knabben_blog_2021-1218.txt":                  nil,
		"get-netnat__docker_for-win_196.txt":                                                         {":10: ", "missing: the nat network"},
		"hcn-v2-loadbalancer-json-log__projectcalico_calico_7305.txt":                                nil,
		"hns-network-json-log__rancher_rke2_3925.txt":                                                {":11: msg: ", "cut"},
		"hnsdiag-list-all__gist_shettyg_542f7e7b_l2bridge.txt":                                       {":14: network \"l2bridge\"", "missing: its Type"},
		"hnsdiag-list-all__jayunit100_k8sprototypes_antrea.txt":                                      {":19: endpoint \"Ethernet\"", "missing: its IP address"},
		"hnsdiag-list-endpoints-record__mrolmedo_rke2windows.txt":                                    {":12: endpoint", "missing: its network, prefix length, MAC address"},
		"hnsdiag-list-endpoints__jayunit100_k8sprototypes_antrea_debugging.txt":                      {":12: endpoint \"pod-f72e-69e818\""},
		"new-netnat_add-netnatstaticmapping__MicrosoftDocs_Virtualization-Documentation_TP4.txt":     {":12: Get-NetNat \"ContianerNAT\"", ":26: Get-NetNatStaticMapping TCP 0.0.0.0:82 -> 172.16.0.2:80", "missing: that endpoint"},
		"open-containerport_netnatstaticmapping__MicrosoftDocs_Virtualization-Documentation_TP3.txt": {":12: Get-NetNatStaticMapping TCP 10.91.68.239:50000 -> 192.168.1.2:3389"},
	}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			exp, ok := want[name]
			if !ok {
				t.Fatalf("no expectation for %s", name)
			}
			d := readSample(t, name)
			topo, warns, err := Import([]Dump{d}, ImportOptions{})
			if !strings.Contains(strings.Join(warns, "\n"), `starting with "# "`) {
				t.Errorf("no note about the annotation lines: %q", warns)
			}
			if exp == nil {
				if err != nil {
					t.Fatalf("import failed: %v", err)
				}
				if n := len(topo.Hosts[0].HNS.Networks) + len(topo.Hosts[0].HNS.Endpoints) + len(topo.Hosts[0].HNS.LoadBalancers); n == 0 {
					t.Errorf("no objects imported")
				}
			} else {
				if err == nil {
					t.Fatalf("import succeeded, want an error with %q", exp)
				}
				for _, s := range exp {
					if !strings.Contains(err.Error(), name+s) && !strings.Contains(err.Error(), s) {
						t.Errorf("error lacks %q:\n%v", s, err)
					}
				}
				if !strings.Contains(err.Error(), name+":") {
					t.Errorf("error does not name the file: %v", err)
				}
			}
			checkGolden(t, strings.TrimSuffix(name, ".txt"), importGolden(t, []Dump{d}, ImportOptions{}))
		})
	}
}

// TestImportRealSampleFacts checks facts the real samples state (INDEX.md)
// against what Import made of them.
func TestImportRealSampleFacts(t *testing.T) {
	imp := func(names ...string) (*fabric.Topology, string) {
		t.Helper()
		var ds []Dump
		for _, n := range names {
			ds = append(ds, readSample(t, n))
		}
		topo, warns, err := Import(ds, ImportOptions{})
		if err != nil {
			t.Fatalf("%v: %v", names, err)
		}
		return topo, strings.Join(warns, "\n")
	}
	// Default Docker nat network: 172.17.32.0/20 gateway .1, VLAN 1, HNS 16.0.
	topo, notes := imp("get-hnsnetwork-fl__mtelvers_tunbury_2026-03-03-obuilder-hcs-2.txt")
	h := topo.Hosts[0]
	n := h.HNS.Networks[0]
	if n.Name != "nat" || string(n.Type) != "NAT" || n.Ipams[0].Subnets[0].IpAddressPrefix != "172.17.32.0/20" || h.Profile != "16.0" {
		t.Errorf("nat network: %s %s %+v profile %q", n.Name, n.Type, n.Ipams, h.Profile)
	}
	if !strings.Contains(notes, "Version 68719476736 = HNS 16.0") {
		t.Errorf("no version note:\n%s", notes)
	}
	// Calico endpoint (list view): IP, prefix, gateway, MAC, ROUTE NeedEncap,
	// PA and the ACL; the OutBoundNAT ExceptionList was not printed.
	topo, notes = imp("get-hnsendpoint-fl__mrolmedo_rke2windows_calico-overlay.txt")
	h = topo.Hosts[0]
	e := h.HNS.Endpoints[0]
	if e.IpConfigurations[0].IpAddress != "10.42.213.221" || e.IpConfigurations[0].PrefixLength != 26 || e.MacAddress != "0E-2A-0a-2a-d5-dd" || h.Profile != "WS2022" {
		t.Errorf("endpoint: %+v %s profile %s", e.IpConfigurations, e.MacAddress, h.Profile)
	}
	var types []string
	for _, p := range e.Policies {
		types = append(types, string(p.Type))
	}
	if got := strings.Join(types, ","); got != "OutBoundNAT,SDNRoute,ProviderAddress,ACL,EncapOverhead" {
		t.Errorf("policies %s", got)
	}
	for _, s := range []string{"Policies[0].ExceptionList", "shows 4 item(s) then \"...\""} {
		if !strings.Contains(notes, s) {
			t.Errorf("notes lack %q:\n%s", s, notes)
		}
	}
	// An hnsdiag record completed by the Get-HnsEndpoint output of the same
	// endpoint (same ID): imports.
	topo, _ = imp("hnsdiag-list-endpoints-record__mrolmedo_rke2windows.txt", "get-hnsendpoint-fl__mrolmedo_rke2windows_calico-overlay.txt")
	if len(topo.Hosts[0].HNS.Endpoints) != 1 {
		t.Errorf("endpoints %d", len(topo.Hosts[0].HNS.Endpoints))
	}
	// Get-NetNat applied to a nat network: the timeouts and filtering it
	// prints; its prefix is another node's, which is noted.
	topo, notes = imp("get-hnsnetwork-fl__mtelvers_tunbury_2026-03-03-obuilder-hcs-2.txt", "get-netnat__docker_for-win_196.txt")
	nat := topo.Hosts[0].NAT
	if nat == nil || nat.IcmpQueryTimeout != 30 || nat.TcpEstablishedConnectionTimeout != 1800 || nat.TcpTransientConnectionTimeout != 120 ||
		nat.UdpIdleSessionTimeout != 120 || nat.TcpFilteringBehavior != "AddressDependentFiltering" || nat.UdpInboundRefresh {
		t.Errorf("NAT %+v", nat)
	}
	if !strings.Contains(notes, "172.31.0.1/20 overlaps no imported nat network") {
		t.Errorf("notes:\n%s", notes)
	}
}

// utf16File returns s as Windows PowerShell 5.1's "> file" writes it:
// UTF-16LE with a byte-order mark and CRLF line endings.
func utf16File(s string) []byte {
	s = strings.ReplaceAll(s, "\n", "\r\n")
	b := []byte{0xFF, 0xFE}
	for _, c := range utf16.Encode([]rune(s)) {
		b = append(b, byte(c), byte(c>>8))
	}
	return b
}

// TestImportCollectlogsBundle imports a collectlogs.ps1 bundle directory
// (written from the script and the documented output of the commands it
// runs; network.txt and endpoint.txt in UTF-16 as PowerShell writes them):
// HNS objects from the JSON after each table, the NIC with its MAC, address,
// gateway and MTU from ip.txt/mtu.txt, a route from routes.txt, and
// unique port names for the two endpoints called "Ethernet".
func TestImportCollectlogsBundle(t *testing.T) {
	dir := "testdata/collectlogs-bundle"
	var files []Dump
	for _, name := range []string{"network.txt", "endpoint.txt", "ip.txt", "routes.txt", "mtu.txt", "vfpOutput.txt"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if name == "network.txt" || name == "endpoint.txt" {
			b = utf16File(string(b))
		}
		files = append(files, Dump{Name: filepath.Join(dir, name), Data: b})
	}
	topo, warns, err := Import([]Dump{{Name: dir, Files: files}}, ImportOptions{})
	if err != nil {
		t.Fatalf("%v\n%s", err, strings.Join(warns, "\n"))
	}
	notes := strings.Join(warns, "\n")
	h := topo.Hosts[0]
	want := fabric.NICSpec{Name: "Ethernet", MAC: "00-15-5D-00-00-04", IP: "10.0.0.4/24", Gateway: "10.0.0.1", MTU: 1500}
	if len(h.NICs) != 1 || h.NICs[0] != want {
		t.Errorf("NICs %+v, want [%+v]", h.NICs, want)
	}
	if len(h.Routes) != 1 || h.Routes[0] != (fabric.RouteSpec{Prefix: "10.244.2.0/24", NextHop: "10.0.0.6"}) {
		t.Errorf("routes %+v", h.Routes)
	}
	if h.Profile != "WS2022" || len(h.HNS.Networks) != 1 || len(h.HNS.Endpoints) != 3 {
		t.Errorf("profile %q, %d networks, %d endpoints", h.Profile, len(h.HNS.Networks), len(h.HNS.Endpoints))
	}
	for _, s := range []string{"vfpOutput.txt:1: VFP state: not read", `adapter "vEthernet (nat)" (172.16.0.1) has no IPv4 default gateway`,
		"port name host1/Ethernet-0c7119e3 derived from its ID", "port name host1/Ethernet-5ad857af derived from its ID", "skipped a table of 3 row(s)"} {
		if !strings.Contains(notes, s) {
			t.Errorf("notes lack %q:\n%s", s, notes)
		}
	}
	bt := &Topology{Topology: *topo}
	f, err := bt.Build(fabric.Options{})
	if err != nil {
		t.Fatalf("the imported bundle does not build: %v", err)
	}
	for _, p := range []string{"host1/Ethernet", "host1/Ethernet-0c7119e3", "host1/Ethernet-5ad857af", "host1/web"} {
		if _, ok := f.PortByName(p); !ok {
			t.Errorf("no port %s", p)
		}
	}
	// Not a bundle.
	if _, _, err := Import([]Dump{{Name: "empty", Files: []Dump{}}}, ImportOptions{}); err == nil || !strings.Contains(err.Error(), "empty: not a collectlogs bundle") {
		t.Errorf("empty directory: %v", err)
	}
}

// TestImportUniqueNames gives endpoints that share a name (and one named
// like the management OS port, one with a '/') unique port names derived
// from their IDs, leaves unique names alone, and reports each derivation.
func TestImportUniqueNames(t *testing.T) {
	ep := func(id, name, ip string) string {
		return `{"ID":"` + id + `","Name":"` + name + `","VirtualNetwork":"4EE1C263-FD69-45F9-8F4D-1D7137222B79","IPAddress":"` + ip + `","PrefixLength":20,"MacAddress":"00-15-5D-D2-10-` + ip[len(ip)-2:] + `"}`
	}
	js := `[{"ID":"4EE1C263-FD69-45F9-8F4D-1D7137222B79","Name":"nat","Type":"nat","Subnets":[{"AddressPrefix":"172.17.32.0/20","GatewayAddress":"172.17.32.1"}]},` +
		ep("0c7119e3-3eb4-4c72-a22f-c47450a9340c", "Ethernet", "172.17.32.11") + "," +
		ep("0c7119e3-9999-4c72-a22f-c47450a9340c", "Ethernet", "172.17.32.12") + "," +
		ep("5ad857af-355f-4c9f-89e8-4b68ee68cfee", "host", "172.17.32.13") + "," +
		ep("9610568d-0778-413d-9075-c67709812bfc", "a/b", "172.17.32.14") + "," +
		ep("41acce28-1b23-4a4e-ba22-698060f9b417", "eth0", "172.17.32.15") + "," +
		ep("c9b218fb-58f5-4fe7-b9ab-72ccc8ef421f", "web", "172.17.32.16") + "]"
	nics := []fabric.NICSpec{{Name: "eth0", MAC: "00:15:5d:00:00:04", IP: "10.0.0.4/24", Gateway: "10.0.0.1"}}
	topo, warns, err := Import([]Dump{{Name: "eps.json", Data: []byte(js)}}, ImportOptions{NICs: nics})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range topo.Hosts[0].HNS.Endpoints {
		names = append(names, e.Name)
	}
	// Two share the first 8 hex digits of their IDs: the second gets 12.
	want := "Ethernet-0c7119e3,Ethernet-0c7119e39999,host-5ad857af,a_b-9610568d,eth0-41acce28,web"
	if got := strings.Join(names, ","); got != want {
		t.Errorf("names %s, want %s", got, want)
	}
	if topo.Hosts[0].NICs[0].Name != "eth0" {
		t.Errorf("NIC renamed to %s", topo.Hosts[0].NICs[0].Name)
	}
	notes := strings.Join(warns, "\n")
	for _, s := range []string{`name "Ethernet" is shared by 2 objects (endpoints and NICs); port name host1/Ethernet-0c7119e3 derived`, `name "a/b" has a '/'`,
		`name "host" is the management OS's port name`, `name "eth0" is shared by 2 objects (endpoints and NICs); port name host1/eth0-41acce28`} {
		if !strings.Contains(notes, s) {
			t.Errorf("notes lack %q:\n%s", s, notes)
		}
	}
	if strings.Contains(notes, `"web"`) {
		t.Errorf("a unique name was reported:\n%s", notes)
	}
	bt := &Topology{Topology: *topo}
	if _, err := bt.Build(fabric.Options{}); err != nil {
		t.Errorf("does not build: %v", err)
	}
}
