package stack

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"
)

// TestJoinSplitRoundTrip: any list, commas and quotes in its elements included, comes back
// whole from its field.
func TestJoinSplitRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		xs := rapid.SliceOfN(rapid.StringMatching(`[a-z,"= \\]{1,8}`), 1, 6).Draw(t, "xs")
		if got := split(join(xs)); !cmp.Equal(got, xs) {
			t.Fatalf("split(join(%q)) = %q", xs, got)
		}
	})
}

func TestDiff(t *testing.T) {
	want := map[string]string{"max": "8", "overrides": "a:1,b:1,c:1", "maximumPercent": "250", "grace": "0"}
	rec := record(map[string]string{"max": "6", "overrides": "a:1,b:1", "maximumPercent": "200", "grace": "0"})
	cases := []struct {
		name string
		have map[string]string
		want []Diff
	}{
		{"returned fields are compared with what AWS returns, and a list element by element",
			map[string]string{"max": "6", "overrides": "a:1,b:1,d:1", "maximumPercent": "250", "grace": "0"},
			[]Diff{{Field: "max", From: "6", To: "8"}, {Field: "overrides", From: "a:1,b:1,d:1", To: "a:1,b:1,c:1", Added: []string{"c:1"}, Removed: []string{"d:1"}}}},
		{"a field AWS does not return is compared with the record",
			map[string]string{"max": "8", "overrides": "a:1,b:1,c:1", fieldApplied: rec},
			[]Diff{{Field: "maximumPercent", To: "250", FromUnknown: true}}},
		{"drift in a returned field shows though the record matches",
			map[string]string{"max": "6", "overrides": "a:1,b:1,c:1", "maximumPercent": "250", fieldApplied: record(want)},
			[]Diff{{Field: "max", From: "6", To: "8"}}},
		{"without a record, a field not returned is taken as empty",
			map[string]string{"max": "8", "overrides": "a:1,b:1,c:1", "maximumPercent": "250"},
			[]Diff{{Field: "grace", From: "", To: "0"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if d := cmp.Diff(c.want, diff(want, c.have)); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}
