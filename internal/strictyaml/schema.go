package strictyaml

import (
	"reflect"
	"strconv"
)

// durationPattern matches what time.ParseDuration accepts (without a sign).
const durationPattern = `^([0-9]+(\.[0-9]*)?(ns|us|µs|ms|s|m|h))+$`

// Schema returns a JSON Schema (draft 2020-12) for the struct type t, built from the same
// tags that drive decoding, so editors complete and check exactly what Decode accepts.
func Schema(t reflect.Type, id, title string) map[string]any {
	s := typeSchema(t, field{})
	s["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	s["$id"] = id
	s["title"] = title
	return s
}

func typeSchema(t reflect.Type, f field) map[string]any {
	s := map[string]any{}
	if f.doc != "" {
		s["description"] = f.doc
	}
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == durationType:
		s["type"] = "string"
		s["pattern"] = durationPattern
		if f.hasDef {
			s["default"] = f.def
		}
		return s
	case reflect.PointerTo(t).Implements(typeOf[ScalarDecoder]()):
		alt := map[string]any{"type": "integer"}
		if t.Kind() == reflect.Struct {
			alt = kindSchema(t, field{}, map[string]any{})
		}
		s["oneOf"] = []any{map[string]any{"type": "string"}, alt}
		return s
	}
	return kindSchema(t, f, s)
}

// kindSchema fills s by the Go kind of t.
func kindSchema(t reflect.Type, f field, s map[string]any) map[string]any {
	switch t.Kind() {
	case reflect.Struct:
		s["type"] = "object"
		s["additionalProperties"] = false
		props := map[string]any{}
		var required []string
		for _, sub := range fieldsOf(t) {
			props[sub.name] = typeSchema(t.Field(sub.index).Type, sub)
			if sub.required {
				required = append(required, sub.name)
			}
		}
		s["properties"] = props
		if len(required) > 0 {
			s["required"] = required
		}
	case reflect.Slice:
		s["type"] = "array"
		s["items"] = typeSchema(t.Elem(), field{})
	case reflect.Map:
		s["type"] = "object"
		s["additionalProperties"] = map[string]any{"type": "string"}
	case reflect.String:
		s["type"] = "string"
		if len(f.enum) > 0 {
			s["enum"] = f.enum
		}
	case reflect.Int, reflect.Int64:
		s["type"] = "integer"
	case reflect.Float64:
		s["type"] = "number"
	case reflect.Bool:
		s["type"] = "boolean"
	}
	if f.min != nil {
		s["minimum"] = *f.min
	}
	if f.max != nil {
		s["maximum"] = *f.max
	}
	if f.hasDef {
		s["default"] = typedDefault(t, f.def)
	}
	return s
}

func typedDefault(t reflect.Type, def string) any {
	switch t.Kind() {
	case reflect.Int, reflect.Int64:
		i, _ := strconv.ParseInt(def, 10, 64)
		return i
	case reflect.Float64:
		x, _ := strconv.ParseFloat(def, 64)
		return x
	case reflect.Bool:
		b, _ := strconv.ParseBool(def)
		return b
	}
	return def
}
