package strictyaml

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/lexer"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
)

// ScalarDecoder is implemented (on the pointer) by types that accept a plain scalar where
// a mapping is also allowed, such as an instance type given as "m5.large" or as
// {type: m5.large, weight: 2}. value is the scalar's text.
type ScalarDecoder interface {
	DecodeScalar(value string) error
}

// Source remembers where each decoded path sits in the file, so that checks made after
// decoding can point at the right line and column. Paths look like
// "services[0].loadBalancer.listenerPort"; the root is "".
type Source struct {
	File   string
	pos    map[string]token.Position
	failed map[string]bool
	// Dropped and DroppedWarnings count the errors and the warnings beyond MaxDiagnostics
	// that were not kept (decoding drops only errors; later checks add theirs).
	Dropped, DroppedWarnings int
}

// Failed reports whether the value at path could not be decoded (and so holds its default):
// checks made after decoding skip it rather than report a consequence of the same mistake.
func (s *Source) Failed(path string) bool {
	for {
		if s.failed[path] {
			return true
		}
		if path == "" {
			return false
		}
		path = parent(path)
	}
}

// Has reports whether the path was written in the file (as opposed to defaulted).
func (s *Source) Has(path string) bool {
	_, ok := s.pos[path]
	return ok
}

// At makes a diagnostic at the path, or at its nearest written ancestor when the path
// itself was not written (a missing field is reported where its parent is).
func (s *Source) At(path string, sev Severity, hint, format string, args ...any) Diagnostic {
	p := s.position(path)
	return Diagnostic{File: s.File, Line: p.Line, Col: p.Column, Severity: sev, Msg: fmt.Sprintf(format, args...), Hint: hint}
}

func (s *Source) position(path string) token.Position {
	for {
		if p, ok := s.pos[path]; ok {
			return p
		}
		if path == "" {
			return token.Position{Line: 1, Column: 1}
		}
		path = parent(path)
	}
}

func parent(path string) string {
	i := strings.LastIndexAny(path, ".[")
	if i < 0 {
		return ""
	}
	return path[:i]
}

// Decode parses data as one YAML document into v (a pointer to a struct), applying the
// defaults of the struct tags to absent fields. All problems are returned together; v
// holds whatever could be decoded.
func Decode(file string, data []byte, v any) (*Source, Diagnostics) {
	src := &Source{File: file, pos: map[string]token.Position{}, failed: map[string]bool{}}
	d := &decoder{src: src, anchors: map[string]ast.Node{}, seen: map[string]bool{}}
	rv := reflect.ValueOf(v).Elem()
	if len(data) > MaxFileSize {
		d.diags = append(d.diags, Diagnostic{File: file, Line: 1, Col: 1,
			Msg:  fmt.Sprintf("the file is %d KiB, more than the %d KiB such a file can be", len(data)>>10, MaxFileSize>>10),
			Hint: "is it the right file?"})
		return src, d.diags
	}
	data, pre, ok := prescan(file, data)
	d.diags = pre
	if !ok {
		return src, d.diags
	}
	tokens := lexer.Tokenize(string(data))
	if diag, ok := checkTokens(file, tokens); !ok {
		d.diags = append(d.diags, diag)
		return src, d.diags
	}
	f, err := parser.Parse(tokens, 0)
	if err != nil {
		d.syntax(err, data)
		return src, d.diags
	}
	var body ast.Node
	for _, doc := range f.Docs {
		if doc.Body == nil {
			continue
		}
		if body != nil {
			d.errorf(doc.Body, "", "a manifest is one YAML document; remove the second one (after ---)")
			break
		}
		body = doc.Body
	}
	if body == nil {
		d.diags = append(d.diags, Diagnostic{File: file, Line: 1, Col: 1, Msg: "the file is empty"})
		return src, d.diags
	}
	d.decode(body, rv, "", field{})
	src.Dropped = d.dropped
	return src, d.diags
}

// size counts the values of a subtree, for the alias budget. Aliases within it count as
// one: they are counted again where they are decoded.
func size(n ast.Node) int {
	count := 0
	ast.Walk(visitFunc(func(ast.Node) { count++ }), n)
	return count
}

type visitFunc func(ast.Node)

func (f visitFunc) Visit(n ast.Node) ast.Visitor {
	f(n)
	return f
}

type decoder struct {
	src      *Source
	diags    Diagnostics
	anchors  map[string]ast.Node
	depth    int
	expanded int             // values decoded through aliases, bounded by maxExpanded
	seen     map[string]bool // findings already reported: a node resolved twice reports once
	dropped  int             // findings beyond MaxDiagnostics, not kept
}

