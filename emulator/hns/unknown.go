package hns

import (
	"bytes"
	"encoding/json"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// aliasKeys maps JSON keys a type accepts besides its fields' names to the
// field they fill (see the UnmarshalJSON methods of these types).
var aliasKeys = map[reflect.Type]map[string]string{
	reflect.TypeFor[HostComputeRoute]():     {"Routes": "Setting"},
	reflect.TypeFor[L4ProxyPolicySetting](): {"ExceptionList": "Exceptions"},
}

// UnknownFields returns the JSON paths of the object keys in data that the
// type of v (one of this package's types, or a pointer to one) does not
// model, sorted: e.g. ["Ipams[0].Subnets[0].ObjectType", "Version"]. Keys
// match fields case-insensitively, as encoding/json does. Policy Settings
// are checked against the settings struct of the policy's Type, and
// namespace resource Data against the resource's Type. data that does not
// have the shape of v is not reported here; decoding reports it.
func UnknownFields(data []byte, v any) []string {
	t := reflect.TypeOf(v)
	var out []string
	walkUnknown(t, data, "", &out)
	sort.Strings(out)
	return out
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// jsonFieldNames returns the JSON names of t's exported fields (t a struct),
// in declaration order, with the field index.
func jsonFieldNames(t reflect.Type) (names []string, index []int) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if name == "" {
			name = f.Name
		}
		names = append(names, name)
		index = append(index, i)
	}
	return names, index
}

var rawMessageType = reflect.TypeFor[json.RawMessage]()

func walkUnknown(t reflect.Type, raw []byte, path string, out *[]string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	raw = bytes.TrimSpace(raw)
	switch {
	case t == rawMessageType:
		return
	case t.Kind() == reflect.Struct:
		var obj map[string]json.RawMessage
		if len(raw) == 0 || raw[0] != '{' || json.Unmarshal(raw, &obj) != nil {
			return
		}
		names, index := jsonFieldNames(t)
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fi := -1
			for i, n := range names { // exact match first, as encoding/json does
				if n == k {
					fi = i
					break
				}
			}
			if fi < 0 {
				for i, n := range names {
					if strings.EqualFold(n, k) {
						fi = i
						break
					}
				}
			}
			if fi < 0 {
				for a, target := range aliasKeys[t] {
					if strings.EqualFold(a, k) {
						if f, ok := t.FieldByName(target); ok {
							walkUnknown(f.Type, obj[k], joinPath(path, a), out)
						}
						fi = -2
					}
				}
				if fi == -1 {
					*out = append(*out, joinPath(path, k))
				}
				continue
			}
			f := t.Field(index[fi])
			ft := rawFieldType(t, f.Name, obj)
			if ft == nil {
				ft = f.Type
			}
			walkUnknown(ft, obj[k], joinPath(path, names[fi]), out)
		}
	case t.Kind() == reflect.Slice && t.Elem().Kind() != reflect.Uint8:
		var arr []json.RawMessage
		if len(raw) == 0 || raw[0] != '[' || json.Unmarshal(raw, &arr) != nil {
			return
		}
		et := t.Elem()
		if t == reflect.TypeFor[[]json.RawMessage]() {
			return
		}
		for i, el := range arr {
			walkUnknown(et, el, path+"["+strconv.Itoa(i)+"]", out)
		}
	}
}

// rawFieldType returns the type to check a json.RawMessage field of parent
// against, chosen by a sibling key (a policy's Type), or nil to use the
// field's own type (for RawMessage: do not check).
func rawFieldType(parent reflect.Type, field string, obj map[string]json.RawMessage) reflect.Type {
	typeKey := func() string {
		for k, v := range obj {
			if strings.EqualFold(k, "Type") {
				var s string
				if json.Unmarshal(v, &s) == nil {
					return s
				}
			}
		}
		return ""
	}
	switch {
	case parent == reflect.TypeFor[EndpointPolicy]() && field == "Settings":
		return endpointSettingsTypes[canonicalName(EndpointPolicyType(typeKey()), endpointPolicyTypes)]
	case parent == reflect.TypeFor[NetworkPolicy]() && field == "Settings":
		return networkSettingsTypes[canonicalName(NetworkPolicyType(typeKey()), networkPolicyTypes)]
	case parent == reflect.TypeFor[SubnetPolicy]() && field == "Settings":
		return subnetSettingsTypes[canonicalName(SubnetPolicyType(typeKey()), subnetPolicyTypes)]
	case parent == reflect.TypeFor[Subnet]() && field == "Policies":
		return reflect.TypeFor[[]SubnetPolicy]()
	case parent == reflect.TypeFor[NamespaceResource]() && field == "Data":
		switch NamespaceResourceType(typeKey()) {
		case NamespaceResourceTypeEndpoint:
			return reflect.TypeFor[NamespaceResourceEndpoint]()
		case NamespaceResourceTypeContainer:
			return reflect.TypeFor[NamespaceResourceContainer]()
		}
	}
	return nil
}
