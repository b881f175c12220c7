package hns

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"unicode/utf16"
)

// ImportDump reads JSON dumps of HNS objects and converts them to v2
// Objects. It accepts, in any mix:
//
//   - v1 objects as Get-HnsNetwork, Get-HnsEndpoint and Get-HnsPolicyList
//     print them with ConvertTo-Json (HNSNetwork, HNSEndpoint, PolicyList);
//   - v2 objects from HCN queries (HostComputeNetwork, HostComputeEndpoint,
//     HostComputeLoadBalancer, HostComputeNamespace, HostComputeRoute);
//   - a single object, an array, several JSON values one after another, an
//     HNS response envelope {"Success":true,"Output":...}, or an Objects
//     bundle {"Networks":[...],"Endpoints":[...],...,"PolicyLists":[...]};
//   - UTF-8 with or without a byte-order mark, and UTF-16 (what Windows
//     PowerShell 5.1's "> file" writes);
//   - values that ConvertTo-Json cut off at its default -Depth 2, such as
//     "@{Type=VLAN; VLAN=1}", which are parsed back (with a warning).
//
// Whether an object is v1 or v2, and what kind, is detected from its keys
// (e.g. VirtualNetwork or IPAddress: a v1 endpoint; Ipams: a v2 network;
// References: a v1 policy list). v1 objects are converted: subnets and
// gateways to Ipams and default routes, NAT policies to PortMapping, ACL to
// ACL, OutBoundNAT ExceptionList to Exceptions, ROUTE to SDNRoute, PA to
// ProviderAddress, PROXY to L4Proxy, ManagementIP and DrMacAddress to
// ProviderAddress and DrMacAddress network policies, IsRemoteEndpoint to
// the RemoteEndpoint flag, policy lists' ELB policies to load balancers and
// their ROUTE policies to SDN routes, an endpoint's Namespace to a
// namespace object. The result is normalized (Objects.Normalize).
//
// Warnings list what was ignored or guessed: keys no type models, v1
// policies without a v2 equivalent, duplicates, normalization problems.
// The error lists every item that could not be decoded, with its line.
func ImportDump(data []byte) (*Objects, []string, error) {
	items, err := SplitDump(data)
	if err != nil {
		return nil, nil, err
	}
	return ImportObjects(items)
}

// RawObject is one JSON object of a dump: an HNS object to convert.
type RawObject struct {
	// JSON is the object.
	JSON json.RawMessage
	// Line is the 1-based line of the input file where the object starts;
	// messages about it name this line.
	Line int
	// Kind is "network", "endpoint", "loadbalancer", "namespace", "route" or
	// "policylist" when the caller knows it (e.g. from a bundle key), or ""
	// to tell it from the object's keys.
	Kind string
}

// SplitDump decodes data as text (UTF-8, or UTF-16 with or without a
// byte-order mark, see DecodeText) and splits it into the HNS objects it
// holds, with their lines: the values of a stream of JSON values, the
// elements of an array, the Output of an HNS response envelope, the lists
// of an Objects bundle.
func SplitDump(data []byte) ([]RawObject, error) {
	items, err := splitItems(DecodeText(data))
	if err != nil {
		return nil, fmt.Errorf("hns: import: %w", err)
	}
	return items, nil
}

// ImportObjects converts objects (from SplitDump, or from a reader of
// another format that produced v1 or v2 JSON objects) the way ImportDump
// does.
func ImportObjects(items []RawObject) (*Objects, []string, error) {
	im := &importer{o: &Objects{}}
	for i, it := range items {
		im.item(i+1, it)
	}
	if len(im.errs) > 0 {
		return nil, im.warnings, fmt.Errorf("hns: import: %w", errors.Join(im.errs...))
	}
	if len(items) == 0 || im.count == 0 {
		return nil, im.warnings, errors.New("hns: import: no HNS objects found")
	}
	if err := im.o.Normalize(); err != nil {
		var ve *ValidationError
		if errors.As(err, &ve) {
			for _, p := range ve.Problems {
				im.warnings = append(im.warnings, "normalize: "+p.Error())
			}
		}
	}
	return im.o, im.warnings, nil
}

// DecodeText returns data as UTF-8, removing a UTF-8 byte-order mark and
// converting UTF-16 (with a BOM, or recognisable by NUL bytes), which is
// what Windows PowerShell 5.1's "> file" and Out-File write.
func DecodeText(data []byte) []byte {
	switch {
	case bytes.HasPrefix(data, []byte{0xEF, 0xBB, 0xBF}):
		return data[3:]
	case bytes.HasPrefix(data, []byte{0xFF, 0xFE}):
		return utf16ToUTF8(data[2:], false)
	case bytes.HasPrefix(data, []byte{0xFE, 0xFF}):
		return utf16ToUTF8(data[2:], true)
	case len(data) >= 4 && data[0] != 0 && data[1] == 0 && data[3] == 0:
		return utf16ToUTF8(data, false)
	case len(data) >= 4 && data[0] == 0 && data[1] != 0 && data[2] == 0:
		return utf16ToUTF8(data, true)
	}
	return data
}

