package nodetext

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/hnspath/hnspath/emulator/hns"
)

// objects returns the JSON objects a Read produced, decoded.
func objects(t *testing.T, n *Node) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, fo := range n.Objects {
		for _, o := range fo.Objects {
			var m map[string]any
			if err := json.Unmarshal(o.JSON, &m); err != nil {
				t.Fatalf("object at line %d is not JSON: %v", o.Line, err)
			}
			out = append(out, m)
		}
	}
	return out
}

// TestPSValues checks how values of PowerShell's list view are read: the
// forms are those of the real samples in testdata/real.
func TestPSValues(t *testing.T) {
	for _, tt := range []struct {
		key, in string
		want    string // JSON of the value; "" when nothing is kept
		note    string // a note that must be made
	}{
		{"State", "1", `1`, ""},
		{"Version", "55834574851", `55834574851`, ""},
		{"IPv6", "False", `false`, ""},
		{"Name", "123", `"123"`, ""}, // a name stays a string
		{"AdditionalParams", "", ``, ""},
		{"SharedContainers", "{}", `[]`, ""},
		{"Policies", "{@{Type=VLAN; VLAN=1}}", `[{"Type":"VLAN","VLAN":1}]`, ""},
		{"Namespace", "@{ID=2c094b9e-af3a-4dc1-97d8-821b68603d23}", `{"ID":"2c094b9e-af3a-4dc1-97d8-821b68603d23"}`, ""},
		{"References", "{/endpoints/028abaed-7ff6-4fdc-992c-d3b004936be0, /endpoints/e84bad42-a6ee-40a8-8145-c9f084654774}",
			`["/endpoints/028abaed-7ff6-4fdc-992c-d3b004936be0","/endpoints/e84bad42-a6ee-40a8-8145-c9f084654774"]`, ""},
		{"Policies", "{@{ExceptionList=System.Object[]; Type=OutBoundNAT}, @{DestinationPrefix=10.43.0.0/16; NeedEncap=True; Type=ROUTE}...}",
			`[{"Type":"OutBoundNAT"},{"DestinationPrefix":"10.43.0.0/16","NeedEncap":true,"Type":"ROUTE"}]`, "shows 2 item(s) then"},
		{"Subnets", "{@{AddressPrefix=172.22.16.0/20; GatewayAddress=172.22.16.1; Health=; Policies=System.Collections.ArrayList; State=0}}",
			`[{"AddressPrefix":"172.22.16.0/20","GatewayAddress":"172.22.16.1","State":0}]`, `Subnets[0].Policies: PowerShell printed the type name "System.Collections.ArrayList"`},
		{"Policies", "{@{Action=Allow; LocalAddresses=; Priority=900; Protocol=256; Type=ACL}}", `[{"Action":"Allow","Priority":900,"Protocol":256,"Type":"ACL"}]`, ""},
		{"Resources", "@{Allocators=System.Object[]; ID=X}", `{"ID":"X"}`, ""}, // bookkeeping: no note
	} {
		n := &Node{}
		r := &reader{file: "f", node: n, errs: &errList{}}
		p := &psParser{r: r, line: 3, quiet: tt.key == "Resources"}
		v, ok := p.value(tt.in, tt.key, stringKeys[strings.ToLower(tt.key)])
		got := ""
		if ok {
			b, _ := json.Marshal(v)
			got = string(b)
		}
		if got != tt.want {
			t.Errorf("%s : %s = %s, want %s", tt.key, tt.in, got, tt.want)
		}
		notes := strings.Join(n.Notes, "\n")
		if tt.note != "" && !strings.Contains(notes, "f:3: ") || !strings.Contains(notes, tt.note) {
			t.Errorf("%s : %s: notes %q, want one with %q", tt.key, tt.in, notes, tt.note)
		}
		if tt.note == "" && notes != "" {
			t.Errorf("%s : %s: unexpected notes %q", tt.key, tt.in, notes)
		}
	}
}

