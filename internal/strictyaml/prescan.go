package strictyaml

import (
	"bytes"
	"fmt"
)

// bom is the UTF-8 byte-order mark some editors write at the start of a file.
var bom = []byte{0xEF, 0xBB, 0xBF}

// prescan reads the raw bytes once, before the YAML parser sees them, for what the parser
// handles badly: it recurses once per nesting level (20,000 nested brackets take 670 MB
// and two seconds; 100,000 exhaust memory), it reports a tab in the indentation as "found
// character that cannot start any token", and it reads a byte-order mark as part of the
// first key. The scan is linear and allocates nothing but its findings. It returns the data
// to parse (without the mark) and whether parsing may go on.
func prescan(file string, data []byte) ([]byte, Diagnostics, bool) {
	var diags Diagnostics
	if rest, ok := bytes.CutPrefix(data, bom); ok {
		data = rest
		diags = append(diags, Diagnostic{File: file, Line: 1, Col: 1, Severity: Warning,
			Msg: "the file starts with a byte-order mark, which is ignored", Hint: "save it as UTF-8 without BOM"})
	}
	s := scanner{data: data}
	for s.line = 1; s.pos < len(data); s.line++ {
		if d, ok := s.scanLine(file); !ok {
			return data, append(diags, d), false
		}
	}
	return data, diags, true
}

// scanner tracks how deeply the document nests: flow brackets, plus block levels (a
// stack of indentation columns, and "- " or "key: " that open a level within a line).
type scanner struct {
	data      []byte
	pos, line int
	flow      int   // open [ and {
	indents   []int // columns of the open block levels
	block     int   // a block scalar (| or >) is open: lines indented beyond this column are text
	inBlock   bool
}

// scanLine reads one line. It fails on a tab in the indentation or a level beyond maxDepth.
func (s *scanner) scanLine(file string) (Diagnostic, bool) {
	start := s.pos
	end := bytes.IndexByte(s.data[start:], '\n')
	if end < 0 {
		end = len(s.data)
	} else {
		end += start
	}
	s.pos = end + 1
	line := s.data[start:end]
	indent := 0
	for indent < len(line) && line[indent] == ' ' {
		indent++
	}
	content := bytes.TrimRight(line[indent:], " \r")
	if s.inBlock {
		if len(content) == 0 || indent > s.block {
			return Diagnostic{}, true // text of a block scalar, whatever it holds
		}
		s.inBlock = false
	}
	if len(content) == 0 || content[0] == '#' {
		return Diagnostic{}, true
	}
	if content[0] == '\t' && s.flow == 0 {
		return Diagnostic{File: file, Line: s.line, Col: indent + 1,
			Msg: "a tab indents this line; YAML indents with spaces only", Hint: "replace the tab with spaces"}, false
	}
	if s.flow == 0 {
		for len(s.indents) > 0 && s.indents[len(s.indents)-1] >= indent {
			s.indents = s.indents[:len(s.indents)-1]
		}
		s.indents = append(s.indents, indent)
	}
	inline := 0 // levels opened within this line by "- " and "key: "
	var quote byte
	run := 0          // '<' in a row outside quotes: the lexer rescans the run at each one (isMergeKey)
	prev := byte(' ') // the last byte outside a quoted scalar that is not a space
	for i := 0; i < len(content); i++ {
		c := content[i]
		switch {
		case quote == '\'':
			if c == '\'' {
				quote = 0
			}
			continue
		case quote == '"':
			if c == '\\' {
				i++
			} else if c == '"' {
				quote = 0
			}
			continue
		}
		if c == '<' {
			if run++; run > maxAngles {
				return Diagnostic{File: file, Line: s.line, Col: indent + i + 1,
					Msg:  fmt.Sprintf("more than %d '<' in a row", maxAngles),
					Hint: "quote the value that holds them"}, false
			}
		} else {
			run = 0
		}
		switch c {
		case '#':
			if i > 0 && (content[i-1] == ' ' || content[i-1] == '\t') {
				i = len(content)
				continue
			}
		case '\'', '"':
			if startsScalar(prev) {
				quote = c
			}
		case '[', '{':
			if startsScalar(prev) || prev == '[' || prev == '{' {
				s.flow++
			}
		case ']', '}':
			if s.flow > 0 {
				s.flow--
			}
		case '-':
			if s.flow == 0 && startsScalar(prev) && (i+1 == len(content) || content[i+1] == ' ') {
				inline++
			}
		case ':':
			if s.flow == 0 && (i+1 == len(content) || content[i+1] == ' ') {
				inline++
			}
		case '|', '>':
			if s.flow == 0 && (prev == ':' || prev == '-') {
				if blockIndicator(content[i+1:]) {
					s.inBlock, s.block = true, indent
					i = len(content)
					continue
				}
			}
		}
		if c != ' ' && c != '\t' {
			prev = c
		}
		if depth := len(s.indents) + inline + s.flow; depth > maxDepth {
			return Diagnostic{File: file, Line: s.line, Col: indent + i + 1,
				Msg:  fmt.Sprintf("the document nests deeper than %d levels here", maxDepth),
				Hint: "a manifest needs a few levels; is this the right file?"}, false
		}
	}
	return Diagnostic{}, true
}

// maxAngles bounds a run of '<' outside quotes: the YAML lexer looks for the merge key "<<"
// by counting the run again at each of its bytes, quadratic in its length (64 KiB of '<'
// took 1.3 s; 1 MiB, six minutes). Inside quotes the run is read once.
const maxAngles = 64

// startsScalar says whether a value may begin after the byte before it: at the start of a
// line, after "- ", "key: ", "[", "{", "," or "?". A quote inside a word (don't) does not
// open a quoted scalar.
func startsScalar(prev byte) bool {
	switch prev {
	case ' ', ':', '-', '[', '{', ',', '?':
		return true
	}
	return false
}

// blockIndicator says whether what follows | or > is a block scalar header: chomping and
// indentation indicators, then nothing but a comment.
func blockIndicator(rest []byte) bool {
	for i, c := range rest {
		switch {
		case c == '+' || c == '-' || (c >= '1' && c <= '9'):
		case c == ' ':
			r := bytes.TrimLeft(rest[i:], " ")
			return len(r) == 0 || r[0] == '#'
		default:
			return false
		}
	}
	return true
}
