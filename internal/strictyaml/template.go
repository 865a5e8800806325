package strictyaml

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/goccy/go-yaml"
)

// Template renders v as YAML with each field's doc, default and allowed values as a
// comment above it. Fields that are empty and omitempty are left out, or shown commented
// out with the value of their example tag when they have one (so that a template documents
// every optional field without turning it on); the fields of a list's items are documented
// on the first item only. skip leaves out the fields at the
// given paths (as Source paths: "instances.desiredCount"), for fields that do not apply.
func Template(v any, skip ...string) string {
	var b strings.Builder
	t := templater{b: &b, skip: map[string]bool{}}
	for _, p := range skip {
		t.skip[p] = true
	}
	t.fields(reflect.ValueOf(v), "", "", "", true)
	return b.String()
}

type templater struct {
	b    *strings.Builder
	skip map[string]bool
}

// writeFields writes the fields of struct v. prefix replaces indent on the first field,
// so that a list item's first field follows its "- ".
func (t templater) fields(v reflect.Value, path, indent, prefix string, comments bool) {
	if v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	first := true
	for _, f := range fieldsOf(v.Type()) {
		fv := v.Field(f.index)
		if t.skip[join(path, f.name)] {
			continue
		}
		lead := indent
		if first && prefix != "" {
			lead = prefix
		}
		if f.omitEmpty && fv.IsZero() {
			if f.example != "" && lead == indent && comments {
				for _, line := range wrap(comment(f), 92-len(indent)) {
					fmt.Fprintf(t.b, "%s# %s\n", indent, line)
				}
				fmt.Fprintf(t.b, "%s# %s: %s\n", indent, f.name, f.example)
			}
			continue
		}
		if comments {
			// Above a list item's first field the comment sits at the "- ", not past it.
			ci := leadIndent(lead)
			for _, line := range wrap(comment(f), 92-len(ci)) {
				fmt.Fprintf(t.b, "%s# %s\n", ci, line)
			}
		}
		first = false
		t.value(join(path, f.name), f.name, fv, lead, indent, comments)
	}
}

func leadIndent(lead string) string { return lead[:len(lead)-len(strings.TrimLeft(lead, " "))] }

func (t templater) value(path, key string, v reflect.Value, lead, indent string, comments bool) {
	b := t.b
	inner := indent + "  "
	switch {
	case isBlockStruct(v):
		fmt.Fprintf(b, "%s%s:\n", lead, key)
		t.fields(v, path, inner, "", comments)
	case v.Kind() == reflect.Slice && v.Len() > 0 && isBlockStruct(v.Index(0)):
		fmt.Fprintf(b, "%s%s:\n", lead, key)
		for i := range v.Len() {
			t.fields(v.Index(i), fmt.Sprintf("%s[%d]", path, i), inner+"  ", inner+"- ", comments && i == 0)
		}
	default:
		out, err := yaml.MarshalWithOptions(v.Interface(), yaml.Flow(true))
		if err != nil {
			panic("strictyaml: template value: " + err.Error())
		}
		fmt.Fprintf(b, "%s%s: %s\n", lead, key, strings.TrimSpace(string(out)))
	}
}

// isBlockStruct says whether v is written as an indented block of fields rather than inline.
func isBlockStruct(v reflect.Value) bool {
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return false
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct || v.Type() == durationType {
		return false
	}
	_, marshals := v.Interface().(yaml.InterfaceMarshaler)
	return !marshals
}

func comment(f field) string {
	s := f.doc
	if len(f.enum) > 0 {
		s += " One of: " + strings.Join(f.enum, ", ") + "."
	}
	if f.hasDef {
		def := f.def
		if def == "" {
			def = `""`
		}
		s += " Default: " + def + "."
	}
	if f.required {
		s += " Required."
	}
	return strings.TrimSpace(s)
}

func wrap(s string, width int) []string {
	if s == "" {
		return nil
	}
	var lines []string
	line := ""
	for _, w := range strings.Fields(s) {
		if line != "" && len(line)+1+len(w) > width {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += w
	}
	return append(lines, line)
}
