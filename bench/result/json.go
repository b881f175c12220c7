package result

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/hnspath/hnspath/internal/input"
)

// WriteJSON writes r as indented JSON (the layout is described in the package
// documentation), setting r.Schema to Schema when it is empty. Infinite interval bounds
// and NaN fit qualities are written as null.
func WriteJSON(w io.Writer, r *Report) error {
	if r.Schema == "" {
		r.Schema = Schema
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("write bench json: %w", err)
	}
	b = append(b, '\n')
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("write bench json: %w", err)
	}
	return nil
}

// ErrSchema is wrapped by ReadJSON when the file is not an hnspath-bench/v1 report.
var ErrSchema = errors.New("unsupported bench schema")

// ReadJSON reads a report written by WriteJSON. name is the file name for errors,
// which give the line of a JSON syntax error. Unknown fields are ignored, so a newer
// v1 writer can be read.
func ReadJSON(r io.Reader, name string) (*Report, error) {
	data, err := input.ReadAll(name, r, 0)
	if err != nil {
		return nil, fmt.Errorf("read bench json: %w", err)
	}
	var rep Report
	if err := json.Unmarshal(data, &rep); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			return nil, fmt.Errorf("%s:%d: read bench json: %w", name, lineAt(data, se.Offset), err)
		case errors.As(err, &te):
			return nil, fmt.Errorf("%s:%d: read bench json: field %s: %w", name, lineAt(data, te.Offset), te.Field, err)
		}
		return nil, fmt.Errorf("%s: read bench json: %w", name, err)
	}
	if rep.Schema != Schema {
		return nil, fmt.Errorf("%s: read bench json: schema %q: %w (want %q)", name, rep.Schema, ErrSchema, Schema)
	}
	for i, b := range rep.Benchmarks {
		if b == nil {
			return nil, fmt.Errorf("%s: read bench json: benchmarks[%d]: null", name, i)
		}
	}
	return &rep, nil
}

func lineAt(data []byte, offset int64) int {
	if offset > int64(len(data)) {
		offset = int64(len(data))
	}
	return 1 + bytes.Count(data[:offset], []byte{'\n'})
}

// jsonSummary is Summary's JSON form.
type jsonSummary struct {
	Median     *float64 `json:"median"`
	Lo         *float64 `json:"lo"` // null: -Inf
	Hi         *float64 `json:"hi"` // null: +Inf
	Confidence float64  `json:"confidence"`
	N          int      `json:"n"`
	Outliers   []int    `json:"outliers,omitempty"`
	Warnings   []string `json:"warnings,omitempty"`
}

func finitePtr(f float64) *float64 {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil
	}
	return &f
}

func orDefault(p *float64, def float64) float64 {
	if p == nil {
		return def
	}
	return *p
}

// MarshalJSON writes the summary with "median", "lo", "hi", "confidence", "n",
// "outliers" and "warnings"; infinite bounds become null.
func (s Summary) MarshalJSON() ([]byte, error) {
	return json.Marshal(jsonSummary{
		Median:     finitePtr(s.Center),
		Lo:         finitePtr(s.Lo),
		Hi:         finitePtr(s.Hi),
		Confidence: s.Confidence,
		N:          s.N,
		Outliers:   s.Outliers,
		Warnings:   s.Warnings,
	})
}

// UnmarshalJSON reads what MarshalJSON writes; a null lo is -Inf, a null hi +Inf and a
// null median NaN.
func (s *Summary) UnmarshalJSON(b []byte) error {
	var j jsonSummary
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	s.Center = orDefault(j.Median, math.NaN())
	s.Lo = orDefault(j.Lo, math.Inf(-1))
	s.Hi = orDefault(j.Hi, math.Inf(1))
	s.Confidence, s.N, s.Outliers, s.Warnings = j.Confidence, j.N, j.Outliers, j.Warnings
	return nil
}

type jsonLineFit struct {
	Intercept float64  `json:"intercept"`
	Slope     float64  `json:"slope"`
	R2        *float64 `json:"r2"` // null: NaN
	N         int      `json:"n"`
}

// MarshalJSON writes the fit with a null "r2" when it is NaN.
func (l LineFit) MarshalJSON() ([]byte, error) {
	return json.Marshal(jsonLineFit{Intercept: l.Intercept, Slope: l.Slope, R2: finitePtr(l.R2), N: l.N})
}

// UnmarshalJSON reads what MarshalJSON writes; a null r2 is NaN.
func (l *LineFit) UnmarshalJSON(b []byte) error {
	var j jsonLineFit
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	l.Intercept, l.Slope, l.R2, l.N = j.Intercept, j.Slope, orDefault(j.R2, math.NaN()), j.N
	return nil
}