func utf16ToUTF8(b []byte, bigEndian bool) []byte {
	u := make([]uint16, len(b)/2)
	for i := range u {
		if bigEndian {
			u[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
		} else {
			u[i] = uint16(b[2*i+1])<<8 | uint16(b[2*i])
		}
	}
	return []byte(string(utf16.Decode(u)))
}

// lineOf returns the 1-based line of byte offset off in text.
func lineOf(text []byte, off int) int {
	if off > len(text) {
		off = len(text)
	}
	return bytes.Count(text[:off], []byte{'\n'}) + 1
}

// skipSpace returns the offset of the first byte at or after off that is
// neither JSON white space nor a comma.
func skipSpace(text []byte, off int) int {
	for off < len(text) {
		switch text[off] {
		case ' ', '\t', '\r', '\n', ',':
			off++
		default:
			return off
		}
	}
	return off
}

// syntaxError restates a decoding error with its line.
func syntaxError(text []byte, start int, err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("line %d: %s", lineOf(text, int(se.Offset)), strings.TrimPrefix(se.Error(), "json: "))
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return fmt.Errorf("line %d: unexpected end of input", lineOf(text, len(text)))
	}
	return fmt.Errorf("line %d: %w", lineOf(text, start), err)
}

// splitItems splits text into objects: each value of a stream of JSON
// values; each element of a top-level array; the Output of an HNS response
// envelope; each element of the lists of a bundle.
func splitItems(text []byte) ([]RawObject, error) {
	dec := json.NewDecoder(bytes.NewReader(text))
	var items []RawObject
	// Offsets only grow: count lines from the last one asked for.
	lastOff, lastLine := 0, 1
	lineOf := func(text []byte, off int) int {
		if off < lastOff {
			return lineOf(text, off)
		}
		if off > len(text) {
			off = len(text)
		}
		lastLine += bytes.Count(text[lastOff:off], []byte{'\n'})
		lastOff = off
		return lastLine
	}
	for {
		start := skipSpace(text, int(dec.InputOffset()))
		if start >= len(text) {
			return items, nil
		}
		if text[start] == '[' {
			if _, err := dec.Token(); err != nil {
				return nil, syntaxError(text, start, err)
			}
			for dec.More() {
				s := skipSpace(text, int(dec.InputOffset()))
				var r json.RawMessage
				if err := dec.Decode(&r); err != nil {
					return nil, syntaxError(text, s, err)
				}
				more, err := expandItem(r, lineOf(text, s), "")
				if err != nil {
					return nil, err
				}
				items = append(items, more...)
			}
			if _, err := dec.Token(); err != nil {
				return nil, syntaxError(text, int(dec.InputOffset()), err)
			}
			continue
		}
		var r json.RawMessage
		if err := dec.Decode(&r); err != nil {
			return nil, syntaxError(text, start, err)
		}
		more, err := expandItem(r, lineOf(text, start), "")
		if err != nil {
			return nil, err
		}
		items = append(items, more...)
	}
}

// bundleKeys maps the keys of an Objects bundle to the kind of their items.
var bundleKeys = map[string]string{
	"networks": KindNetwork, "endpoints": KindEndpoint, "loadbalancers": KindLoadBalancer,
	"namespaces": KindNamespace, "routes": KindRoute, "policylists": "policylist",
}