// maxExpanded bounds what aliases may expand to: a manifest has a few hundred values, and
// a hundred aliases of a large group would otherwise multiply every check made on it.
const maxExpanded = 10_000

// MaxDiagnostics bounds the findings reported for one file: past it, a hostile or wrong
// file would only cost time (a did-you-mean hint each), and nobody reads the rest.
const MaxDiagnostics = 100

func (d *decoder) syntax(err error, data []byte) {
	diag := Diagnostic{File: d.src.File, Line: 1, Col: 1}
	// Not err.Error() for the parser's own errors: it prints the tokens around the error
	// through the library's printer, which is quadratic (1 MiB of '"' took 69 s and 1.1 GB).
	var yerr yaml.Error
	if errors.As(err, &yerr) {
		diag.Msg = yerr.GetMessage()
		if tk := yerr.GetToken(); tk != nil && tk.Position != nil {
			diag.Line, diag.Col = tk.Position.Line, tk.Position.Column
		}
	} else {
		diag.Msg = err.Error()
	}
	d.diags = append(d.diags, explainSyntax(diag, data))
}

func (d *decoder) errorf(n ast.Node, hint, format string, args ...any) {
	p := nodePos(n)
	msg := fmt.Sprintf(format, args...)
	k := fmt.Sprintf("%d:%d:%s", p.Line, p.Column, msg)
	if d.seen[k] {
		return
	}
	d.seen[k] = true
	if len(d.diags) >= MaxDiagnostics {
		d.dropped++
		return
	}
	d.diags = append(d.diags, Diagnostic{File: d.src.File, Line: p.Line, Col: p.Column, Msg: msg, Hint: hint})
}

// full says whether further findings would be dropped, so that costly hints are skipped.
func (d *decoder) full() bool { return len(d.diags) >= MaxDiagnostics }

// fieldHint is the hint for an unknown field: the field it most likely means, or the
// known ones; none once findings are dropped.
func (d *decoder) fieldHint(key string, names []string) string {
	if d.full() {
		return ""
	}
	if sug := Suggest(key, names); sug != "" {
		return fmt.Sprintf("did you mean %q?", sug)
	}
	return "known fields: " + strings.Join(names, ", ")
}

func nodePos(n ast.Node) token.Position {
	// A mapping's own token is its first ":"; the reader looks for its first key.
	switch m := n.(type) {
	case *ast.MappingNode:
		if len(m.Values) > 0 && !m.IsFlowStyle {
			return nodePos(m.Values[0].Key)
		}
	case *ast.MappingValueNode:
		return nodePos(m.Key)
	}
	if n != nil {
		if tk := n.GetToken(); tk != nil && tk.Position != nil {
			return *tk.Position
		}
	}
	return token.Position{Line: 1, Column: 1}
}

// maxDepth bounds alias expansion and nesting so that hostile input ("billion laughs")
// cannot make decoding run away.
const maxDepth = 64

// resolve strips anchors, tags and aliases, returning the node that holds the value.
func (d *decoder) resolve(n ast.Node) ast.Node {
	for range maxDepth {
		switch t := n.(type) {
		case *ast.AnchorNode:
			if t.Name != nil {
				d.anchors[t.Name.String()] = t.Value
			}
			n = t.Value
		case *ast.TagNode:
			n = t.Value
		case *ast.AliasNode:
			target, ok := d.anchors[t.Value.String()]
			if !ok {
				d.errorf(n, "define it first with &"+t.Value.String()+" on the value to repeat", "unknown alias *%s", t.Value.String())
				return nil
			}
			if d.expanded += size(target); d.expanded > maxExpanded {
				d.errorf(n, "write the values out, or use fewer aliases", "aliases expand to more than %d values", maxExpanded)
				return nil
			}
			n = target
		default:
			return n
		}
	}
	return nil
}

// decode decodes n into v. A scalar that fails is reset to its default (or zero) and its
// path marked failed, so later checks do not pile consequences onto the same mistake.
func (d *decoder) decode(n ast.Node, v reflect.Value, path string, f field) {
	before := len(d.diags)
	d.decodeValue(n, v, path, f)
	if len(d.diags) == before || isContainer(v) {
		return
	}
	d.src.failed[path] = true
	v.Set(reflect.Zero(v.Type()))
	if f.hasDef {
		_ = setScalar(v, f.def)
	}
}

func isContainer(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Struct, reflect.Slice, reflect.Map:
		return v.Type() != durationType && !reflect.PointerTo(v.Type()).Implements(typeOf[ScalarDecoder]())
	case reflect.Pointer:
		return true
	}
	return false
}

