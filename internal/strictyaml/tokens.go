package strictyaml

import (
	"fmt"

	"github.com/goccy/go-yaml/token"
)

// checkTokens reads the lexer's tokens before the parser sees them, for the two shapes the
// parser takes quadratic time and memory on (measured on 64 KiB: up to 0.9 s and 1.6 GB):
// flow collections nested past maxDepth, which the prescan cannot always see because the
// lexer's idea of a line or a comment is not the prescan's ("[\r" repeated, "[#" opening a
// comment), and tags, whose empty form swallows what follows into one ever deeper node. A
// spotfleet file has no use for a tag, so one is refused where it stands. And empty values:
// the parser inserts a null token into its token slice for each, a copy of the slice each
// time (128 Ki empty list items, 256 KiB, took a second).
func checkTokens(file string, tokens token.Tokens) (Diagnostic, bool) {
	depth, empty := 0, 0
	for i, tk := range tokens {
		if emptyValue(tokens, i) {
			if empty++; empty > maxEmpty {
				return tokenDiag(file, tk, fmt.Sprintf("more than %d empty values", maxEmpty),
					"give each key and list item a value, or remove it"), false
			}
		}
		switch tk.Type {
		case token.TagType:
			return tokenDiag(file, tk, fmt.Sprintf("a tag (%s) has no meaning in a spotfleet file", tk.Value),
				"remove it, or quote the value if the ! is part of it"), false
		case token.SequenceStartType, token.MappingStartType:
			if depth++; depth > maxDepth {
				return tokenDiag(file, tk, fmt.Sprintf("the document nests deeper than %d levels here", maxDepth),
					"a manifest needs a few levels; is this the right file?"), false
			}
		case token.SequenceEndType, token.MappingEndType:
			depth = max(depth-1, 0)
		}
	}
	return Diagnostic{}, true
}

func tokenDiag(file string, tk *token.Token, msg, hint string) Diagnostic {
	d := Diagnostic{File: file, Line: 1, Col: 1, Msg: msg, Hint: hint}
	if tk.Position != nil {
		d.Line, d.Col = tk.Position.Line, tk.Position.Column
	}
	return d
}

// maxEmpty bounds the keys and list items without a value: a manifest has a few.
const maxEmpty = 1000

// emptyValue says whether tokens[i] is a "-" or a ":" with no value after it: nothing
// follows on its line, and what comes next is not indented under it. It may count a few
// that the parser would not; the bound is far above what a manifest holds.
func emptyValue(tokens token.Tokens, i int) bool {
	tk := tokens[i]
	if tk.Type != token.SequenceEntryType && tk.Type != token.MappingValueType {
		return false
	}
	col := tk.Position.Column
	if tk.Type == token.MappingValueType && i > 0 {
		col = tokens[i-1].Position.Column // the key's
	}
	for _, next := range tokens[i+1:] {
		switch next.Type {
		case token.CommentType:
			continue
		case token.CollectEntryType, token.SequenceEndType, token.MappingEndType, token.DocumentEndType, token.DocumentHeaderType:
			return true
		}
		return next.Position.Line > tk.Position.Line && next.Position.Column <= col
	}
	return true
}
