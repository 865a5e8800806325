// Package dotenv reads files of KEY=VALUE lines, as docker --env-file and most dotenv
// loaders take them: blank lines and # comments are skipped, "export " before a key is
// allowed, and a value may be bare (spaces around it trimmed, " #" starting a comment),
// single-quoted (taken as written) or double-quoted (with \n, \r, \t, \" and \\ escapes).
package dotenv

import (
	"fmt"
	"regexp"
	"strings"
)

var keyRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Parse reads data; name is used in errors, which give the line and never its text: the
// file holds secrets, and one pointed at the wrong file (a key, a certificate) would print it.
func Parse(name string, data []byte) (map[string]string, error) {
	out := map[string]string{}
	firstLine := map[string]int{}
	for i, line := range strings.Split(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n") {
		n := i + 1
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		key, raw, ok := strings.Cut(line, "=")
		key = strings.TrimSpace(key)
		if !ok {
			return nil, fmt.Errorf("%s:%d: want KEY=VALUE: the line has no = (its text is not shown: it may be a secret)", name, n)
		}
		if !keyRE.MatchString(key) {
			return nil, fmt.Errorf("%s:%d: what comes before = is not a variable name (letters, digits and _, not starting with a digit)", name, n)
		}
		if first, dup := firstLine[key]; dup {
			return nil, fmt.Errorf("%s:%d: %s is set twice (first on line %d)", name, n, key, first)
		}
		v, err := value(strings.TrimSpace(raw))
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %s: %w", name, n, key, err)
		}
		out[key], firstLine[key] = v, n
	}
	return out, nil
}

func value(raw string) (string, error) {
	switch {
	case strings.HasPrefix(raw, "'"):
		end := strings.IndexByte(raw[1:], '\'')
		if end < 0 {
			return "", fmt.Errorf("the single quote is not closed")
		}
		return raw[1 : 1+end], trailing(raw[2+end:])
	case strings.HasPrefix(raw, `"`):
		var b strings.Builder
		for i := 1; i < len(raw); i++ {
			switch c := raw[i]; {
			case c == '"':
				return b.String(), trailing(raw[i+1:])
			case c == '\\' && i+1 < len(raw):
				i++
				switch raw[i] {
				case 'n':
					b.WriteByte('\n')
				case 't':
					b.WriteByte('\t')
				case 'r':
					b.WriteByte('\r')
				default:
					b.WriteByte(raw[i])
				}
			default:
				b.WriteByte(c)
			}
		}
		return "", fmt.Errorf("the double quote is not closed")
	}
	if i := strings.Index(raw, " #"); i >= 0 {
		raw = raw[:i]
	}
	return strings.TrimSpace(raw), nil
}

// trailing checks what follows a quoted value: nothing, or a comment.
func trailing(rest string) error {
	if rest = strings.TrimSpace(rest); rest != "" && !strings.HasPrefix(rest, "#") {
		return fmt.Errorf("unexpected text after the quoted value (only a # comment may follow it)")
	}
	return nil
}

// Format writes vars so that Parse reads them back: each value double-quoted and escaped.
func Format(vars map[string]string, keys []string) string {
	var b strings.Builder
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\t", `\t`, "\r", `\r`)
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=\"%s\"\n", k, r.Replace(vars[k]))
	}
	return b.String()
}