// expandItem unwraps envelopes, bundles and nested arrays.
func expandItem(r json.RawMessage, line int, hint string) ([]RawObject, error) {
	r = bytes.TrimSpace(r)
	if len(r) == 0 {
		return nil, nil
	}
	switch r[0] {
	case '[':
		var arr []json.RawMessage
		if err := json.Unmarshal(r, &arr); err != nil {
			return nil, fmt.Errorf("line %d: %w", line, jsonErrorText(err))
		}
		var out []RawObject
		for _, el := range arr {
			more, err := expandItem(el, line, hint)
			if err != nil {
				return nil, err
			}
			out = append(out, more...)
		}
		return out, nil
	case '{':
	default:
		if string(r) == "null" {
			return nil, nil
		}
		return nil, fmt.Errorf("line %d: expected a JSON object or array, found %.20s", line, r)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(r, &obj); err != nil {
		return nil, fmt.Errorf("line %d: %w", line, jsonErrorText(err))
	}
	if out, ok := getKey(obj, "Output"); ok && hasKey(obj, "Success") {
		var success bool
		s, _ := getKey(obj, "Success")
		_ = json.Unmarshal(s, &success)
		if !success {
			msg, _ := getKey(obj, "Error")
			return nil, fmt.Errorf("line %d: HNS response reports failure: %s", line, msg)
		}
		return expandItem(out, line, hint)
	}
	if hint == "" && len(obj) > 0 {
		bundle := true
		for k := range obj {
			if _, ok := bundleKeys[strings.ToLower(k)]; !ok {
				bundle = false
				break
			}
		}
		if bundle {
			keys := make([]string, 0, len(obj))
			for k := range obj {
				keys = append(keys, k)
			}
			sort.Slice(keys, func(i, j int) bool { return bundleOrder(keys[i]) < bundleOrder(keys[j]) })
			var items []RawObject
			for _, k := range keys {
				more, err := expandItem(obj[k], line, bundleKeys[strings.ToLower(k)])
				if err != nil {
					return nil, err
				}
				items = append(items, more...)
			}
			return items, nil
		}
	}
	return []RawObject{{JSON: r, Line: line, Kind: hint}}, nil
}

// bundleOrder sorts bundle lists so that networks come before the
// endpoints that refer to them.
func bundleOrder(k string) int {
	switch strings.ToLower(k) {
	case "networks":
		return 0
	case "endpoints":
		return 1
	case "namespaces":
		return 2
	case "loadbalancers":
		return 3
	case "routes":
		return 4
	}
	return 5
}

func getKey(obj map[string]json.RawMessage, key string) (json.RawMessage, bool) {
	if v, ok := obj[key]; ok {
		return v, true
	}
	for k, v := range obj {
		if strings.EqualFold(k, key) {
			return v, true
		}
	}
	return nil, false
}

func hasKey(obj map[string]json.RawMessage, keys ...string) bool {
	for _, k := range keys {
		if _, ok := getKey(obj, k); ok {
			return true
		}
	}
	return false
}

func stringKey(obj map[string]json.RawMessage, key string) string {
	v, _ := getKey(obj, key)
	var s string
	_ = json.Unmarshal(v, &s)
	return s
}

// importer accumulates converted objects.
type importer struct {
	o        *Objects
	warnings []string
	errs     []error
	count    int
	// ids indexes the objects added so far by kind and canonical ID (the
	// index in its list), so that a dump of many objects is not quadratic.
	ids map[string]int
}

// idKey returns the key of an object in importer.ids.
func idKey(kind, id string) string {
	if g, ok := canonicalGUID(id); ok {
		return kind + "/" + g
	}
	return kind + "/" + strings.ToUpper(strings.TrimSpace(id))
}

// index returns the index of the object of kind with id, if added.
func (im *importer) index(kind, id string) (int, bool) {
	i, ok := im.ids[idKey(kind, id)]
	return i, ok
}

func (im *importer) remember(kind, id string, i int) {
	if im.ids == nil {
		im.ids = map[string]int{}
	}
	im.ids[idKey(kind, id)] = i
}

func (im *importer) warnf(at, format string, args ...any) {
	im.warnings = append(im.warnings, at+": "+fmt.Sprintf(format, args...))
}

// v2Housekeeping lists top-level keys of v2 query results that every HCN
// object may carry (HNS_Schema.md "Base") and that we ignore quietly.
var v2Housekeeping = map[string]bool{"activityid": true, "owner": true, "version": true, "additionalparams": true, "telemetry": true, "state": true}

// item classifies and converts one object.
func (im *importer) item(n int, it RawObject) {
	raw, psWarn := fixPowerShellDepth(it.JSON)
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		im.errs = append(im.errs, fmt.Errorf("item %d (line %d): %w", n, it.Line, jsonErrorText(err)))
		return
	}
	kind, v1 := classify(obj, it.Kind)
	name := stringKey(obj, "Name")
	if name == "" {
		name = stringKey(obj, "ID")
	}
	ver := "v2"
	if v1 {
		ver = "v1"
	}
	at := fmt.Sprintf("item %d (line %d, %s %s %q)", n, it.Line, ver, kind, name)
	for _, w := range psWarn {
		im.warnf(at, "%s", w)
	}
	decode := func(v any) bool {
		if err := json.Unmarshal(raw, v); err != nil {
			im.errs = append(im.errs, fmt.Errorf("%s: %w", at, jsonErrorText(err)))
			return false
		}
		for _, u := range UnknownFields(raw, v) {
			if !v1 && v2Housekeeping[strings.ToLower(u)] {
				continue
			}
			im.warnf(at, "ignoring unknown field %s", u)
		}
		return true
	}
	switch {
	case kind == "":
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		im.warnf(fmt.Sprintf("item %d (line %d)", n, it.Line), "skipped: not a recognisable HNS object (keys: %s)", strings.Join(keys, ", "))
	case kind == KindNetwork && v1:
		var h HNSNetwork
		if decode(&h) {
			im.v1Network(at, h)
		}
	case kind == KindNetwork:
		var x HostComputeNetwork
		if decode(&x) {
			im.addNetwork(at, x)
		}
	case kind == KindEndpoint && v1:
		var h HNSEndpoint
		if decode(&h) {
			im.v1Endpoint(at, h)
		}
	case kind == KindEndpoint:
		var x HostComputeEndpoint
		if decode(&x) {
			im.addEndpoint(at, x)
		}
	case kind == "policylist":
		var h PolicyList
		if decode(&h) {
			im.v1PolicyList(at, h)
		}
	case kind == KindLoadBalancer:
		var x HostComputeLoadBalancer
		if decode(&x) {
			im.addLoadBalancer(at, x)
		}
	case kind == KindRoute:
		var x HostComputeRoute
		if decode(&x) {
			im.addRoute(at, x)
		}
	case kind == KindNamespace:
		var x HostComputeNamespace
		if decode(&x) {
			im.addNamespace(at, x)
		}
	}
}

