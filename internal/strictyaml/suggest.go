package strictyaml

import "strings"

// Suggest returns the candidate closest to s by edit distance, or "" when none is close
// enough to be a plausible typo (at most a third of the longer word differs). Case
// differences count as half an edit so that "onDemandbase" still finds its field.
func Suggest(s string, candidates []string) string {
	if len(s) > maxSuggestLen {
		return "" // no one mistypes 64 characters; the edit distance would cost len² per candidate
	}
	// A truncated name ("onDemandBase" for "onDemandBaseCapacity") is a likely slip even
	// when many characters are missing.
	if len(s) >= 4 {
		for _, c := range candidates {
			if len(c) > len(s) && strings.EqualFold(c[:len(s)], s) {
				return c
			}
		}
	}
	best, bestDist := "", 1<<30
	for _, c := range candidates {
		d := distance(s, c)
		if d < bestDist {
			best, bestDist = c, d
		}
	}
	limit := max(len(s), len(best)) * 2 / 3 // distances are doubled, see distance
	if best == "" || bestDist > limit {
		return ""
	}
	return best
}

// maxSuggestLen is the longest word Suggest considers.
const maxSuggestLen = 64

// distance is the optimal-string-alignment distance (edits and adjacent swaps), doubled
// so that a case-only change costs 1.
func distance(a, b string) int {
	rows := make([][]int, len(a)+1)
	for i := range rows {
		rows[i] = make([]int, len(b)+1)
		rows[i][0] = 2 * i
	}
	for j := range rows[0] {
		rows[0][j] = 2 * j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			sub := 2
			switch {
			case a[i-1] == b[j-1]:
				sub = 0
			case lower(a[i-1]) == lower(b[j-1]):
				sub = 1
			}
			d := min(rows[i-1][j]+2, rows[i][j-1]+2, rows[i-1][j-1]+sub)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d = min(d, rows[i-2][j-2]+2)
			}
			rows[i][j] = d
		}
	}
	return rows[len(a)][len(b)]
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