func (d *decoder) decodeValue(n ast.Node, v reflect.Value, path string, f field) {
	d.depth++
	defer func() { d.depth-- }()
	if d.depth > maxDepth {
		d.errorf(n, "", "the document nests too deeply")
		return
	}
	at := n
	if n = d.resolve(n); n == nil {
		return
	}
	d.src.pos[path] = nodePos(at)
	if _, isNull := n.(*ast.NullNode); isNull {
		return // an empty value keeps the zero value (or the default, set by the caller)
	}
	if sd, ok := v.Addr().Interface().(ScalarDecoder); ok {
		if s, isScalar := scalarText(n); isScalar {
			if err := sd.DecodeScalar(s); err != nil {
				d.errorf(at, "", "%s: %v", label(path), err)
			}
			return
		}
	}
	if v.Type() == durationType {
		d.decodeDuration(n, v, path, f)
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.decode(n, v.Elem(), path, f)
	case reflect.Struct:
		d.decodeStruct(n, v, path)
	case reflect.Slice:
		d.decodeSlice(n, v, path)
	case reflect.Map:
		d.decodeMap(n, v, path)
	case reflect.String:
		s, ok := n.(*ast.StringNode)
		lit, isLit := n.(*ast.LiteralNode)
		switch {
		case ok:
			d.setString(at, v, s.Value, path, f)
		case isLit:
			d.setString(at, v, lit.Value.Value, path, f)
		default:
			d.mismatch(at, n, path, "a string", `quote it: "..."`)
		}
	case reflect.Int, reflect.Int64:
		i, ok := n.(*ast.IntegerNode)
		if !ok {
			if s, isStr := n.(*ast.StringNode); isStr && isDigits(s.Value) {
				// The parser leaves an integer too large for 64 bits as a string.
				d.errorf(at, "", "%s: %s is too large%s", label(path), s.Value, maxOf(f))
				return
			}
			d.mismatch(at, n, path, "a whole number", "")
			return
		}
		var val int64
		switch x := i.Value.(type) {
		case int64:
			val = x
		case uint64:
			if x > math.MaxInt64 {
				d.errorf(at, "", "%s: %v is too large%s", label(path), x, maxOf(f))
				return
			}
			val = int64(x)
		}
		v.SetInt(val)
		d.checkRange(at, path, f, float64(val), strconv.FormatInt(val, 10), false)
	case reflect.Float64:
		var val float64
		switch t := n.(type) {
		case *ast.IntegerNode:
			val = toFloat(t.Value)
		case *ast.FloatNode:
			val = t.Value
		default:
			d.mismatch(at, n, path, "a number", "")
			return
		}
		if math.IsNaN(val) || math.IsInf(val, 0) {
			d.errorf(at, "", "%s: must be a finite number", label(path))
			return
		}
		v.SetFloat(val)
		d.checkRange(at, path, f, val, strconv.FormatFloat(val, 'g', -1, 64), false)
	case reflect.Bool:
		b, ok := n.(*ast.BoolNode)
		if !ok {
			d.mismatch(at, n, path, "true or false", "")
			return
		}
		v.SetBool(b.Value)
	default:
		panic("strictyaml: unsupported field type " + v.Type().String())
	}
}

