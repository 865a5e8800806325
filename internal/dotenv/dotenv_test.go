package dotenv

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"
)

func TestParse(t *testing.T) {
	got, err := Parse("s.env", []byte("# secrets\n\nexport A=1\nB = two words # note\nC='x # y'\nD=\"l1\\nl2 \\\"q\\\"\"\r\nE=\n"))
	want := map[string]string{"A": "1", "B": "two words", "C": "x # y", "D": "l1\nl2 \"q\"", "E": ""}
	if err != nil || !cmp.Equal(got, want) {
		t.Fatalf("got %q, %v; want %q", got, err, want)
	}
	for in, msg := range map[string]string{
		"A\n":          "s.env:1: want KEY=VALUE",
		"1A=x\n":       `s.env:1: what comes before = is not a variable name`,
		"A=1\nA=2\n":   "s.env:2: A is set twice (first on line 1)",
		"A='open\n":    "s.env:1: A: the single quote is not closed",
		"A=\"x\" y\n":  `s.env:1: A: unexpected text after the quoted value`,
		"A=\"open\\\n": "s.env:1: A: the double quote is not closed",
	} {
		if _, err := Parse("s.env", []byte(in)); err == nil || !strings.HasPrefix(err.Error(), msg) {
			t.Errorf("Parse(%q) = %v, want %q", in, err, msg)
		}
	}
}

func TestFormatParseRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		value := rapid.OneOf(rapid.String(), rapid.StringMatching(`[ "'#\\\r\n\ta=]{0,8}`))
		vars := rapid.MapOf(rapid.StringMatching(`[A-Z_][A-Z0-9_]{0,6}`), value).Draw(t, "vars")
		got, err := Parse("f", []byte(Format(vars, slices.Sorted(maps.Keys(vars)))))
		if err != nil || !cmp.Equal(got, vars, cmp.Comparer(func(a, b map[string]string) bool { return maps.Equal(a, b) })) {
			t.Fatalf("round trip of %q: %q, %v", vars, got, err)
		}
	})
}

// TestErrorsShowNoSecret: whatever is wrong with a line, the error shows no text of the
// file (the review pointed --env-file at a secrets file, and the error printed a secret).
func TestErrorsShowNoSecret(t *testing.T) {
	const secret = "hunter2-s3cr3t"
	for _, in := range []string{secret, secret + "=x", "A=\"x\" " + secret, "A='" + secret, "1" + secret + "=v", "A=\"" + secret} {
		_, err := Parse("s.env", []byte(in+"\n"))
		if err == nil {
			t.Errorf("Parse(%q): no error", in)
		} else if strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("Parse(%q) = %v: the error shows the file's text", in, err)
		}
	}
}

// FuzzParse: any input is read or refused with an error, never a panic, and what is read
// has only valid names.
func FuzzParse(f *testing.F) {
	f.Add([]byte("A=1\nexport B='x'\nC=\"a\\nb\" # c\n"))
	f.Add([]byte("#\n=\n'\n\"\\"))
	f.Fuzz(func(t *testing.T, data []byte) {
		vars, err := Parse("f", data)
		if err != nil {
			return
		}
		for k := range vars {
			if !keyRE.MatchString(k) {
				t.Fatalf("read the invalid name %q", k)
			}
		}
	})
}