// classify tells the kind of an object and whether it is v1 from its keys;
// hint is the bundle list it came from, if any.
func classify(obj map[string]json.RawMessage, hint string) (kind string, v1 bool) {
	schemaMajor := -1
	if sv, ok := getKey(obj, "SchemaVersion"); ok {
		var v Version
		if json.Unmarshal(sv, &v) == nil {
			schemaMajor = v.Major
		}
	}
	switch {
	case hasKey(obj, "References"):
		return "policylist", true
	case hasKey(obj, "HostComputeEndpoints") && hasKey(obj, "Setting", "Routes"):
		return KindRoute, false
	case hasKey(obj, "HostComputeEndpoints", "PortMappings", "FrontendVIPs", "SourceVIP"):
		return KindLoadBalancer, false
	case hasKey(obj, "NamespaceId") || isNamespaceType(stringKey(obj, "Type")):
		return KindNamespace, false
	case hasKey(obj, "HostComputeNetwork", "IpConfigurations"):
		return KindEndpoint, false
	case hasKey(obj, "VirtualNetwork", "VirtualNetworkName", "IPAddress", "IsRemoteEndpoint", "GatewayAddress", "PrefixLength", "IPv6Address"):
		return KindEndpoint, true
	case hasKey(obj, "Ipams", "MacPool"):
		return KindNetwork, false
	case hasKey(obj, "Subnets", "MacPools", "NetworkAdapterName", "ManagementIP", "NatName", "Extensions", "SourceMac", "DrMacAddress", "LayeredOn", "DNSServerList"):
		return KindNetwork, true
	}
	switch hint {
	case KindNetwork, KindEndpoint:
		return hint, schemaMajor == 1
	case KindLoadBalancer, KindRoute, KindNamespace:
		return hint, false
	case "policylist":
		return hint, true
	}
	if t := stringKey(obj, "Type"); t != "" && canonicalNetworkType(NetworkType(t)).Known() {
		return KindNetwork, schemaMajor == 1
	}
	return "", false
}

func isNamespaceType(t string) bool {
	switch NamespaceType(t) {
	case NamespaceTypeHost, NamespaceTypeHostDefault, NamespaceTypeGuest, NamespaceTypeGuestDefault:
		return true
	}
	return false
}

/// Adding objects, skipping duplicates.

// addUnique appends v to *list unless an object with its (non-empty) ID is
// there already, which is reported as skipped.
func addUnique[T any](im *importer, at, kind string, list *[]T, v T, id func(*T) string) {
	if vid := id(&v); vid != "" {
		if _, dup := im.index(kind, vid); dup {
			im.warnf(at, "skipped: %s %s appears twice", kind, vid)
			return
		}
		im.remember(kind, vid, len(*list))
	}
	*list = append(*list, v)
	im.count++
}

func (im *importer) addNetwork(at string, n HostComputeNetwork) {
	addUnique(im, at, "network", &im.o.Networks, n, func(x *HostComputeNetwork) string { return x.Id })
}

func (im *importer) addEndpoint(at string, e HostComputeEndpoint) {
	addUnique(im, at, "endpoint", &im.o.Endpoints, e, func(x *HostComputeEndpoint) string { return x.Id })
}

func (im *importer) addLoadBalancer(at string, lb HostComputeLoadBalancer) {
	addUnique(im, at, "load balancer", &im.o.LoadBalancers, lb, func(x *HostComputeLoadBalancer) string { return x.Id })
}

func (im *importer) addRoute(at string, r HostComputeRoute) {
	addUnique(im, at, "route", &im.o.Routes, r, func(x *HostComputeRoute) string { return x.ID })
}

func (im *importer) addNamespace(at string, ns HostComputeNamespace) {
	if i, ok := im.index(KindNamespace, ns.Id); ok && ns.Id != "" {
		{
			// A namespace made up from a v1 endpoint may be dumped too: merge.
			merged := &im.o.Namespaces[i]
			merged.Resources = append(merged.Resources, ns.Resources...)
			if merged.NamespaceId == 0 {
				merged.NamespaceId = ns.NamespaceId
			}
			if ns.Type != "" {
				merged.Type = ns.Type
			}
			return
		}
	}
	if ns.Id != "" {
		im.remember(KindNamespace, ns.Id, len(im.o.Namespaces))
	}
	im.o.Namespaces = append(im.o.Namespaces, ns)
	im.count++
}

/// v1 conversion.

func mustSettings(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic("hns: marshal settings: " + err.Error()) // only our own structs reach here
	}
	return b
}

func defaultRoute(gw string) string {
	if a, err := netip.ParseAddr(gw); err == nil && a.Is6() {
		return "::/0"
	}
	return "0.0.0.0/0"
}

