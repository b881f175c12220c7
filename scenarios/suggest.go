package scenarios

import (
	"reflect"
	"strings"

	"github.com/hnspath/hnspath/internal/suggest"
)

// hcnKeyHint is "did you mean \"X\"? " for an unknown key of an HCN object
// (path as hns.UnknownFields gives it, e.g. "Policies[0].Settings.Adress"),
// from the JSON names of the struct that holds it; "" when none is close
// or the path leads nowhere.
func hcnKeyHint(obj any, path string) string {
	t := reflect.TypeOf(obj)
	segs := strings.Split(path, ".")
	for _, s := range segs[:len(segs)-1] {
		if i := strings.IndexByte(s, '['); i >= 0 {
			s = s[:i]
		}
		t = elem(t)
		if t.Kind() != reflect.Struct {
			return ""
		}
		f, ok := jsonField(t, s)
		if !ok {
			return ""
		}
		t = f.Type
	}
	t = elem(t)
	if t.Kind() != reflect.Struct {
		return ""
	}
	return suggest.Mean(segs[len(segs)-1], structKeys(t))
}

// elem strips pointers, slices and maps down to the element type.
func elem(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array || t.Kind() == reflect.Map {
		t = t.Elem()
	}
	return t
}

// structKeys lists the JSON keys of a struct's exported fields (embedded
// structs' keys included).
func structKeys(t reflect.Type) []string {
	var keys []string
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if f.Anonymous && name == "" && elem(f.Type).Kind() == reflect.Struct {
			keys = append(keys, structKeys(elem(f.Type))...)
			continue
		}
		if name == "" {
			name = f.Name
		}
		keys = append(keys, name)
	}
	return keys
}

// jsonField finds the field with JSON key name (case-insensitively, as
// encoding/json matches).
func jsonField(t reflect.Type, name string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		key, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if key == "" {
			key = f.Name
		}
		if strings.EqualFold(key, name) {
			return f, true
		}
		if f.Anonymous && elem(f.Type).Kind() == reflect.Struct {
			if g, ok := jsonField(elem(f.Type), name); ok {
				return g, true
			}
		}
	}
	return reflect.StructField{}, false
}
