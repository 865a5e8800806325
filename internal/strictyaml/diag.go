// Package strictyaml decodes YAML into Go structs strictly: unknown fields, wrong types,
// out-of-range values and bad enum values are all reported at once, each with the
// FILE:LINE:COL of the offending node and a hint where one helps. Struct tags on the target
// type are the single place that documents a field: they drive decoding, defaults, range
// checks, the JSON Schema and the commented template.
//
// Tags understood on struct fields:
//
//	yaml:"name"           the key (",omitempty" is honoured when encoding)
//	doc:"..."             what the field means (schema description, template comment)
//	default:"..."         the value when the key is absent (scalars and durations)
//	enum:"a,b,c"          allowed values of a string
//	min:"N" max:"N"       inclusive bounds of a number or duration
//	required:"true"       the key must be present
package strictyaml

import (
	"fmt"
	"sort"
	"strings"
)

// Severity says whether a diagnostic fails validation.
type Severity int

const (
	Error Severity = iota
	Warning
)

// Diagnostic is one finding about a source file, at a 1-based line and column.
type Diagnostic struct {
	File     string
	Line     int
	Col      int
	Severity Severity
	Msg      string
	Hint     string // "did you mean ...", the allowed values; may be empty
}

func (d Diagnostic) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s:%d:%d: ", d.File, d.Line, d.Col)
	if d.Severity == Warning {
		b.WriteString("warning: ")
	}
	b.WriteString(d.Msg)
	if d.Hint != "" {
		fmt.Fprintf(&b, " (%s)", d.Hint)
	}
	return b.String()
}

// Diagnostics is a list of findings; it is an error when it holds at least one Error.
type Diagnostics []Diagnostic

// Sort orders findings by position so that output reads top to bottom.
func (ds Diagnostics) Sort() {
	sort.SliceStable(ds, func(i, j int) bool {
		if ds[i].Line != ds[j].Line {
			return ds[i].Line < ds[j].Line
		}
		return ds[i].Col < ds[j].Col
	})
}

// Errors returns only the findings that fail validation.
func (ds Diagnostics) Errors() Diagnostics { return ds.filter(Error) }

// Warnings returns only the findings that do not fail validation.
func (ds Diagnostics) Warnings() Diagnostics { return ds.filter(Warning) }

func (ds Diagnostics) filter(s Severity) Diagnostics {
	var out Diagnostics
	for _, d := range ds {
		if d.Severity == s {
			out = append(out, d)
		}
	}
	return out
}

// Err returns the errors as one error value, or nil when there are none.
func (ds Diagnostics) Err() error {
	if errs := ds.Errors(); len(errs) > 0 {
		return errs
	}
	return nil
}

func (ds Diagnostics) Error() string {
	lines := make([]string, len(ds))
	for i, d := range ds {
		lines[i] = d.String()
	}
	return strings.Join(lines, "\n")
}

// Capped sorts the findings and keeps the first MaxDiagnostics of them, ending with one
// that says how many more there were (dropped counts those already left out).
func (ds Diagnostics) Capped(dropped int) Diagnostics {
	ds.Sort()
	sev := Warning // decoding drops only errors; past the cap, the kept ones say
	if dropped > 0 || len(ds.Errors()) > 0 {
		sev = Error
	}
	if len(ds) > MaxDiagnostics {
		dropped += len(ds) - MaxDiagnostics
		ds = ds[:MaxDiagnostics]
	}
	if dropped == 0 || len(ds) == 0 {
		return ds
	}
	last := ds[len(ds)-1]
	return append(ds, Diagnostic{File: last.File, Line: last.Line, Col: last.Col, Severity: sev,
		Msg: fmt.Sprintf("%d more problems not shown", dropped), Hint: "fix the ones above first"})
}
