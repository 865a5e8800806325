package manifest

import "strings"

// referenceIntro is the prose of docs/manifest.md; ~ stands for a backtick, which a Go raw
// string cannot hold.
const referenceIntro = `# spotfleet.yaml reference

<!-- Generated from manifest/types.go by: go test ./manifest -run TestReferenceIsCurrent -update -->

One manifest describes one fleet. Every field is shown below with what it does, its default
and its allowed values; ~spotfleet init~ prints the same text, ~spotfleet schema~ a JSON
Schema for editors, and ~spotfleet validate -f FILE -o yaml~ the manifest with every default
filled in.

Durations are Go durations (~30s~, ~5m~, ~1h30m~). Errors and warnings are reported all at
once as ~FILE:LINE:COL: message (hint)~; warnings (legal but unwise) exit 0.

Checks beyond types and ranges: group, service and provider names are unique; every
~capacityProvider~ and ~fallback~ group exists; at most one provider of a strategy sets
~base~; zones belong to the region; instance types exist (in the us-east-1 price table) and a
task fits on at least one type of each group it may use; ~minSize <= desiredCapacity <=
maxSize~; the health-check timeout is below its interval; ~RequestCountPerTarget~ needs a
load balancer. Warnings: a drain (deregistrationDelay + stopTimeout) longer than the 2-minute
notice, a Spot group with fewer than 3 instance types or 2 zones, mixed architectures in a
group, a fallback that is not Spot to On-Demand, a single task on Spot, no room to start a
replacement before a task stops.

`

// Reference renders docs/manifest.md: the complete, commented manifest for each workload.
// It is generated from the struct tags, so it cannot drift from what validate accepts.
func Reference() string {
	var b strings.Builder
	b.WriteString(strings.ReplaceAll(referenceIntro, "~", "`"))
	for _, w := range []Workload{WorkloadECS, WorkloadInstances} {
		text, _ := Template(string(w))
		b.WriteString("## workload: " + string(w) + "\n\n```yaml\n" + text + "```\n\n")
	}
	return strings.TrimRight(b.String(), "\n") + "\n"
}
