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
	"unicode/utf8"
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
	b.WriteString(clip(d.Msg))
	if d.Hint != "" {
		fmt.Fprintf(&b, " (%s)", clip(d.Hint))
	}
	return b.String()
}

// maxMessage bounds a finding's text: a message that quotes the file (a key, a value) of
// a hostile file could be as long as the file.
const maxMessage = 300

func clip(s string) string {
	if len(s) <= maxMessage {
		return s
	}
	cut := maxMessage
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
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

// Capped keeps at most MaxDiagnostics findings, errors first (a file with hundreds of
// warnings still shows the error that fails it), sorted by position, and ends with one
// that says how many more there were. errors and warnings count those already left out.
// The last line is an error only when errors were left out.
func (ds Diagnostics) Capped(errors, warnings int) Diagnostics {
	ds.Sort()
	errs, warns := ds.Errors(), ds.Warnings()
	if len(errs) > MaxDiagnostics {
		errors += len(errs) - MaxDiagnostics
		errs = errs[:MaxDiagnostics]
	}
	if room := MaxDiagnostics - len(errs); len(warns) > room {
		warnings += len(warns) - room
		warns = warns[:room]
	}
	out := append(errs, warns...)
	out.Sort()
	if errors+warnings == 0 || len(out) == 0 {
		return out
	}
	last := out[len(out)-1]
	more := Diagnostic{File: last.File, Line: last.Line, Col: last.Col, Severity: Warning,
		Msg: fmt.Sprintf("%d more warnings not shown", warnings), Hint: "the ones above are the first"}
	if errors > 0 {
		more.Severity, more.Hint = Error, "fix the ones above first"
		more.Msg = fmt.Sprintf("%d more errors not shown", errors)
		if warnings > 0 {
			more.Msg = fmt.Sprintf("%d more errors and %d more warnings not shown", errors, warnings)
		}
	}
	return append(out, more)
}
