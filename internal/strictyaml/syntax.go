package strictyaml

import (
	"bytes"
	"fmt"
	"strings"
)

// explainSyntax rewrites the YAML parser's indentation errors, which quote its grammar
// ("mapping value is not allowed in this context") and, when a key is indented under a key
// that already has a value, point at the line above. It names the key at fault, its line,
// and the indentations that would place it.
func explainSyntax(d Diagnostic, data []byte) Diagnostic {
	var key string
	var line int
	switch {
	case strings.Contains(d.Msg, "value is not allowed in this context"):
	case scanf(d.Msg, "mapping key %q already defined at [%d:", &key, &line):
		d.Msg, d.Hint = fmt.Sprintf("key %q is set twice (first on line %d)", key, line), "remove one of them"
		return d
	case strings.Contains(d.Msg, "sequence end token ']' not found"):
		d.Msg, d.Hint = "a list opened with [ is not closed", "close it with ], or quote a value that holds [ ] { } , or #"
		return d
	case strings.Contains(d.Msg, "mapping end token '}' not found"):
		d.Msg, d.Hint = "a mapping opened with { is not closed", "close it with }, or quote a value that holds [ ] { } , or #"
		return d
	default:
		if d.Hint == "" {
			d.Hint = "check the quoting and indentation around here"
		}
		return d
	}
	lines := bytes.Split(data, []byte("\n"))
	at := d.Line - 1 // 0-based
	if at < 0 || at >= len(lines) {
		return d
	}
	// A key indented under "key: value" is reported on the line of that value.
	if next := nextContent(lines, at); next > at && indentOf(lines[next]) > indentOf(lines[at]) && hasValue(lines[at]) {
		key, col := keyOf(lines[at])
		// The keys above and below line up and this one does not: it is the one out of
		// place (a dedented "port" between "cpu" and "memory").
		if prev := prevContent(lines, at); prev < at && indentOf(lines[prev]) == indentOf(lines[next]) && hasValue(lines[prev]) {
			above, want := keyOf(lines[prev])
			if want == indentOf(lines[next]) {
				d.Col = col + 1
				d.Msg = fmt.Sprintf("key %q is indented %d spaces, less than %q above it and %q below it", key, col, above, keyName(lines[next]))
				d.Hint = fmt.Sprintf("indent it %d spaces, as %q", want, above)
				return d
			}
		}
		d.Line, d.Col = next+1, indentOf(lines[next])+1
		d.Msg = fmt.Sprintf("%q is indented more than %q on line %d, which already has a value", keyName(lines[next]), key, at+1)
		d.Hint = fmt.Sprintf("indent it %d spaces, as %q, to set both", col, key)
		return d
	}
	key, col := keyOf(lines[at])
	d.Col = col + 1
	d.Msg = fmt.Sprintf("key %q is indented %d spaces, which matches no mapping above it", key, col)
	var opts []string
	for _, c := range enclosing(lines, at) {
		if c.col != col {
			opts = append(opts, fmt.Sprintf("%d spaces to go with %q (line %d)", c.col, c.key, c.line+1))
		}
	}
	if len(opts) > 0 {
		d.Hint = "indent it " + strings.Join(opts, ", or ")
	}
	return d
}

type level struct {
	col, line int
	key       string
}

// enclosing lists the keys that a key on line at could go with: walking up, each line
// whose key sits left of everything seen so far.
func enclosing(lines [][]byte, at int) []level {
	var out []level
	bound := 1 << 30
	for j := at - 1; j >= 0 && bound > 0; j-- {
		if isBlank(lines[j]) {
			continue
		}
		key, col := keyOf(lines[j])
		if col < bound && key != "" {
			out = append(out, level{col: col, line: j, key: key})
		}
		bound = min(bound, indentOf(lines[j]))
	}
	return out
}

func prevContent(lines [][]byte, at int) int {
	for j := at - 1; j >= 0; j-- {
		if !isBlank(lines[j]) {
			return j
		}
	}
	return at
}

func nextContent(lines [][]byte, at int) int {
	for j := at + 1; j < len(lines); j++ {
		if !isBlank(lines[j]) {
			return j
		}
	}
	return at
}

func isBlank(line []byte) bool {
	t := bytes.TrimSpace(line)
	return len(t) == 0 || t[0] == '#'
}

func indentOf(line []byte) int { return len(line) - len(bytes.TrimLeft(line, " ")) }

// keyOf finds the key of a line ("  - name: w" is "name" at column 4).
func keyOf(line []byte) (string, int) {
	col := indentOf(line)
	for col+1 < len(line) && line[col] == '-' && line[col+1] == ' ' {
		col += 2
		for col < len(line) && line[col] == ' ' {
			col++
		}
	}
	return keyName(line[col:]), col
}

func keyName(line []byte) string {
	t := bytes.TrimLeft(line, " -")
	if i := bytes.Index(t, []byte(":")); i >= 0 {
		t = t[:i]
	}
	return strings.TrimSpace(string(t))
}

// hasValue says whether a "key: value" line gives its value on the line.
func hasValue(line []byte) bool {
	_, rest, ok := bytes.Cut(line, []byte(": "))
	rest = bytes.TrimSpace(rest)
	return ok && len(rest) > 0 && rest[0] != '#' && rest[0] != '|' && rest[0] != '>'
}

func scanf(s, format string, args ...any) bool {
	n, _ := fmt.Sscanf(s, format, args...)
	return n == len(args)
}
