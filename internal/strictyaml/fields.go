package strictyaml

import (
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"
)

// field is what the tags of one struct field say.
type field struct {
	name      string
	index     int
	omitEmpty bool
	doc       string
	def       string
	hasDef    bool
	enum      []string
	min, max  *float64 // durations in seconds
	required  bool
	example   string // YAML shown commented out when the field is omitted (Template)
}

var fieldCache sync.Map // reflect.Type -> []field

func fieldsOf(t reflect.Type) []field {
	if f, ok := fieldCache.Load(t); ok {
		return f.([]field)
	}
	var fs []field
	for i := range t.NumField() {
		sf := t.Field(i)
		tag, ok := sf.Tag.Lookup("yaml")
		if !ok || tag == "-" || !sf.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		f := field{name: name, index: i, omitEmpty: strings.Contains(opts, "omitempty"), doc: sf.Tag.Get("doc")}
		f.def, f.hasDef = sf.Tag.Lookup("default")
		if e := sf.Tag.Get("enum"); e != "" {
			f.enum = strings.Split(e, ",")
		}
		f.min = bound(sf.Tag.Get("min"))
		f.max = bound(sf.Tag.Get("max"))
		f.required = sf.Tag.Get("required") == "true"
		f.example = sf.Tag.Get("example")
		fs = append(fs, f)
	}
	fieldCache.Store(t, fs)
	return fs
}

// bound parses a min/max tag: a number, or a duration (kept in seconds).
func bound(s string) *float64 {
	if s == "" {
		return nil
	}
	if v, err := strconv.ParseFloat(s, 64); err == nil {
		return &v
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		panic("strictyaml: bad bound tag " + strconv.Quote(s))
	}
	v := d.Seconds()
	return &v
}

func fieldNames(fs []field) []string {
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = f.name
	}
	return names
}
