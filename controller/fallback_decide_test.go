package controller

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/spotfleet/spotfleet"
	"github.com/spotfleet/spotfleet/manifest"
	"pgregory.net/rapid"
)

func stepPolicy() *fallbackPolicy {
	return &fallbackPolicy{from: "spot", to: "on-demand", after: 30 * time.Second, returnAfter: 5 * time.Minute}
}

// TestCoverStep walks one cover through rounds: each row is a round, at a time after t0,
// with the from side's shortfall and the last refusal, and the target it must leave.
func TestCoverStep(t *testing.T) {
	type round struct {
		at        time.Duration
		need      int
		pending   int
		refusedAt time.Duration // < 0: no refusal yet
		want      int
	}
	for _, c := range []struct {
		name   string
		rounds []round
	}{
		{"a capacity error is covered at once", []round{
			{0, 2, 2, 0, 2},
		}},
		{"a shortfall without a classified failure waits for after", []round{
			{0, 2, 2, -1, 0},
			{29 * time.Second, 2, 2, -1, 0},
			{30 * time.Second, 2, 2, -1, 2},
		}},
		{"capacity booting is not a shortfall", []round{
			{0, 2, 0, -1, 0},
			{time.Minute, 2, 0, -1, 0},
		}},
		{"only what is not launched is covered", []round{
			{0, 3, 1, 0, 1},
		}},
		{"a refusal from before this episode does not count at once", []round{
			{10 * time.Minute, 1, 1, 0, 0},
			{10*time.Minute + 30*time.Second, 1, 1, 0, 1},
		}},
		{"held for returnAfter after the last refusal, then given back", []round{
			{0, 2, 2, 0, 2},
			{time.Minute, 0, 0, 50 * time.Second, 2},
			{5*time.Minute + 49*time.Second, 0, 0, 50 * time.Second, 2},
			{5*time.Minute + 50*time.Second, 0, 0, 50 * time.Second, 0},
		}},
		{"a refusal while held restarts the clock", []round{
			{0, 2, 2, 0, 2},
			{time.Minute, 0, 0, 0, 2},
			{4 * time.Minute, 0, 0, 4 * time.Minute, 2},
			{6 * time.Minute, 0, 0, 4 * time.Minute, 2},
			{9 * time.Minute, 0, 0, 4 * time.Minute, 0},
		}},
		{"given back only as far as Spot serves again", []round{
			{0, 3, 3, 0, 3},
			{6 * time.Minute, 1, 0, 0, 1},
			{7 * time.Minute, 0, 0, 0, 0},
		}},
		{"more lost while held raises the cover and restarts the clock", []round{
			{0, 1, 1, 0, 1},
			{time.Minute, 0, 0, 0, 1},
			{2 * time.Minute, 2, 2, 2 * time.Minute, 2},
			{6 * time.Minute, 0, 0, 2 * time.Minute, 2},
			{7 * time.Minute, 0, 0, 2 * time.Minute, 0},
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var cv cover
			for i, r := range c.rounds {
				refused := time.Time{}
				if r.refusedAt >= 0 {
					refused = t0.Add(r.refusedAt)
				}
				cv = cv.step(shortfall{need: r.need, pending: r.pending}, refused, t0.Add(r.at), stepPolicy())
				if cv.target != r.want {
					t.Fatalf("round %d (at %s): target %d, want %d", i, r.at, cv.target, r.want)
				}
			}
		})
	}
}

// ecsWorld is a snapshot of one service with tasks on both providers, and its companion.
func ecsWorld(tasks []spotfleet.Task, toDesired, companionDesired int) *spotfleet.Snapshot {
	s := &spotfleet.Snapshot{Time: t0,
		Groups: []spotfleet.Group{
			{Name: "spot", Desired: 2, MaxSize: 10},
			{Name: "on-demand", Desired: toDesired, MinSize: 1, MaxSize: 4, InstanceCPU: 2048, InstanceMemory: 7700},
		},
		Services: []spotfleet.Service{
			{Name: "web", Desired: 4, CPU: 1024, Memory: 1024},
			{Name: "web-fallback", Desired: companionDesired, CPU: 1024, Memory: 1024, Covers: "web"},
		},
		Tasks: slices.Clone(tasks),
	}
	for i := range s.Tasks { // a snapshot's tasks have IDs, one each
		s.Tasks[i].ID = fmt.Sprint("t-", i)
	}
	for i := range toDesired {
		s.Instances = append(s.Instances, spotfleet.Instance{ID: fmt.Sprintf("od-%d", i), Group: "on-demand",
			Lifecycle: spotfleet.OnDemand, State: spotfleet.InstanceRunning, Weight: 1, Healthy: true})
	}
	return s
}

