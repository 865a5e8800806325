package spotfleet

import "time"

// SnapshotDelta is the fleet as changes to an earlier snapshot: the groups, services and
// target groups as they are (they are few), and of the instances, tasks and targets only
// those that appeared or changed since, and the names of those gone. A controller keeps
// its view of a large fleet from one round to the next with it, so that a round works in
// proportion to what changed.
type SnapshotDelta struct {
	Since, Version uint64 // the snapshot (or delta) it follows, and its own number
	Time           time.Time
	Groups         []Group
	Services       []Service
	TargetGroups   []TargetGroup
	Instances      []Instance // new or changed
	Tasks          []Task
	Targets        []Target
	GoneInstances  []string
	GoneTasks      []string
	GoneTargets    []TargetKey
}

// TargetKey names a target in the fleet: its group and its ID (and port).
type TargetKey struct {
	TargetGroup string
	TargetRef
}

// Key is the target's name in the fleet.
func (t Target) Key() TargetKey { return TargetKey{t.TargetGroup, t.Ref()} }