func splitComma(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// v1Policy is the Type and, for policies already in v2 shape, Settings.
type v1Policy struct {
	Type     string
	Settings json.RawMessage
}

func (im *importer) v1Network(at string, h HNSNetwork) {
	n := HostComputeNetwork{
		Id:            h.Id,
		Name:          h.Name,
		Type:          canonicalNetworkType(NetworkType(h.Type)),
		Flags:         h.Flags,
		SchemaVersion: V2SchemaVersion(),
	}
	if n.Type == "" {
		n.Type = NAT
	}
	for _, m := range h.MacPools {
		n.MacPool.Ranges = append(n.MacPool.Ranges, MacRange(m))
	}
	n.Dns.Domain = h.DNSSuffix
	n.Dns.ServerList = splitComma(h.DNSServerList)
	// Network-wide v1 VLAN/VSID policies become subnet policies, the only
	// place v2 has them.
	var subnetWide []json.RawMessage
	for k, raw := range h.Policies {
		var p v1Policy
		if err := json.Unmarshal(raw, &p); err != nil {
			im.warnf(at, "Policies[%d]: skipped: %v", k, jsonErrorText(err))
			continue
		}
		if p.Settings != nil && NetworkPolicyType(p.Type).Known() {
			n.Policies = append(n.Policies, NetworkPolicy{Type: canonicalName(NetworkPolicyType(p.Type), networkPolicyTypes), Settings: p.Settings})
			continue
		}
		switch canonicalName(V1PolicyType(p.Type), v1PolicyTypes) {
		case V1VLAN, V1VSID:
			if sp, ok := im.v1SubnetPolicy(at, fmt.Sprintf("Policies[%d]", k), raw); ok {
				subnetWide = append(subnetWide, sp)
			}
		default:
			if t := canonicalName(NetworkPolicyType(p.Type), networkPolicyTypes); t.Known() {
				n.Policies = append(n.Policies, NetworkPolicy{Type: t, Settings: stripType(raw)})
				continue
			}
			im.warnf(at, "Policies[%d]: skipped: v1 network policy type %q has no v2 equivalent", k, p.Type)
		}
	}
	if len(h.Subnets) > 0 {
		ipam := Ipam{Type: "Static"}
		for b, s := range h.Subnets {
			sub := Subnet{IpAddressPrefix: s.AddressPrefix}
			for _, x := range s.IpSubnets {
				sub.IpSubnets = append(sub.IpSubnets, IpSubnet{ID: x.ID, IpAddressPrefix: x.IpAddressPrefix, Flags: x.Flags})
			}
			if s.GatewayAddress != "" {
				sub.Routes = []Route{{NextHop: s.GatewayAddress, DestinationPrefix: defaultRoute(s.GatewayAddress)}}
			}
			have := map[string]bool{}
			for k, raw := range s.Policies {
				if sp, ok := im.v1SubnetPolicy(at, fmt.Sprintf("Subnets[%d].Policies[%d]", b, k), raw); ok {
					sub.Policies = append(sub.Policies, sp)
					var p SubnetPolicy
					_ = json.Unmarshal(sp, &p)
					have[string(p.Type)] = true
				}
			}
			for _, sp := range subnetWide {
				var p SubnetPolicy
				_ = json.Unmarshal(sp, &p)
				if !have[string(p.Type)] {
					sub.Policies = append(sub.Policies, sp)
				}
			}
			ipam.Subnets = append(ipam.Subnets, sub)
		}
		n.Ipams = []Ipam{ipam}
	} else if len(subnetWide) > 0 {
		im.warnf(at, "network-wide VLAN/VSID policy skipped: the network has no subnets to carry it")
	}
	addPolicy := func(t NetworkPolicyType, s any) {
		n.Policies = append(n.Policies, NetworkPolicy{Type: t, Settings: mustSettings(s)})
	}
	if h.NetworkAdapterName != "" {
		addPolicy(NetAdapterName, NetAdapterNameNetworkPolicySetting{NetworkAdapterName: h.NetworkAdapterName})
	}
	if h.SourceMac != "" {
		addPolicy(SourceMacAddress, SourceMacAddressNetworkPolicySetting{SourceMacAddress: h.SourceMac})
	}
	if h.ManagementIP != "" {
		addPolicy(ProviderAddress, ProviderAddressNetworkPolicySetting{ProviderAddress: h.ManagementIP})
	}
	if h.DrMacAddress != "" {
		addPolicy(DrMacAddress, DrMacAddressNetworkPolicySetting{Address: h.DrMacAddress})
	}
	if h.AutomaticDNS {
		addPolicy(AutomaticDNS, AutomaticDNSNetworkPolicySetting{Enable: true})
	}
	for _, x := range h.Extensions {
		addPolicy(VSwitchExtension, VSwitchExtensionNetworkPolicySetting{ExtensionID: x.Id, Enable: x.IsEnabled})
	}
	n.Health.Extra.Resources = h.Resources
	n.Health.Extra.LayeredOn = h.LayeredOn
	n.Health.Extra.SwitchGuid = h.SwitchGuid
	if len(h.Health) > 0 {
		_ = json.Unmarshal(h.Health, &n.Health.Data)
	}
	if h.DNSServerCompartment != 0 {
		im.warnf(at, "DNSServerCompartment %d has no v2 field; ignored", h.DNSServerCompartment)
	}
	im.addNetwork(at, n)
}

// stripType returns the JSON object raw without its "Type" key, or nil
// when nothing else is left.
func stripType(raw json.RawMessage) json.RawMessage {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return nil
	}
	for k := range m {
		if strings.EqualFold(k, "Type") {
			delete(m, k)
		}
	}
	if len(m) == 0 {
		return nil
	}
	b, _ := json.Marshal(m)
	return b
}

// v1SubnetPolicy converts {"Type":"VSID","VSID":9999} (or VLAN) to a v2
// subnet policy envelope; a v2-shaped policy is kept.
func (im *importer) v1SubnetPolicy(at, path string, raw json.RawMessage) (json.RawMessage, bool) {
	var p v1Policy
	if err := json.Unmarshal(raw, &p); err != nil {
		im.warnf(at, "%s: skipped: %v", path, jsonErrorText(err))
		return nil, false
	}
	if p.Settings != nil {
		return raw, true
	}
	switch canonicalName(V1PolicyType(p.Type), v1PolicyTypes) {
	case V1VSID:
		var v VsidPolicy
		if err := json.Unmarshal(raw, &v); err != nil {
			im.warnf(at, "%s: skipped: %v", path, jsonErrorText(err))
			return nil, false
		}
		return mustSettings(SubnetPolicy{Type: VSID, Settings: mustSettings(VsidPolicySetting{IsolationId: uint32(v.VSID)})}), true
	case V1VLAN:
		var v VlanPolicy
		if err := json.Unmarshal(raw, &v); err != nil {
			im.warnf(at, "%s: skipped: %v", path, jsonErrorText(err))
			return nil, false
		}
		return mustSettings(SubnetPolicy{Type: VLAN, Settings: mustSettings(VlanPolicySetting{IsolationId: uint32(v.VLAN)})}), true
	}
	im.warnf(at, "%s: skipped: v1 subnet policy type %q has no v2 equivalent", path, p.Type)
	return nil, false
}