func ecsPolicy() *fallbackPolicy {
	p := stepPolicy()
	p.ecs = true
	p.strategy = map[string][]manifest.CapacityProviderStrategy{"web": {
		{CapacityProvider: "on-demand", Base: 1, Weight: 1}, {CapacityProvider: "spot", Weight: 1}}}
	return p
}

func task(svc, provider string, status spotfleet.TaskStatus, healthy bool) spotfleet.Task {
	return spotfleet.Task{Service: svc, Provider: provider, Status: status, Healthy: healthy}
}

func TestDecideFallbackECS(t *testing.T) {
	running := spotfleet.TaskRunning
	od := task("web", "on-demand", running, true)
	spotOK := task("web", "spot", running, true)
	waiting := task("web", "spot", spotfleet.TaskProvisioning, false)
	covering := task("web-fallback", "on-demand", running, true)
	for _, c := range []struct {
		name      string
		tasks     []spotfleet.Task
		toDesired int
		companion int
		before    map[string]cover
		toFloor   int
		want      fallbackPlan
	}{
		{
			name:  "nothing short: nothing to do",
			tasks: []spotfleet.Task{od, od, spotOK, spotOK}, toDesired: 1, toFloor: -1,
			want: fallbackPlan{covers: map[string]cover{"web": {}}, desired: map[string]int{}, count: map[string]int{}, toFloor: -1},
		},
		{
			// Two On-Demand tasks of 1024 CPU fill one m5.large: the cover's two tasks
			// need another instance, which the group gets at once.
			name:  "two Spot tasks refused: two cover tasks and an instance for them",
			tasks: []spotfleet.Task{od, od, waiting, waiting}, toDesired: 1, toFloor: -1,
			want: fallbackPlan{desired: map[string]int{"on-demand": 2}, count: map[string]int{"web-fallback": 2}, toFloor: 1},
		},
		{
			name:  "covered and serving: nothing to change",
			tasks: []spotfleet.Task{od, od, waiting, waiting, covering, covering}, toDesired: 2, companion: 2, toFloor: 1,
			before: map[string]cover{"web": {target: 2, lastNeed: 2, pendingSince: t0, calmSince: t0}},
			want:   fallbackPlan{desired: map[string]int{}, count: map[string]int{}, toFloor: 1},
		},
		{
			// The cover is gone and its tasks too: the group goes back to what it had.
			name:  "given back: the group returns to its floor, then is left alone",
			tasks: []spotfleet.Task{od, od, spotOK, spotOK}, toDesired: 2, toFloor: 1,
			before: map[string]cover{"web": {}},
			want:   fallbackPlan{desired: map[string]int{"on-demand": 1}, count: map[string]int{}, toFloor: 1},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			v := newView(ecsWorld(c.tasks, c.toDesired, c.companion))
			got := decideFallback(v, nil, c.before, c.toFloor, t0, ecsPolicy())
			got.covers, got.returned = nil, nil
			c.want.covers = nil
			if d := cmp.Diff(c.want, got, cmp.AllowUnexported(fallbackPlan{})); d != "" {
				t.Errorf("plan (-want +got):\n%s", d)
			}
		})
	}
}

