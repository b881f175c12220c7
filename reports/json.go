package reports

import (
	"encoding/json"
	"io"
)

// WriteJSON writes the report as indented JSON (schema Schema). Numbers
// that are not finite (an interval too small to bound) are null.
func WriteJSON(w io.Writer, r *Report) error {
	if r.Schema == "" {
		r.Schema = Schema
	}
	return writeIndented(w, r)
}

// WriteModesJSON writes a mode comparison alone as indented JSON (schema
// ModesSchema), the form Load reads back as a KindModes input.
func WriteModesJSON(w io.Writer, m *Modes) error {
	if m.Schema == "" {
		m.Schema = ModesSchema
	}
	return writeIndented(w, m)
}

func writeIndented(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