func (im *importer) v1Endpoint(at string, h HNSEndpoint) {
	e := HostComputeEndpoint{
		Id:                 h.Id,
		Name:               h.Name,
		HostComputeNetwork: h.VirtualNetwork,
		MacAddress:         h.MacAddress,
		SchemaVersion:      V2SchemaVersion(),
	}
	if e.HostComputeNetwork == "" {
		e.HostComputeNetwork = h.VirtualNetworkName // a name reference; Normalize resolves it
	}
	if h.IPAddress != "" {
		e.IpConfigurations = append(e.IpConfigurations, IpConfig{IpAddress: h.IPAddress, PrefixLength: h.PrefixLength, IpSubnetId: h.IPSubnetId})
	}
	if h.IPv6Address != "" {
		e.IpConfigurations = append(e.IpConfigurations, IpConfig{IpAddress: h.IPv6Address, PrefixLength: h.IPv6PrefixLength})
	}
	if h.GatewayAddress != "" {
		e.Routes = append(e.Routes, Route{NextHop: h.GatewayAddress, DestinationPrefix: defaultRoute(h.GatewayAddress)})
	}
	if h.GatewayAddressV6 != "" {
		e.Routes = append(e.Routes, Route{NextHop: h.GatewayAddressV6, DestinationPrefix: "::/0"})
	}
	e.Dns.Domain = h.DNSDomain
	e.Dns.Search = splitComma(h.DNSSuffix)
	e.Dns.ServerList = splitComma(h.DNSServerList)
	if h.IsRemoteEndpoint {
		e.Flags |= EndpointFlagsRemoteEndpoint
	}
	if h.DisableICC {
		e.Flags |= EndpointFlagsDisableICC
	}
	if h.EnableLowMetric {
		e.Flags |= EndpointFlagsEnableLowInterfaceMetric
	}
	if h.EnableInternalDNS {
		// Microsoft's hns.v2.psm1 New-HnsEndpoint maps its -UseInternalDns
		// switch to this flag.
		e.Flags |= EndpointFlagsOverrideDNSServerOrder
	}
	hasEncap := false
	for k, raw := range h.Policies {
		if p, ok := im.v1EndpointPolicy(at, fmt.Sprintf("Policies[%d]", k), raw); ok {
			if p.Type == EncapOverhead {
				hasEncap = true
			}
			e.Policies = append(e.Policies, p)
		}
	}
	if h.EncapOverhead != 0 && !hasEncap {
		e.Policies = append(e.Policies, EndpointPolicy{Type: EncapOverhead, Settings: mustSettings(EncapOverheadEndpointPolicySetting{Overhead: h.EncapOverhead})})
	}
	e.Health.Extra.Resources = h.Resources
	e.Health.Extra.SharedContainers = h.SharedContainers
	if len(h.Health) > 0 {
		_ = json.Unmarshal(h.Health, &e.Health.Data)
	}
	if h.Namespace != nil && h.Namespace.ID != "" {
		e.HostComputeNamespace = h.Namespace.ID
		t := NamespaceTypeHost
		if h.Namespace.IsDefault {
			t = NamespaceTypeHostDefault
		}
		im.addNamespace(at, HostComputeNamespace{Id: h.Namespace.ID, NamespaceId: h.Namespace.CompartmentId, Type: t, SchemaVersion: V2SchemaVersion()})
	}
	im.addEndpoint(at, e)
}

