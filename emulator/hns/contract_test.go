package hns

// The contract test: our copy of the HCN schema against hcsshim's source.
//
// hcsshim's hcn package builds on Windows only, so this test reads its
// source from the module cache with go/parser (build tags do not matter to
// the parser) and compares, for every type we mirror: the Go field names,
// JSON names, omitempty choices, field types and field order; for every
// enum type: its underlying type and every constant's name and value (our
// constants are read from our own source the same way); hcsshim's feature
// version ranges and which SupportedFeatures field uses which; and the
// "Mirrors hcsshim ... file:line" comment on each of our types. Our
// intentional extras are listed in contractExtras. The test fails (it
// never skips) when hcsshim cannot be found.

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

const hcsshimModule = "github.com/Microsoft/hcsshim"

// hcsshimDir returns the directory of the hcsshim module the build uses,
// downloading it when needed.
func hcsshimDir(t *testing.T) (dir, version string) {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}|{{.Version}}", hcsshimModule).Output()
	if err == nil {
		dir, version, _ = strings.Cut(strings.TrimSpace(string(out)), "|")
	}
	if version == "" {
		version = versionFromGoMod(t)
	}
	if dir == "" {
		cache, err := exec.Command("go", "env", "GOMODCACHE").Output()
		if err != nil {
			t.Fatalf("go env GOMODCACHE: %v", err)
		}
		dir = filepath.Join(strings.TrimSpace(string(cache)), escapeModulePath(hcsshimModule)+"@"+version)
	}
	if _, err := os.Stat(filepath.Join(dir, "hcn")); err != nil {
		if out, err := exec.Command("go", "mod", "download", hcsshimModule+"@"+version).CombinedOutput(); err != nil {
			t.Fatalf("hcsshim %s is not in the module cache and go mod download failed: %v\n%s", version, err, out)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "hcn")); err != nil {
		t.Fatalf("hcsshim %s: no hcn directory at %s: %v", version, dir, err)
	}
	return dir, version
}

// versionFromGoMod finds the hcsshim version in the module's go.mod.
func versionFromGoMod(t *testing.T) string {
	t.Helper()
	d, _ := os.Getwd()
	for {
		b, err := os.ReadFile(filepath.Join(d, "go.mod"))
		if err == nil {
			m := regexp.MustCompile(`(?m)^\s*(?:require\s+)?` + regexp.QuoteMeta(hcsshimModule) + `\s+(\S+)`).FindSubmatch(b)
			if m == nil {
				t.Fatalf("go.mod in %s does not require %s", d, hcsshimModule)
			}
			return string(m[1])
		}
		parent := filepath.Dir(d)
		if parent == d {
			t.Fatal("no go.mod found")
		}
		d = parent
	}
}