func isDigits(s string) bool {
	s = strings.TrimPrefix(strings.TrimPrefix(s, "-"), "+")
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// maxOf says what a number may be at most, for a value too large to read.
func maxOf(f field) string {
	if f.max != nil {
		return ": must be at most " + strconv.FormatFloat(*f.max, 'g', -1, 64)
	}
	return ""
}

func toFloat(v any) float64 {
	switch t := v.(type) {
	case int64:
		return float64(t)
	case uint64:
		return float64(t)
	}
	return 0
}

func (d *decoder) setString(at ast.Node, v reflect.Value, s, path string, f field) {
	v.SetString(s)
	if len(f.enum) == 0 {
		return
	}
	for _, e := range f.enum {
		if s == e {
			return
		}
	}
	hint := "one of: " + strings.Join(f.enum, ", ")
	if d.full() {
		hint = ""
	} else if sug := Suggest(s, f.enum); sug != "" {
		hint = fmt.Sprintf("did you mean %q? %s", sug, hint)
	}
	d.errorf(at, hint, "%s: %q is not a valid value", label(path), s)
}

func (d *decoder) decodeDuration(n ast.Node, v reflect.Value, path string, f field) {
	s, ok := n.(*ast.StringNode)
	if !ok {
		hint := "a Go duration such as 30s, 5m or 1h30m"
		if _, isInt := n.(*ast.IntegerNode); isInt {
			hint = fmt.Sprintf("a number needs a unit: %ss", n.String())
		}
		d.mismatch(n, n, path, "a duration", hint)
		return
	}
	dur, err := time.ParseDuration(s.Value)
	if err != nil {
		d.errorf(n, "a Go duration such as 30s, 5m or 1h30m", "%s: %q is not a duration", label(path), s.Value)
		return
	}
	v.SetInt(int64(dur))
	d.checkRange(n, path, f, dur.Seconds(), Duration(dur).String(), true)
}

func (d *decoder) checkRange(at ast.Node, path string, f field, val float64, text string, isDuration bool) {
	show := func(b float64) string {
		if isDuration {
			return Duration(time.Duration(b * float64(time.Second))).String()
		}
		return strconv.FormatFloat(b, 'g', -1, 64)
	}
	switch {
	case f.min != nil && f.max != nil && (val < *f.min || val > *f.max):
		d.errorf(at, "", "%s: %s is out of range: must be between %s and %s", label(path), text, show(*f.min), show(*f.max))
	case f.min != nil && val < *f.min:
		d.errorf(at, "", "%s: %s is too small: must be at least %s", label(path), text, show(*f.min))
	case f.max != nil && val > *f.max:
		d.errorf(at, "", "%s: %s is too large: must be at most %s", label(path), text, show(*f.max))
	}
}

func (d *decoder) decodeStruct(n ast.Node, v reflect.Value, path string) {
	pairs, ok := d.mappingPairs(n, path)
	if !ok {
		return
	}
	fs := fieldsOf(v.Type())
	seen := map[string]bool{}
	for _, kv := range pairs {
		key := keyText(kv.Key)
		var fld *field
		for i := range fs {
			if fs[i].name == key {
				fld = &fs[i]
			}
		}
		if fld == nil {
			d.errorf(kv.Key, d.fieldHint(key, fieldNames(fs)), "unknown field %q", key)
			continue
		}
		if seen[key] {
			d.errorf(kv.Key, "", "field %q is set twice", key)
			continue
		}
		seen[key] = true
		if _, isNull := d.resolve(kv.Value).(*ast.NullNode); isNull {
			// "key:" with nothing after it is the same as leaving the key out, but a required
			// field must have a value.
			d.src.pos[join(path, key)] = nodePos(kv.Key)
			if fld.required {
				d.errorf(kv.Key, "", "%s: must not be empty", key)
				d.src.failed[join(path, key)] = true
			}
			setDefault(v.Field(fld.index), *fld)
			continue
		}
		d.decode(kv.Value, v.Field(fld.index), join(path, key), *fld)
	}
	for _, f := range fs {
		if seen[f.name] {
			continue
		}
		if f.required {
			d.errorf(n, "", "%s: missing required field %q", labelOrRoot(path), f.name)
			d.src.failed[join(path, f.name)] = true
		}
		setDefault(v.Field(f.index), f)
	}
}

// setDefault gives an absent field its tagged default; absent nested structs get theirs.
func setDefault(v reflect.Value, f field) {
	if f.hasDef {
		if err := setScalar(v, f.def); err != nil {
			panic(fmt.Sprintf("strictyaml: bad default tag %q: %v", f.def, err))
		}
		return
	}
	if v.Kind() == reflect.Struct && v.Type() != durationType {
		for _, sub := range fieldsOf(v.Type()) {
			setDefault(v.Field(sub.index), sub)
		}
	}
}

func setScalar(v reflect.Value, s string) error {
	if v.Type() == durationType {
		dur, err := time.ParseDuration(s)
		v.SetInt(int64(dur))
		return err
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Int, reflect.Int64:
		i, err := strconv.ParseInt(s, 10, 64)
		v.SetInt(i)
		return err
	case reflect.Float64:
		x, err := strconv.ParseFloat(s, 64)
		v.SetFloat(x)
		return err
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		v.SetBool(b)
		return err
	default:
		return fmt.Errorf("no scalar default for %s", v.Type())
	}
	return nil
}

// mappingPairs returns the key/value pairs of a mapping node, reporting anything else.
func (d *decoder) mappingPairs(n ast.Node, path string) ([]*ast.MappingValueNode, bool) {
	switch t := n.(type) {
	case *ast.MappingNode:
		pairs := t.Values
		for _, kv := range pairs {
			if kv.Key.IsMergeKey() {
				d.errorf(kv.Key, "write the fields out, or use an alias (*name) for a whole value", "merge keys (<<) are not supported")
				d.src.failed[path] = true
				return nil, false
			}
		}
		return pairs, true
	case *ast.MappingValueNode:
		if t.Key.IsMergeKey() {
			d.errorf(t.Key, "write the fields out, or use an alias (*name) for a whole value", "merge keys (<<) are not supported")
			d.src.failed[path] = true
			return nil, false
		}
		return []*ast.MappingValueNode{t}, true
	}
	d.mismatch(n, n, path, "a mapping (key: value lines)", "")
	d.src.failed[path] = true
	return nil, false
}

func (d *decoder) decodeSlice(n ast.Node, v reflect.Value, path string) {
	seq, ok := n.(*ast.SequenceNode)
	if !ok {
		d.mismatch(n, n, path, "a list", "write [a, b] or one \"- item\" per line")
		d.src.failed[path] = true
		return
	}
	out := reflect.MakeSlice(v.Type(), len(seq.Values), len(seq.Values))
	for i, item := range seq.Values {
		elem := out.Index(i)
		p := fmt.Sprintf("%s[%d]", path, i)
		d.decode(item, elem, p, field{})
		if elem.Kind() == reflect.Struct {
			if _, isNull := d.resolve(item).(*ast.NullNode); isNull {
				setDefault(elem, field{})
			}
		}
	}
	v.Set(out)
}

// decodeMap fills a map of string to string; scalar values of other types are taken as
// their text, because environment variables such as PORT: 5000 are commonly unquoted.
func (d *decoder) decodeMap(n ast.Node, v reflect.Value, path string) {
	if v.Type().Key().Kind() != reflect.String || v.Type().Elem().Kind() != reflect.String {
		panic("strictyaml: only map[string]string is supported")
	}
	pairs, ok := d.mappingPairs(n, path)
	if !ok {
		return
	}
	m := reflect.MakeMapWithSize(v.Type(), len(pairs))
	for _, kv := range pairs {
		key := keyText(kv.Key)
		p := join(path, key)
		if m.MapIndex(reflect.ValueOf(key)).IsValid() {
			d.errorf(kv.Key, "", "key %q is set twice", key)
			continue
		}
		val := d.resolve(kv.Value)
		if val == nil {
			continue
		}
		d.src.pos[p] = nodePos(kv.Key) // checks made later are about the variable: point at its name
		s, ok := scalarText(val)
		if !ok {
			d.mismatch(kv.Value, val, p, "a plain value", "")
			continue
		}
		m.SetMapIndex(reflect.ValueOf(key).Convert(v.Type().Key()), reflect.ValueOf(s).Convert(v.Type().Elem()))
	}
	v.Set(m)
}

func scalarText(n ast.Node) (string, bool) {
	switch t := n.(type) {
	case *ast.StringNode:
		return t.Value, true
	case *ast.LiteralNode:
		return t.Value.Value, true
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.InfinityNode, *ast.NanNode:
		return t.GetToken().Value, true
	case *ast.NullNode:
		return "", true
	}
	return "", false
}

func keyText(k ast.MapKeyNode) string {
	if s, ok := scalarText(k); ok {
		return s
	}
	return k.String()
}

func (d *decoder) mismatch(at, n ast.Node, path, want, hint string) {
	d.errorf(at, hint, "%s: expected %s, got %s", labelOrRoot(path), want, describe(n))
}

func describe(n ast.Node) string {
	switch t := n.(type) {
	case *ast.StringNode:
		return fmt.Sprintf("the string %q", t.Value)
	case *ast.LiteralNode:
		return "a block of text"
	case *ast.IntegerNode, *ast.FloatNode, *ast.InfinityNode, *ast.NanNode:
		return "the number " + n.GetToken().Value
	case *ast.BoolNode:
		return "the boolean " + n.GetToken().Value
	case *ast.MappingNode, *ast.MappingValueNode:
		return "a mapping"
	case *ast.SequenceNode:
		return "a list"
	}
	return "a " + strings.ToLower(n.Type().String())
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// label names a path in a message by its last key: "maxSize", or "instanceTypes[2]".
func label(path string) string {
	if i := strings.LastIndex(path, "."); i >= 0 {
		return path[i+1:]
	}
	return path
}

func labelOrRoot(path string) string {
	if path == "" {
		return "the document"
	}
	return label(path)
}

func typeOf[T any]() reflect.Type { return reflect.TypeFor[T]() }

// Empty reports whether nothing at all was decoded (an empty file or a syntax error), in
// which case there is nothing to check further.
func (s *Source) Empty() bool { return len(s.pos) == 0 }