// TestReadWrappedList reads a list record whose values PowerShell wrapped
// at the console width, indented (mtelvers/tunbury) and at column 0
// (knabben/blog's second run), the same way.
func TestReadWrappedList(t *testing.T) {
	indented := "Name       : nat\r\nExtensions : {@{Id=E7C3B2F0-F3C5-48DF-AF2B-10FED6D72E7A; IsEnabled=False; \r\n             Name=Microsoft Windows Filtering Platform}, \r\n             @{Id=430BDADD-BAB0-41AB-A369-94B67FA5BE0A; IsEnabled=True; Name=Microsoft \r\n             NDIS Capture}}\r\nType       : nat\r\n"
	col0 := "Name       : nat\nExtensions : {@{Id=E7C3B2F0-F3C5-48DF-AF2B-10FED6D72E7A; IsEnabled=False;\nName=Microsoft Windows Filtering Platform}, @{Id=430BDADD-BAB0-41AB-A369-94B67FA5BE0A; IsEnabled=True; Name=Microsoft\nNDIS Capture}}\nType       : nat\n"
	want := []map[string]any{{"Name": "nat", "Type": "nat", "Extensions": []any{
		map[string]any{"Id": "E7C3B2F0-F3C5-48DF-AF2B-10FED6D72E7A", "IsEnabled": false, "Name": "Microsoft Windows Filtering Platform"},
		map[string]any{"Id": "430BDADD-BAB0-41AB-A369-94B67FA5BE0A", "IsEnabled": true, "Name": "Microsoft NDIS Capture"},
	}}}
	for name, in := range map[string]string{"indented": indented, "column 0": col0} {
		n, err := Read(name, []byte(in))
		if err != nil {
			t.Fatal(err)
		}
		if got := objects(t, n); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %v\nwant %v", name, got, want)
		}
	}
}

func utf16LE(s string) []byte {
	b := []byte{0xFF, 0xFE}
	for _, c := range utf16.Encode([]rune(s)) {
		b = append(b, byte(c), byte(c>>8))
	}
	return b
}

// TestReadUTF16 reads every real sample again as Windows PowerShell 5.1's
// "> file" writes it (UTF-16LE with a BOM, CRLF): the same result.
func TestReadUTF16(t *testing.T) {
	files, _ := filepath.Glob("testdata/real/*.txt")
	if len(files) == 0 {
		t.Fatal("no samples")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		n8, err8 := Read("x", b)
		n16, err16 := Read("x", utf16LE(strings.ReplaceAll(string(b), "\n", "\r\n")))
		if (err8 == nil) != (err16 == nil) || err8 != nil && err8.Error() != err16.Error() {
			t.Errorf("%s: errors differ: %v / %v", f, err8, err16)
		}
		if !reflect.DeepEqual(objects(t, n8), objects(t, n16)) || !reflect.DeepEqual(n8.Skeletons, n16.Skeletons) ||
			!reflect.DeepEqual(n8.NATs, n16.NATs) || !reflect.DeepEqual(n8.Mappings, n16.Mappings) || !reflect.DeepEqual(n8.Versions, n16.Versions) {
			t.Errorf("%s: UTF-16 reads differently", f)
		}
	}
}

// TestReadErrors checks that bad input fails with messages that name the
// file, the line and what is wrong or missing.
func TestReadErrors(t *testing.T) {
	for _, tt := range []struct {
		name, in, want string
	}{
		{"cut json", "PS C:\\> Get-HnsNetwork | ConvertTo-Json\n{\n  \"Name\": \"nat\",\n  \"Type\": \"nat\",\n", "cut json:5: the JSON value starting at line 2 ends before it is closed"},
		{"elision", "{\n  \"Name\": \"nat\",\n  ...\n}\n", `elision:3: a "..." line left fields out`},
		{"bad json", "[{\"Name\": nat}]\n", "bad json:1: invalid character 'a' in literal null"},
		{"hnsdiag row", "Networks:\nName             ID\nnat              not-a-guid\n", "hnsdiag row:3: network row: no ID (GUID) in an hnsdiag network row"},
		{"logrus cut", `time="2023-02-20T00:59:59+11:00" level=debug msg="Network Response : [{\"ActivityId\":\"610A`, `logrus cut:1: msg: the log message has no closing quote`},
	} {
		_, err := Read(tt.name, []byte(tt.in))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want %q", tt.name, err, tt.want)
		}
	}
}