func TestDecideFallbackInstances(t *testing.T) {
	s := &spotfleet.Snapshot{Time: t0, Groups: []spotfleet.Group{
		{Name: "spot", Desired: 6, MaxSize: 20}, {Name: "on-demand", Desired: 1, MaxSize: 3}}}
	// Two healthy Spot instances of weight 2, one of weight 2 booting: 2 units short, none
	// of it launched.
	for i, h := range []bool{true, true} {
		s.Instances = append(s.Instances, spotfleet.Instance{ID: fmt.Sprint("s", i), Group: "spot", Weight: 2,
			State: spotfleet.InstanceRunning, Healthy: h, Lifecycle: spotfleet.Spot})
	}
	pol := stepPolicy()
	pol.toBase = 1
	p := decideFallback(newView(s), nil, nil, -1, t0, pol)
	// Base 1 + 2 units, clamped to the group's maximum of 3.
	if got := p.desired["on-demand"]; got != 3 {
		t.Errorf("on-demand desired %d, want 3 (base 1 + 2 units short)", got)
	}
	s.Groups[1].MaxSize = 2
	if got := decideFallback(newView(s), nil, nil, -1, t0, pol).desired["on-demand"]; got != 2 {
		t.Errorf("on-demand desired %d, want the group's maximum 2", got)
	}
}

// TestFallbackProperties drives one cover with random observations and refusals: the
// cover never rises above the shortfall, never falls below what Spot does not serve (so
// nothing goes before its replacement is healthy), and the fallback group never goes
// below its base.
func TestFallbackProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		pol := stepPolicy()
		pol.toBase = rapid.IntRange(0, 3).Draw(t, "base")
		pol.after = time.Duration(rapid.IntRange(0, 60).Draw(t, "after")) * time.Second
		pol.returnAfter = time.Duration(rapid.IntRange(0, 600).Draw(t, "returnAfter")) * time.Second
		desired := rapid.IntRange(1, 8).Draw(t, "desired")
		var covers map[string]cover
		now, refused := t0, time.Time{}
		for range rapid.IntRange(1, 40).Draw(t, "rounds") {
			now = now.Add(time.Duration(rapid.IntRange(1, 120).Draw(t, "dt")) * time.Second)
			if rapid.Bool().Draw(t, "refused") {
				refused = now
			}
			launched := rapid.IntRange(0, desired).Draw(t, "launched")
			healthy := rapid.IntRange(0, launched).Draw(t, "healthy")
			s := &spotfleet.Snapshot{Time: now, Groups: []spotfleet.Group{
				{Name: "spot", Desired: desired, MaxSize: 20}, {Name: "on-demand", Desired: rapid.IntRange(0, 12).Draw(t, "odDesired"), MaxSize: 12}}}
			for i := range launched {
				s.Instances = append(s.Instances, spotfleet.Instance{ID: fmt.Sprint("s", i), Group: "spot", Weight: 1,
					State: spotfleet.InstanceRunning, Healthy: i < healthy, Lifecycle: spotfleet.Spot})
			}
			need, pending := desired-healthy, desired-launched
			old := covers[pol.from].target
			p := decideFallback(newView(s), nil, covers, -1, refused, pol)
			got := p.covers[pol.from].target
			if got > old && got != min(need, pending) {
				t.Fatalf("cover raised from %d to %d with %d short and %d of it not launched", old, got, need, pending)
			}
			if got < old && got < need {
				t.Fatalf("cover lowered from %d to %d while Spot still lacks %d", old, got, need)
			}
			if d, ok := p.desired[pol.to]; ok && d < pol.toBase {
				t.Fatalf("fallback group set to %d, below its base %d", d, pol.toBase)
			}
			covers = p.covers
		}
	})
}

// TestBootingInstancesHoldWaitingTasks: tasks waiting for a Spot instance that is booting
// are on their way; only those beyond what it holds are covered.
func TestBootingInstancesHoldWaitingTasks(t *testing.T) {
	waiting := task("web", "spot", spotfleet.TaskProvisioning, false)
	od := task("web", "on-demand", spotfleet.TaskRunning, true)
	for booting, want := range []int{2, 1, 0} {
		s := ecsWorld([]spotfleet.Task{od, od, waiting, waiting}, 2, 0)
		s.Groups[0].InstanceCPU, s.Groups[0].InstanceMemory = 1024, 7700 // one task each
		for i := range booting {
			s.Instances = append(s.Instances, spotfleet.Instance{ID: fmt.Sprint("boot", i), Group: "spot",
				Lifecycle: spotfleet.Spot, State: spotfleet.InstancePending, Weight: 1})
		}
		p := decideFallback(newView(s), nil, nil, -1, t0, ecsPolicy())
		if got := p.covers["web"].target; got != want {
			t.Errorf("%d booting: cover %d, want %d", booting, got, want)
		}
	}
}