// escapeModulePath escapes upper-case letters as the module cache does.
func escapeModulePath(p string) string {
	var b strings.Builder
	for _, r := range p {
		if 'A' <= r && r <= 'Z' {
			b.WriteByte('!')
			b.WriteRune(r + 'a' - 'A')
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// srcPkg is what we read from a package's source.
type srcPkg struct {
	fset    *token.FileSet
	structs map[string]*srcStruct
	named   map[string]srcNamed // non-struct named types: name -> underlying
	aliases map[string]string   // type X = Y
	consts  map[string]srcConst
	docs    map[string]string // type name -> doc comment
	files   map[string]*ast.File
}

type srcStruct struct {
	name       string
	file       string
	start, end int
	fields     []srcField
}

type srcField struct {
	goName, jsonName string
	omitempty        bool
	typ              string
	line             int
}

type srcNamed struct {
	underlying string
	file       string
	line       int
}

type srcConst struct {
	typ, value string // value: unquoted string or decimal integer
	file       string
	line       int
}

// parsePkg parses the non-test .go files of dir, skipping files whose base
// name matches skip.
func parsePkg(t *testing.T, dir string, skip func(string) bool) *srcPkg {
	t.Helper()
	p := &srcPkg{fset: token.NewFileSet(), structs: map[string]*srcStruct{}, named: map[string]srcNamed{},
		aliases: map[string]string{}, consts: map[string]srcConst{}, docs: map[string]string{}, files: map[string]*ast.File{}}
	names, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil || len(names) == 0 {
		t.Fatalf("no Go files in %s: %v", dir, err)
	}
	for _, name := range names {
		base := filepath.Base(name)
		if strings.HasSuffix(base, "_test.go") || (skip != nil && skip(base)) {
			continue
		}
		f, err := parser.ParseFile(p.fset, name, nil, parser.ParseComments)
		if err != nil {
			t.Fatalf("parse %s: %v", name, err)
		}
		p.files[base] = f
		for _, d := range f.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok {
				continue
			}
			switch gd.Tok {
			case token.TYPE:
				p.addTypes(base, gd)
			case token.CONST, token.VAR:
				p.addConsts(base, gd)
			}
		}
	}
	return p
}

func (p *srcPkg) line(pos token.Pos) int { return p.fset.Position(pos).Line }

func (p *srcPkg) addTypes(file string, gd *ast.GenDecl) {
	for _, s := range gd.Specs {
		ts := s.(*ast.TypeSpec)
		name := ts.Name.Name
		doc := ts.Doc
		if doc == nil && len(gd.Specs) == 1 {
			doc = gd.Doc
		}
		if doc != nil {
			p.docs[name] = doc.Text()
		}
		if ts.Assign.IsValid() {
			p.aliases[name] = exprString(ts.Type)
			continue
		}
		st, ok := ts.Type.(*ast.StructType)
		if !ok {
			p.named[name] = srcNamed{underlying: exprString(ts.Type), file: file, line: p.line(ts.Pos())}
			continue
		}
		start := p.line(ts.Pos())
		if len(gd.Specs) == 1 {
			start = p.line(gd.Pos())
		}
		ss := &srcStruct{name: name, file: file, start: start, end: p.line(st.End())}
		for _, f := range st.Fields.List {
			tag := ""
			if f.Tag != nil {
				tag, _ = strconv.Unquote(f.Tag.Value)
			}
			jsonTag := reflect.StructTag(tag).Get("json")
			jname, opts, _ := strings.Cut(jsonTag, ",")
			for _, n := range f.Names {
				if !n.IsExported() || jsonTag == "-" {
					continue
				}
				jn := jname
				if jn == "" {
					jn = n.Name
				}
				ss.fields = append(ss.fields, srcField{goName: n.Name, jsonName: jn, omitempty: strings.Contains(opts, "omitempty"),
					typ: exprString(f.Type), line: p.line(f.Pos())})
			}
		}
		p.structs[name] = ss
	}
}

// exprString renders a type expression in normal form: named types by name
// (with package qualifier), "[]T", "*T", "map[K]V", "interface{}".
func exprString(e ast.Expr) string {
	switch x := e.(type) {
	case *ast.Ident:
		if x.Name == "any" {
			return "interface{}"
		}
		return x.Name
	case *ast.SelectorExpr:
		return exprString(x.X) + "." + x.Sel.Name
	case *ast.ArrayType:
		if x.Len != nil {
			return "[?]" + exprString(x.Elt)
		}
		return "[]" + exprString(x.Elt)
	case *ast.StarExpr:
		return "*" + exprString(x.X)
	case *ast.MapType:
		return "map[" + exprString(x.Key) + "]" + exprString(x.Value)
	case *ast.InterfaceType:
		return "interface{}"
	case *ast.StructType:
		return "struct{}"
	}
	return fmt.Sprintf("%T", e)
}

// addConsts records constants and initialised variables with literal
// values, evaluating iota and implicit repetition in const blocks.
func (p *srcPkg) addConsts(file string, gd *ast.GenDecl) {
	var lastType string
	var lastValues []ast.Expr
	for iota, s := range gd.Specs {
		vs := s.(*ast.ValueSpec)
		typ := ""
		if vs.Type != nil {
			typ = exprString(vs.Type)
		}
		values := vs.Values
		if gd.Tok == token.CONST && len(values) == 0 && vs.Type == nil {
			typ, values = lastType, lastValues // implicit repetition
		}
		if gd.Tok == token.CONST && len(vs.Values) > 0 {
			lastType, lastValues = typ, vs.Values
		}
		for i, n := range vs.Names {
			if !n.IsExported() {
				continue
			}
			c := srcConst{typ: typ, file: file, line: p.line(n.Pos())}
			switch {
			case i < len(values):
				v, ok := evalConst(values[i], iota)
				if !ok {
					continue
				}
				c.value = v
			case typ != "":
				c.value = "" // zero value; resolved by the caller from the underlying type
			default:
				continue
			}
			p.consts[n.Name] = c
		}
	}
}

// evalConst evaluates the literal forms hcsshim and we use: string and
// integer literals, iota, and a conversion T(literal).
func evalConst(e ast.Expr, iota int) (string, bool) {
	switch x := e.(type) {
	case *ast.BasicLit:
		switch x.Kind {
		case token.STRING:
			s, err := strconv.Unquote(x.Value)
			return s, err == nil
		case token.INT:
			n, err := strconv.ParseInt(x.Value, 0, 64)
			return strconv.FormatInt(n, 10), err == nil
		}
	case *ast.Ident:
		if x.Name == "iota" {
			return strconv.Itoa(iota), true
		}
	case *ast.CallExpr:
		if len(x.Args) == 1 {
			return evalConst(x.Args[0], iota)
		}
	case *ast.ParenExpr:
		return evalConst(x.X, iota)
	}
	return "", false
}

// zeroValue fills in the value of a constant declared without one.
func (p *srcPkg) zeroValue(c srcConst) string {
	if c.value != "" {
		return c.value
	}
	switch p.named[c.typ].underlying {
	case "string":
		return ""
	}
	return "0"
}

// mirrored lists our types that copy an hcsshim v0.15.0 hcn type of the same name.
var mirrored = []string{
	"Version", "ExtraParams", "Health", "HostComputeQuery",
	"Route", "Subnet", "Ipam", "MacRange", "MacPool", "Dns", "HostComputeNetwork",
	"IpConfig", "HostComputeEndpoint",
	"LoadBalancerPortMapping", "HostComputeLoadBalancer",
	"NamespaceResourceEndpoint", "NamespaceResourceContainer", "NamespaceResource", "HostComputeNamespace",
	"HostComputeRoute",
	"EndpointPolicy", "NetworkPolicy", "SubnetPolicy",
	"PortMappingPolicySetting", "AclPolicySetting", "QosPolicySetting", "OutboundNatPolicySetting",
	"SDNRoutePolicySetting", "NetworkACLPolicySetting", "FiveTuple", "ProxyExceptions",
	"L4WfpProxyPolicySetting", "PortnameEndpointPolicySetting", "EncapOverheadEndpointPolicySetting",
	"IovPolicySetting", "ProviderAddressEndpointPolicySetting", "InterfaceConstraintPolicySetting",
	"SourceMacAddressNetworkPolicySetting", "NetAdapterNameNetworkPolicySetting",
	"ProviderAddressNetworkPolicySetting", "VSwitchExtensionNetworkPolicySetting",
	"DrMacAddressNetworkPolicySetting", "AutomaticDNSNetworkPolicySetting",
	"LayerConstraintNetworkPolicySetting", "VlanPolicySetting", "VsidPolicySetting",
	"RemoteSubnetRoutePolicySetting", "SetPolicySetting", "VxlanPortPolicySetting",
	"L4ProxyPolicySetting", "TierAclRule", "TierAclPolicySetting",
	"SupportedFeatures", "AclFeatures", "ApiSupport",
}

// mirroredNamed lists our non-struct types that copy hcsshim's.
var mirroredNamed = []string{
	"NetworkType", "NetworkFlags", "SubnetFlags", "EndpointFlags", "NatFlags",
	"LoadBalancerFlags", "LoadBalancerPortMappingFlags", "LoadBalancerDistribution", "ProtocolType",
	"EndpointPolicyType", "NetworkPolicyType", "SubnetPolicyType", "ActionType", "DirectionType",
	"RuleType", "SetPolicyType", "NamespaceResourceType", "NamespaceType", "HostComputeQueryFlags", "RequestType",
}

// contractExtras are our intentional additions to hcsshim's structs (JSON
// names), each an official-schema field or an hnspath extension; they must be
// omitempty and come after hcsshim's fields, so that objects without them
// encode exactly as hcsshim encodes them.
var contractExtras = map[string][]string{
	"AclPolicySetting":        {"Id"},                       // HNS_Schema.md AclPolicySetting
	"NetworkACLPolicySetting": {"Id"},                       // HNS_Schema.md NetworkAclPolicySetting
	"SDNRoutePolicySetting":   {"AutomaticEndpointMonitor"}, // HNS_Schema.md SDNRoutePolicySetting
	"IpConfig":                {"IpSubnetId"},               // HNS_Schema.md IpConfig (2.3)
	"Subnet":                  {"IpSubnets"},                // HNS_Schema.md Subnet (2.3)
	"HostComputeNetwork":      {"DockerOptions"},            // hnspath extension
	"HostComputeLoadBalancer": {"Name"},                     // HNS_Schema.md Base
	"HostComputeNamespace":    {"Name"},                     // HNS_Schema.md Base
	"HostComputeRoute":        {"Name"},                     // HNS_Schema.md Base
}

// constExtras are our enum constants hcsshim lacks, with their sources.
var constExtras = map[string]string{
	"NetworkFlagsEnableDNS":                     "hns.v2.psm1 NetworkFlags",
	"NetworkFlagsEnableDHCP":                    "hns.v2.psm1 NetworkFlags",
	"NetworkFlagsEnableMirroring":               "hns.v2.psm1 NetworkFlags",
	"EndpointFlagsDisableICC":                   "hns.v2.psm1 EndpointFlags",
	"EndpointFlagsEnableMirroring":              "hns.v2.psm1 EndpointFlags",
	"EndpointFlagsEnableLowInterfaceMetric":     "hns.v2.psm1 EndpointFlags",
	"EndpointFlagsOverrideDNSServerOrder":       "hns.v2.psm1 EndpointFlags",
	"EndpointFlagsEnableDHCP":                   "hns.v2.psm1 EndpointFlags",
	"NatFlagsExternalPortReserved":              "hns.v2.psm1 NatFlags",
	"LoadBalancerPortMappingFlagsVipExternalIP": "kube-proxy winkernel hns.go",
	"NetworkTypeInternal":                       "HNS_Schema.md NetworkMode",
	"NetworkTypeMirrored":                       "HNS_Schema.md NetworkMode",
	"NetworkTypeInfiniband":                     "HNS_Schema.md NetworkMode",
	"NetworkTypeConstrainedICS":                 "HNS_Schema.md NetworkMode",
	"Encryption":                                "HNS_Schema.md EndpointPolicyType",
	"EndpointVLAN":                              "HNS_Schema.md EndpointPolicyType",
	"InterfaceParameters":                       "HNS_Schema.md EndpointPolicyType",
	"NeighborDiscovery":                         "hns.v2.psm1 New-HnsNeighborDiscoveryPolicy",
}

// ourPkg parses this package, without program*.go (the programmer).
func ourPkg(t *testing.T) *srcPkg {
	return parsePkg(t, ".", func(base string) bool { return strings.HasPrefix(base, "program") })
}

func TestContractStructs(t *testing.T) {
	dir, version := hcsshimDir(t)
	theirs := parsePkg(t, filepath.Join(dir, "hcn"), nil)
	ours := ourPkg(t)
	resolve := func(p *srcPkg, typ string) string {
		for {
			a, ok := p.aliases[strings.TrimPrefix(typ, "[]")]
			if !ok {
				return typ
			}
			prefix := ""
			if strings.HasPrefix(typ, "[]") {
				prefix = "[]"
			}
			typ = prefix + a
		}
	}
	for _, name := range mirrored {
		t.Run(name, func(t *testing.T) {
			th, ok := theirs.structs[name]
			if !ok {
				t.Fatalf("hcsshim %s has no struct %s", version, name)
			}
			ou, ok := ours.structs[name]
			if !ok {
				t.Fatalf("we have no struct %s (hcsshim hcn/%s:%d)", name, th.file, th.start)
			}
			where := func(f srcField) string { return fmt.Sprintf("hcsshim hcn/%s:%d", th.file, f.line) }
			extras := map[string]bool{}
			for _, x := range contractExtras[name] {
				extras[x] = true
			}
			var ourFields []srcField
			for _, f := range ou.fields {
				if extras[f.jsonName] {
					if !f.omitempty {
						t.Errorf("%s.%s: extra field must be omitempty to keep hcsshim's encoding", name, f.goName)
					}
					continue
				}
				ourFields = append(ourFields, f)
			}
			// Extras come after hcsshim's fields.
			for i, f := range ou.fields {
				if extras[f.jsonName] && i < len(ourFields) {
					t.Errorf("%s.%s: extra field must come after hcsshim's fields (it is field %d of %d)", name, f.goName, i, len(ou.fields))
				}
			}
			for _, f := range th.fields {
				found := false
				for _, g := range ourFields {
					if g.jsonName == f.jsonName {
						found = true
					}
				}
				if !found {
					t.Errorf("%s: missing field %s (JSON %q, %s)", name, f.goName, f.jsonName, where(f))
				}
			}
			for _, g := range ourFields {
				found := false
				for _, f := range th.fields {
					if g.jsonName == f.jsonName {
						found = true
					}
				}
				if !found {
					t.Errorf("%s.%s: JSON name %q is not in hcsshim's %s (hcn/%s:%d) nor in contractExtras", name, g.goName, g.jsonName, name, th.file, th.start)
				}
			}
			if len(ourFields) != len(th.fields) {
				return
			}
			for i, f := range th.fields {
				g := ourFields[i]
				if g.jsonName != f.jsonName {
					t.Errorf("%s: field %d is JSON %q, hcsshim has %q there (%s): order matters for identical encoding", name, i, g.jsonName, f.jsonName, where(f))
					continue
				}
				if g.goName != f.goName {
					t.Errorf("%s: Go field %s, hcsshim calls it %s (%s)", name, g.goName, f.goName, where(f))
				}
				if g.omitempty != f.omitempty {
					t.Errorf("%s.%s: omitempty %t, hcsshim %t (%s)", name, g.goName, g.omitempty, f.omitempty, where(f))
				}
				if gt, ft := resolve(ours, g.typ), resolve(theirs, f.typ); gt != ft {
					t.Errorf("%s.%s: type %s, hcsshim %s (%s)", name, g.goName, gt, ft, where(f))
				}
			}
		})
	}
}

func TestContractEnums(t *testing.T) {
	dir, _ := hcsshimDir(t)
	theirs := parsePkg(t, filepath.Join(dir, "hcn"), nil)
	ours := ourPkg(t)
	enum := map[string]bool{}
	for _, n := range mirroredNamed {
		enum[n] = true
		th, ok := theirs.named[n]
		if !ok {
			t.Errorf("hcsshim has no type %s", n)
			continue
		}
		ou, ok := ours.named[n]
		if !ok {
			t.Errorf("we have no type %s (hcsshim hcn/%s:%d)", n, th.file, th.line)
			continue
		}
		if ou.underlying != th.underlying {
			t.Errorf("type %s: underlying %s, hcsshim %s (hcn/%s:%d)", n, ou.underlying, th.underlying, th.file, th.line)
		}
	}
	// Every hcsshim constant of those types, with its value.
	var names []string
	for n, c := range theirs.consts {
		if enum[c.typ] {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	if len(names) < 60 {
		t.Fatalf("found only %d hcsshim enum constants; the parser lost some", len(names))
	}
	for _, n := range names {
		c := theirs.consts[n]
		g, ok := ours.consts[n]
		switch {
		case !ok:
			t.Errorf("missing constant %s %s = %q (hcsshim hcn/%s:%d)", n, c.typ, theirs.zeroValue(c), c.file, c.line)
		case g.typ != c.typ:
			t.Errorf("constant %s: type %s, hcsshim %s (hcn/%s:%d)", n, g.typ, c.typ, c.file, c.line)
		case ours.zeroValue(g) != theirs.zeroValue(c):
			t.Errorf("constant %s: value %q, hcsshim %q (hcn/%s:%d)", n, ours.zeroValue(g), theirs.zeroValue(c), c.file, c.line)
		}
	}
	// Every constant of ours of those types is hcsshim's or a listed extra.
	for n, g := range ours.consts {
		if !enum[g.typ] {
			continue
		}
		if _, ok := theirs.consts[n]; ok {
			continue
		}
		if _, ok := constExtras[n]; !ok {
			t.Errorf("constant %s (%s:%d) is neither hcsshim's nor in constExtras", n, g.file, g.line)
		}
	}
	for n := range constExtras {
		if _, ok := ours.consts[n]; !ok {
			t.Errorf("constExtras lists %s, which we do not define", n)
		}
	}
}

// TestContractComments checks the "Mirrors hcsshim v0.15.0 hcn/file:a-b"
// comment of every mirrored type against hcsshim's source.
func TestContractComments(t *testing.T) {
	dir, version := hcsshimDir(t)
	theirs := parsePkg(t, filepath.Join(dir, "hcn"), nil)
	ours := ourPkg(t)
	re := regexp.MustCompile(`Mirrors hcsshim (v[0-9.]+)\s+hcn/(\w+\.go):(\d+)(?:-(\d+))?`)
	check := func(name, file string, start, end int) {
		doc := strings.ReplaceAll(ours.docs[name], "\n", " ")
		m := re.FindStringSubmatch(doc)
		if m == nil {
			t.Errorf("%s: doc comment has no \"Mirrors hcsshim %s hcn/file:line\" reference (hcsshim: hcn/%s:%d)", name, version, file, start)
			return
		}
		want := fmt.Sprintf("hcn/%s:%d", file, start)
		if end != start {
			want += fmt.Sprintf("-%d", end)
		}
		got := "hcn/" + m[2] + ":" + m[3]
		if m[4] != "" {
			got += "-" + m[4]
		}
		if m[1] != version || got != want {
			t.Errorf("%s: comment says %s %s, hcsshim %s has it at %s", name, m[1], got, version, want)
		}
	}
	for _, n := range mirrored {
		if th, ok := theirs.structs[n]; ok {
			check(n, th.file, th.start, th.end)
		}
	}
	for _, n := range mirroredNamed {
		if th, ok := theirs.named[n]; ok {
			check(n, th.file, th.line, th.line)
		}
	}
}

// TestContractFeatures compares our feature table with hcsshim's version
// ranges (hcn/hcnglobals.go) and with which range each SupportedFeatures
// field uses (hcn/hcnsupport.go getSupportedFeatures).
func TestContractFeatures(t *testing.T) {
	dir, _ := hcsshimDir(t)
	theirs := parsePkg(t, filepath.Join(dir, "hcn"), nil)
	ranges := versionRangeVars(t, theirs.files["hcnglobals.go"])
	if len(ranges) < 15 {
		t.Fatalf("found only %d VersionRanges variables in hcnglobals.go", len(ranges))
	}
	used := map[string]bool{}
	for f := Feature(0); f < numFeatures; f++ {
		info := features[f]
		used[info.hcsshimVar] = true
		got, ok := ranges[info.hcsshimVar]
		if !ok {
			t.Errorf("%s: hcsshim has no VersionRanges %s", f, info.hcsshimVar)
			continue
		}
		if !reflect.DeepEqual(info.ranges, got) {
			t.Errorf("%s: ranges %v, hcsshim %s = %v", f, info.ranges, info.hcsshimVar, got)
		}
	}
	for v := range ranges {
		if !used[v] {
			t.Errorf("hcsshim VersionRanges %s is used by none of our features", v)
		}
	}
	// Which variable each SupportedFeatures JSON key is computed from.
	uses := supportedFeatureVars(t, theirs)
	ours := map[string]string{}
	for f := Feature(0); f < numFeatures; f++ {
		ours[features[f].name] = features[f].hcsshimVar
	}
	if !reflect.DeepEqual(ours, uses) {
		t.Errorf("feature -> version variable:\nours    %v\nhcsshim %v", ours, uses)
	}
}

// versionRangeVars evaluates the VersionRanges{...} variables of hcnglobals.go.
func versionRangeVars(t *testing.T, f *ast.File) map[string][]versionRange {
	t.Helper()
	if f == nil {
		t.Fatal("hcsshim hcn/hcnglobals.go not parsed")
	}
	num := func(e ast.Expr) int {
		switch x := e.(type) {
		case *ast.BasicLit:
			n, _ := strconv.Atoi(x.Value)
			return n
		case *ast.SelectorExpr:
			if exprString(x) == "math.MaxInt32" {
				return math.MaxInt32
			}
		}
		t.Errorf("unexpected version number %s", exprString(e))
		return -1
	}
	version := func(e ast.Expr) Version {
		var v Version
		for _, el := range e.(*ast.CompositeLit).Elts {
			kv := el.(*ast.KeyValueExpr)
			switch kv.Key.(*ast.Ident).Name {
			case "Major":
				v.Major = num(kv.Value)
			case "Minor":
				v.Minor = num(kv.Value)
			}
		}
		return v
	}
	out := map[string][]versionRange{}
	ast.Inspect(f, func(n ast.Node) bool {
		vs, ok := n.(*ast.ValueSpec)
		if !ok || len(vs.Values) != 1 {
			return true
		}
		cl, ok := vs.Values[0].(*ast.CompositeLit)
		if !ok || exprString(cl.Type) != "VersionRanges" {
			return true
		}
		var rs []versionRange
		for _, el := range cl.Elts {
			var r versionRange
			for _, kvx := range el.(*ast.CompositeLit).Elts {
				kv := kvx.(*ast.KeyValueExpr)
				switch kv.Key.(*ast.Ident).Name {
				case "MinVersion":
					r.min = version(kv.Value)
				case "MaxVersion":
					r.max = version(kv.Value)
				}
			}
			rs = append(rs, r)
		}
		out[vs.Names[0].Name] = rs
		return true
	})
	return out
}

// supportedFeatureVars maps each SupportedFeatures JSON key ("DSR",
// "ACL.AclRuleId", "API.V2") to the VersionRanges variable hcsshim's
// getSupportedFeatures passes to isFeatureSupported for it.
func supportedFeatureVars(t *testing.T, p *srcPkg) map[string]string {
	t.Helper()
	jsonOf := func(structName, field string) string {
		for _, f := range p.structs[structName].fields {
			if f.goName == field {
				return f.jsonName
			}
		}
		t.Errorf("hcsshim %s has no field %s", structName, field)
		return field
	}
	varOf := func(e ast.Expr) (string, bool) {
		call, ok := e.(*ast.CallExpr)
		if !ok || exprString(call.Fun) != "isFeatureSupported" || len(call.Args) != 2 {
			return "", false
		}
		return exprString(call.Args[1]), true
	}
	out := map[string]string{}
	var fn *ast.FuncDecl
	for _, f := range p.files {
		for _, d := range f.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && fd.Name.Name == "getSupportedFeatures" {
				fn = fd
			}
		}
	}
	if fn == nil {
		t.Fatal("hcsshim has no getSupportedFeatures")
	}
	ast.Inspect(fn.Body, func(n ast.Node) bool {
		as, ok := n.(*ast.AssignStmt)
		if !ok || len(as.Lhs) != 1 || len(as.Rhs) != 1 {
			return true
		}
		sel, ok := as.Lhs[0].(*ast.SelectorExpr)
		if !ok {
			return true
		}
		key := jsonOf("SupportedFeatures", sel.Sel.Name)
		if v, ok := varOf(as.Rhs[0]); ok {
			out[key] = v
			return true
		}
		if cl, ok := as.Rhs[0].(*ast.CompositeLit); ok {
			for _, el := range cl.Elts {
				kv, ok := el.(*ast.KeyValueExpr)
				if !ok {
					continue
				}
				if v, ok := varOf(kv.Value); ok {
					out[key+"."+jsonOf(exprString(cl.Type), kv.Key.(*ast.Ident).Name)] = v
				}
			}
		}
		return true
	})
	return out
}

// TestContractV1 checks that our v1 types know every JSON name of
// hcsshim's internal/hns types (ours add fields real dumps carry).
func TestContractV1(t *testing.T) {
	dir, _ := hcsshimDir(t)
	theirs := parsePkg(t, filepath.Join(dir, "internal", "hns"), nil)
	pairs := []struct {
		ours any
		name string
	}{
		{HNSNetwork{}, "HNSNetwork"}, {HNSEndpoint{}, "HNSEndpoint"}, {HNSSubnet{}, "Subnet"}, {HNSMacPool{}, "MacPool"},
		{HNSNamespace{}, "Namespace"}, {PolicyList{}, "PolicyList"}, {NatPolicy{}, "NatPolicy"}, {QosPolicy{}, "QosPolicy"},
		{IsolationPolicy{}, "IsolationPolicy"}, {VlanPolicy{}, "VlanPolicy"}, {VsidPolicy{}, "VsidPolicy"}, {PaPolicy{}, "PaPolicy"},
		{OutboundNatPolicy{}, "OutboundNatPolicy"}, {ProxyPolicy{}, "ProxyPolicy"}, {ACLPolicy{}, "ACLPolicy"}, {RoutePolicy{}, "RoutePolicy"},
	}
	for _, p := range pairs {
		th, ok := theirs.structs[p.name]
		if !ok {
			t.Errorf("hcsshim internal/hns has no %s", p.name)
			continue
		}
		names, _ := jsonFieldNames(reflect.TypeOf(p.ours))
		have := map[string]bool{}
		for _, n := range names {
			have[n] = true
		}
		for _, f := range th.fields {
			if f.jsonName == "Policy" { // embedded Policy{Type}: our flattened Type
				continue
			}
			if !have[f.jsonName] {
				t.Errorf("%T lacks hcsshim %s.%s (JSON %q, internal/hns/%s:%d)", p.ours, p.name, f.goName, f.jsonName, th.file, f.line)
			}
		}
	}
	// The "Mirrors hcsshim ... internal/hns/file:lines" comments.
	ours := ourPkg(t)
	re := regexp.MustCompile(`Mirrors hcsshim (v[0-9.]+)\s+internal/hns/(\w+\.go):(\d+)(?:-(\d+))?`)
	for _, p := range pairs {
		name := reflect.TypeOf(p.ours).Name()
		th := theirs.structs[p.name]
		if th == nil {
			continue
		}
		m := re.FindStringSubmatch(strings.ReplaceAll(ours.docs[name], "\n", " "))
		if m == nil {
			t.Errorf("%s: doc comment has no \"Mirrors hcsshim ... internal/hns/file:line\" reference (hcsshim: internal/hns/%s:%d)", name, th.file, th.start)
			continue
		}
		if start, _ := strconv.Atoi(m[3]); m[2] != th.file || start != th.start {
			t.Errorf("%s: comment says internal/hns/%s:%s, hcsshim has %s at internal/hns/%s:%d", name, m[2], m[3], p.name, th.file, th.start)
		}
	}
	// The v1 policy type names.
	for n, c := range theirs.consts {
		if c.typ != "PolicyType" {
			continue
		}
		found := false
		for _, ours := range v1PolicyTypes {
			if string(ours) == c.value {
				found = true
			}
		}
		if !found {
			t.Errorf("v1 policy type %s = %q (internal/hns/%s:%d) is not in v1PolicyTypes", n, c.value, c.file, c.line)
		}
	}
}

// TestContractSupportedFeaturesJSON checks Profile.SupportedFeatures against
// the JSON keys of hcsshim's SupportedFeatures, through encoding.
func TestContractSupportedFeaturesJSON(t *testing.T) {
	b, err := json.Marshal(WS2019.SupportedFeatures())
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for f := Feature(0); f < numFeatures; f++ {
		name := f.String()
		var v any = m
		for _, part := range strings.Split(name, ".") {
			v = v.(map[string]any)[part]
		}
		if v != WS2019.Supports(f) {
			t.Errorf("SupportedFeatures JSON %s = %v, Supports(%s) = %t", name, v, name, WS2019.Supports(f))
		}
	}
}