// TestReadDepthCutJSON: ConvertTo-Json's default -Depth 2 writes type names
// for deeper values; the import says what was lost and keeps the rest.
func TestReadDepthCutJSON(t *testing.T) {
	in := `{"ID":"5e6298c2-4638-494e-be6b-ff6fef942c06","Name":"default-test_nat","VirtualNetwork":"76177bd4-a2b5-43a6-9cb8-a37d9d903123",` +
		`"IPAddress":"172.27.148.101","PrefixLength":20,"MacAddress":"00-15-5D-CD-BE-47",` +
		`"Policies":[{"Type":"OutBoundNAT","ExceptionList":"System.Object[]"},"@{Type=ROUTE; DestinationPrefix=10.0.0.0/8; NeedEncap=True}"],` +
		`"Resources":"System.Collections.Hashtable"}`
	n, err := Read("depth.json", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	o, warns, err := hns.ImportObjects(n.Objects[0].Objects)
	if err != nil {
		t.Fatal(err)
	}
	e := o.Endpoints[0]
	if len(e.Policies) != 2 || e.Policies[0].Type != hns.OutBoundNAT || e.Policies[1].Type != hns.SDNRoute || e.IpConfigurations[0].IpAddress != "172.27.148.101" {
		t.Errorf("endpoint %+v", e)
	}
	joined := strings.Join(warns, "\n")
	for _, w := range []string{`Policies[0].ExceptionList: "System.Object[]" is a PowerShell ConvertTo-Json depth cut-off (use -Depth 10); the value is lost`,
		`Resources: "System.Collections.Hashtable" is a PowerShell ConvertTo-Json depth cut-off`, `Policies[1]: "@{Type=ROUTE`} {
		if !strings.Contains(joined, w) {
			t.Errorf("warnings lack %q:\n%s", w, joined)
		}
	}
}

// TestWriteReadBack: what the writers print, the readers read back.
func TestWriteReadBack(t *testing.T) {
	var b strings.Builder
	nats := []NetNatView{{Name: "NATX", InternalIPInterfaceAddressPrefix: "172.16.0.1/16", IcmpQueryTimeout: 30, TcpEstablishedConnectionTimeout: 1800,
		TcpTransientConnectionTimeout: 120, UdpIdleSessionTimeout: 120, TcpFilteringBehavior: "AddressDependentFiltering", UdpFilteringBehavior: "EndpointIndependentFiltering", UdpInboundRefresh: true}}
	if err := WriteNetNat(&b, nats); err != nil {
		t.Fatal(err)
	}
	ms := []StaticMappingView{{StaticMappingID: 0, NatName: "NATX", Protocol: "UDP", RemoteExternalIPAddressPrefix: "0.0.0.0/0", ExternalIPAddress: "0.0.0.0",
		ExternalPort: 5353, InternalIPAddress: "172.16.0.2", InternalPort: 53}}
	if err := WriteStaticMappings(&b, ms); err != nil {
		t.Fatal(err)
	}
	if err := WriteSessions(&b, []SessionView{{NatName: "NATX", Protocol: 17, InternalSourceAddress: "172.16.0.2", InternalSourcePort: 40000,
		ExternalSourceAddress: "10.0.0.4", ExternalSourcePort: 40000}}); err != nil {
		t.Fatal(err)
	}
	n, err := Read("x", []byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	if len(n.NATs) != 1 || n.NATs[0].Fields["UdpFilteringBehavior"] != "EndpointIndependentFiltering" || n.NATs[0].Fields["UdpInboundRefresh"] != "True" ||
		n.NATs[0].Fields["InternalIPInterfaceAddressPrefix"] != "172.16.0.1/16" {
		t.Errorf("NATs %+v", n.NATs)
	}
	want := StaticMapping{File: "x", Line: 17, NatName: "NATX", Protocol: "UDP", ExternalIPAddress: "0.0.0.0", ExternalPort: "5353",
		InternalIPAddress: "172.16.0.2", InternalPort: "53", RemoteExternalIPAddressPrefix: "0.0.0.0/0"}
	if len(n.Mappings) != 1 || n.Mappings[0] != want {
		t.Errorf("mappings %+v\nwant %+v", n.Mappings, want)
	}
	if len(n.Objects) != 0 || !strings.Contains(strings.Join(n.Notes, "\n"), "x:30: skipped a Get-NetNatSession record") {
		t.Errorf("session: objects %v, notes %q", n.Objects, n.Notes)
	}
}