// v1EndpointPolicy converts one v1 endpoint policy.
func (im *importer) v1EndpointPolicy(at, path string, raw json.RawMessage) (EndpointPolicy, bool) {
	var p v1Policy
	if err := json.Unmarshal(raw, &p); err != nil {
		im.warnf(at, "%s: skipped: %v", path, jsonErrorText(err))
		return EndpointPolicy{}, false
	}
	if t := canonicalName(EndpointPolicyType(p.Type), endpointPolicyTypes); p.Settings != nil && t.Known() {
		return EndpointPolicy{Type: t, Settings: p.Settings}, true // already v2
	}
	dec := func(v any) bool {
		if err := json.Unmarshal(raw, v); err != nil {
			im.warnf(at, "%s (%s): skipped: %v", path, p.Type, jsonErrorText(err))
			return false
		}
		return true
	}
	out := func(t EndpointPolicyType, s any) (EndpointPolicy, bool) {
		return EndpointPolicy{Type: t, Settings: mustSettings(s)}, true
	}
	switch canonicalName(V1PolicyType(p.Type), v1PolicyTypes) {
	case V1NAT:
		var v NatPolicy
		if !dec(&v) {
			break
		}
		s := PortMappingPolicySetting{Protocol: uint32(v.Protocol), InternalPort: v.InternalPort, ExternalPort: v.ExternalPort}
		if v.ExternalPortReserved {
			s.Flags |= NatFlagsExternalPortReserved
		}
		return out(PortMapping, s)
	case V1ACL:
		var v ACLPolicy
		if !dec(&v) {
			break
		}
		s := AclPolicySetting{
			Id: v.Id, Protocols: v.Protocols, Action: v.Action, Direction: v.Direction,
			LocalAddresses: v.LocalAddresses, RemoteAddresses: v.RemoteAddresses,
			LocalPorts: v.LocalPorts, RemotePorts: v.RemotePorts, RuleType: v.RuleType, Priority: v.Priority,
		}
		if s.Protocols == "" && v.Protocol != 0 {
			s.Protocols = strconv.Itoa(int(v.Protocol)) // 256 (any) stays "256"
		}
		if s.LocalPorts == "" && v.LocalPort != 0 {
			s.LocalPorts = strconv.Itoa(int(v.LocalPort))
		}
		if s.RemotePorts == "" && v.RemotePort != 0 {
			s.RemotePorts = strconv.Itoa(int(v.RemotePort))
		}
		if v.InternalPort != 0 {
			im.warnf(at, "%s (ACL): InternalPort %d has no v2 field; ignored", path, v.InternalPort)
		}
		if v.ServiceName != "" {
			im.warnf(at, "%s (ACL): ServiceName %q has no v2 field; ignored", path, v.ServiceName)
		}
		return out(ACL, s)
	case V1PA:
		var v PaPolicy
		if !dec(&v) {
			break
		}
		return out(NetworkProviderAddress, ProviderAddressEndpointPolicySetting{ProviderAddress: v.PA})
	case V1OutBoundNAT:
		var v OutboundNatPolicy
		if !dec(&v) {
			break
		}
		return out(OutBoundNAT, OutboundNatPolicySetting{VirtualIP: v.VIP, Exceptions: v.Exceptions, Destinations: v.Destinations, MaxPortPoolUsage: v.MaxPortPoolUsage})
	case V1ROUTE:
		var v RoutePolicy
		if !dec(&v) {
			break
		}
		return out(SDNRoute, SDNRoutePolicySetting{DestinationPrefix: v.DestinationPrefix, NextHop: v.NextHop, NeedEncap: v.EncapEnabled})
	case V1PROXY:
		var v ProxyPolicy
		if !dec(&v) {
			break
		}
		return out(L4Proxy, L4ProxyPolicySetting{IP: v.IP, Port: v.Port, Exceptions: v.ExceptionList, Destination: v.Destination, OutboundNAT: v.OutboundNat})
	case V1QOS:
		var v QosPolicy
		if !dec(&v) {
			break
		}
		return out(QOS, QosPolicySetting{MaximumOutgoingBandwidthInBytes: v.MaximumOutgoingBandwidthInBytes})
	case V1L2Driver:
		return EndpointPolicy{Type: L2Driver, Settings: stripType(raw)}, true
	case V1VLAN:
		var v VlanPolicy
		if !dec(&v) {
			break
		}
		return out(EndpointVLAN, VlanPolicySetting{IsolationId: uint32(v.VLAN)})
	case V1Isolation:
		var v IsolationPolicy
		if !dec(&v) {
			break
		}
		if v.VSID != 0 {
			im.warnf(at, "%s (Isolation): VSID %d on an endpoint has no v2 equivalent; ignored", path, v.VSID)
		}
		if v.VLAN != 0 {
			return out(EndpointVLAN, VlanPolicySetting{IsolationId: uint32(v.VLAN)})
		}
	case V1VSID, V1VNET:
		im.warnf(at, "%s: skipped: v1 endpoint policy %s has no v2 equivalent", path, p.Type)
	case V1ELB:
		im.warnf(at, "%s: skipped: an ELB policy belongs in a policy list, not on an endpoint", path)
	default:
		if t := canonicalName(EndpointPolicyType(p.Type), endpointPolicyTypes); t.Known() {
			return EndpointPolicy{Type: t, Settings: stripType(raw)}, true
		}
		// Kept, so that Validate reports it as HNS would (invalid policy type).
		im.warnf(at, "%s: unknown policy type %q kept as is", path, p.Type)
		return EndpointPolicy{Type: EndpointPolicyType(p.Type), Settings: stripType(raw)}, true
	}
	return EndpointPolicy{}, false
}

