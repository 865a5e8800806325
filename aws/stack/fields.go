package stack

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/smithy-go"
)

// A resource's fields are strings so that plan can compare any kind the same way. A field
// that holds a list joins its elements with commas (join), quoting an element that has a
// comma or a quote of its own, so that split gives the elements back and plan can show a
// list change element by element ("+ c5.large") instead of two long strings.

// join encodes a list as one field.
func join(xs []string) string {
	out := make([]string, len(xs))
	for i, x := range xs {
		if strings.ContainsAny(x, `,"`) {
			x = strconv.Quote(x)
		}
		out[i] = x
	}
	return strings.Join(out, ",")
}

// split decodes a field join made ("" is the empty list). A quoted element that does not
// unquote is taken as written: fields come from AWS too, and plan must not fail on them.
func split(s string) []string {
	if s == "" {
		return nil
	}
	var out []string
	for s != "" {
		var x string
		if s[0] == '"' {
			if q, err := strconv.QuotedPrefix(s); err == nil {
				x, _ = strconv.Unquote(q)
				s = strings.TrimPrefix(s[len(q):], ",")
				out = append(out, x)
				continue
			}
		}
		x, s, _ = strings.Cut(s, ",")
		out = append(out, x)
	}
	return out
}

// listFields are the fields, of any kind, that hold a list.
var listFields = map[string]bool{
	"overrides": true, "subnets": true, "targetGroups": true, "capacityProviders": true, "defaultStrategy": true,
	"strategy": true, "environment": true, "secrets": true, "policies": true, "trust": true, "managedPolicies": true,
	"role": true, "ingress": true, "hosts": true, "paths": true,
}

// elementwise is what a list change adds and removes, each in the order of its list.
func elementwise(from, to string) (added, removed []string) {
	f, t := split(from), split(to)
	for _, x := range t {
		if !slices.Contains(f, x) {
			added = append(added, x)
		}
	}
	for _, x := range f {
		if !slices.Contains(t, x) {
			removed = append(removed, x)
		}
	}
	return added, removed
}

// fieldApplied is a key a kind's read may add to a resource's fields besides the compared
// ones: the value of its AppliedTag, what apply last applied.
const fieldApplied = "@applied"

// AppliedTag records, on the resources whose API does not read back every field it takes
// (ECS services keep no deployment configuration on moto, for one), a short hash of each
// field apply set. Plan compares a field the API returns with what it returns (drift is a
// change), and a field it does not return with the record: unchanged when the manifest
// still wants what was applied, a change otherwise.
const AppliedTag = "spotfleet:applied"

// record is the AppliedTag value of a resource's fields: a 6-hex-digit hash of each
// field and its value, in field order. 24 bits a field keeps a chance collision (an edit
// that plan misses) below one in 16 million per edit, and 20 fields in 140 characters,
// inside every tagging API's 256.
func record(fields map[string]string) string {
	var out []string
	for _, f := range slices.Sorted(maps.Keys(fields)) {
		out = append(out, fieldHash(f, fields[f]))
	}
	return strings.Join(out, " ")
}

func fieldHash(field, value string) string {
	h := sha256.Sum256([]byte(field + "\x00" + value))
	return hex.EncodeToString(h[:3])
}

// recorded says whether a record holds this field at this value.
func recorded(rec, field, value string) bool {
	return slices.Contains(strings.Fields(rec), fieldHash(field, value))
}

// diff is the fields of want that differ from have. A field have lacks is one the API did
// not return: it is compared with have's record when there is one (FromUnknown then, as
// the old value is not known), and taken as "" otherwise.
func diff(want, have map[string]string) []Diff {
	var out []Diff
	rec, hasRec := have[fieldApplied]
	for _, f := range slices.Sorted(maps.Keys(want)) {
		w := want[f]
		h, returned := have[f]
		var d Diff
		switch {
		case returned || !hasRec:
			if h == w {
				continue
			}
			d = Diff{Field: f, From: h, To: w}
		case recorded(rec, f, w):
			continue
		default:
			d = Diff{Field: f, To: w, FromUnknown: true}
		}
		if listFields[f] {
			d.Added, d.Removed = elementwise(d.From, d.To)
		}
		out = append(out, d)
	}
	return out
}

// attributes are a new resource's fields, as the diffs of its creation.
func attributes(want map[string]string) []Diff {
	var out []Diff
	for _, f := range slices.Sorted(maps.Keys(want)) {
		if want[f] == "" {
			continue
		}
		d := Diff{Field: f, To: want[f]}
		if listFields[f] {
			d.Added = split(want[f])
		}
		out = append(out, d)
	}
	return out
}

// stepDone reads a step of a removal that found its work already done (the policy detached,
// the role out of the profile: a retry after a lost answer) as done. The step's NotFound
// must not reach Delete, which would take it for the resource itself gone and leave it.
func stepDone(err error) error {
	if isNotFound(err) {
		return nil
	}
	return err
}

// isNotFound says whether an AWS error means the resource does not exist (any service's
// spelling of it), which a delete takes as done.
func isNotFound(err error) bool {
	var api smithy.APIError
	if !errors.As(err, &api) {
		return false
	}
	code := api.ErrorCode()
	switch code {
	case "NoSuchEntity", "AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist":
		return true
	case "ValidationError": // Auto Scaling: "AutoScalingGroup name not found - ..."
		return strings.Contains(api.ErrorMessage(), "not found")
	}
	return strings.HasSuffix(code, "NotFound") || strings.HasSuffix(code, "NotFoundException") ||
		strings.HasSuffix(code, ".NotFound") || strings.Contains(code, "NotFound.")
}