func (im *importer) v1PolicyList(at string, h PolicyList) {
	var refs []string
	for _, r := range h.EndpointReferences {
		r = strings.TrimSpace(r)
		if i := strings.LastIndex(r, "/"); i >= 0 {
			r = r[i+1:]
		}
		refs = append(refs, r)
	}
	idFor := func(k int) string {
		if k == 0 || h.ID == "" {
			return h.ID
		}
		return NameGUID("policylist", h.ID+"#"+strconv.Itoa(k))
	}
	made := 0
	var route *HostComputeRoute
	for k, raw := range h.Policies {
		path := fmt.Sprintf("Policies[%d]", k)
		var p v1Policy
		if err := json.Unmarshal(raw, &p); err != nil {
			im.warnf(at, "%s: skipped: %v", path, jsonErrorText(err))
			continue
		}
		switch canonicalName(V1PolicyType(p.Type), v1PolicyTypes) {
		case V1ELB:
			var v ELBPolicy
			if err := json.Unmarshal(raw, &v); err != nil {
				im.warnf(at, "%s (ELB): skipped: %v", path, jsonErrorText(err))
				continue
			}
			lb := HostComputeLoadBalancer{
				Id:                   idFor(made),
				HostComputeEndpoints: append([]string(nil), refs...),
				SourceVIP:            v.SourceVIP,
				SchemaVersion:        V2SchemaVersion(),
			}
			made++
			for _, vip := range v.VIPs {
				if vip = strings.TrimSpace(vip); vip != "" {
					lb.FrontendVIPs = append(lb.FrontendVIPs, vip)
					if a, err := netip.ParseAddr(vip); err == nil && a.Is6() {
						lb.Flags |= LoadBalancerFlagsIPv6
					}
				}
			}
			if v.DSR {
				lb.Flags |= LoadBalancerFlagsDSR
			}
			pm := LoadBalancerPortMapping{Protocol: uint32(v.Protocol), InternalPort: v.InternalPort, ExternalPort: v.ExternalPort}
			if pm.Protocol == 0 {
				// Microsoft's own hns.psm1 New-HnsLoadBalancer sends no
				// Protocol; we assume TCP [I].
				pm.Protocol = uint32(ProtocolTypeTCP)
				im.warnf(at, "%s (ELB): no Protocol; assuming TCP", path)
			}
			if v.ILB {
				pm.Flags |= LoadBalancerPortMappingFlagsILB
			}
			if v.LocalRoutedVip {
				pm.Flags |= LoadBalancerPortMappingFlagsLocalRoutedVIP
			}
			if v.IsVipExternalIp {
				pm.Flags |= LoadBalancerPortMappingFlagsVipExternalIP
			}
			lb.PortMappings = []LoadBalancerPortMapping{pm}
			im.addLoadBalancer(at, lb)
		case V1ROUTE:
			var v RoutePolicy
			if err := json.Unmarshal(raw, &v); err != nil {
				im.warnf(at, "%s (ROUTE): skipped: %v", path, jsonErrorText(err))
				continue
			}
			if route == nil {
				route = &HostComputeRoute{ID: idFor(made), HostComputeEndpoints: append([]string(nil), refs...), SchemaVersion: V2SchemaVersion()}
				made++
			}
			route.Setting = append(route.Setting, SDNRoutePolicySetting{DestinationPrefix: v.DestinationPrefix, NextHop: v.NextHop, NeedEncap: v.EncapEnabled})
		default:
			im.warnf(at, "%s: skipped: policy type %q in a policy list (only ELB and ROUTE are converted)", path, p.Type)
		}
	}
	if route != nil {
		im.addRoute(at, *route)
	}
	if made == 0 {
		im.warnf(at, "policy list has no ELB or ROUTE policy; nothing imported")
	}
}

/// PowerShell ConvertTo-Json depth truncation.

// fixPowerShellDepth replaces strings that ConvertTo-Json wrote instead of
// objects nested deeper than its -Depth (default 2), "@{Type=VLAN; VLAN=1}",
// with the object they stand for, and warns about values it cannot recover
// ("System.Object[]", "System.Collections.Hashtable"), which it removes so
// that the rest of the object is kept. raw is returned unchanged when there
// is nothing to fix.
func fixPowerShellDepth(raw json.RawMessage) (json.RawMessage, []string) {
	if !bytes.Contains(raw, []byte(`"@{`)) && !bytes.Contains(raw, []byte(`"System.`)) {
		return raw, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return raw, nil
	}
	var warns []string
	changed := false
	type lostValue struct{}
	var walk func(x any, path string) any
	walk = func(x any, path string) any {
		switch t := x.(type) {
		case map[string]any:
			for k, el := range t {
				if v := walk(el, joinPath(path, k)); v == (lostValue{}) {
					delete(t, k) // keep the rest of the object
					changed = true
				} else {
					t[k] = v
				}
			}
		case []any:
			kept := t[:0]
			for i, el := range t {
				if v := walk(el, path+"["+strconv.Itoa(i)+"]"); v != (lostValue{}) {
					kept = append(kept, v)
				} else {
					changed = true
				}
			}
			return kept
		case string:
			if strings.HasPrefix(t, "@{") && strings.HasSuffix(t, "}") {
				m, lossy := parsePSHashtable(t)
				changed = true
				w := fmt.Sprintf("%s: %q is a PowerShell ConvertTo-Json depth cut-off (use -Depth 10); parsed back", path, t)
				if lossy {
					w += ", but nested values are lost"
				}
				warns = append(warns, w)
				return m
			}
			if strings.HasPrefix(t, "System.") && (strings.HasSuffix(t, "[]") || strings.Contains(t, "Collections")) {
				warns = append(warns, fmt.Sprintf("%s: %q is a PowerShell ConvertTo-Json depth cut-off (use -Depth 10); the value is lost", path, t))
				return lostValue{}
			}
		}
		return x
	}
	v = walk(v, "")
	if !changed {
		return raw, warns
	}
	b, err := json.Marshal(v)
	if err != nil {
		return raw, warns
	}
	return b, warns
}

// parsePSHashtable parses PowerShell's string form of a hashtable,
// "@{Key=Value; Other=1}", into a map. Values "True"/"False" become booleans
// and integers become numbers. lossy reports nested objects or arrays that
// the string form does not keep.
func parsePSHashtable(s string) (map[string]any, bool) {
	inner := strings.TrimSuffix(strings.TrimPrefix(s, "@{"), "}")
	m := map[string]any{}
	lossy := false
	for _, part := range strings.Split(inner, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, val, ok := strings.Cut(part, "=")
		if !ok {
			lossy = true
			continue
		}
		k, val = strings.TrimSpace(k), strings.TrimSpace(val)
		switch {
		case strings.HasPrefix(val, "@{") || strings.HasPrefix(val, "System.") || strings.Contains(val, "{"):
			lossy = true
			continue
		case val == "True":
			m[k] = true
		case val == "False":
			m[k] = false
		default:
			if _, err := strconv.ParseInt(val, 10, 64); err == nil {
				m[k] = json.Number(val)
			} else {
				m[k] = val
			}
		}
	}
	return m, lossy
}
