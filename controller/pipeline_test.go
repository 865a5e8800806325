package controller

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spotfleet/spotfleet"
	"github.com/spotfleet/spotfleet/emulator"
	"github.com/spotfleet/spotfleet/fleetview"
	"github.com/spotfleet/spotfleet/manifest"
)

// busySpot is a Spot instance with tasks on it.
func (r *rig) busySpot() spotfleet.Instance {
	s := r.snapshot()
	for _, in := range r.spot() {
		for _, t := range s.Tasks {
			if t.Instance == in.ID {
				return in
			}
		}
	}
	r.t.Fatal("no Spot instance runs a task")
	return spotfleet.Instance{}
}

func registeredOn(s spotfleet.Snapshot, id string) int {
	n := 0
	for _, t := range s.Targets {
		if t.Instance == id && t.State.Registered() {
			n++
		}
	}
	return n
}

func checkClean(t *testing.T, rep fleetview.Report) {
	t.Helper()
	if got := rep.Interruptions.TasksStoppedWhileRegistered; got != 0 {
		t.Errorf("tasks stopped while registered: got %d, want 0", got)
	}
	if got := rep.Interruptions.DeadlineMissed; got != 0 {
		t.Errorf("deadlines missed: got %d, want 0", got)
	}
	if got := rep.Interruptions.NotDeregistered; got != 0 {
		t.Errorf("instances not deregistered before termination: got %d, want 0", got)
	}
}

// healthyOf counts the healthy tasks of a service in a snapshot.
func healthyOf(s spotfleet.Snapshot, service string) int {
	n := 0
	for _, t := range s.Tasks {
		if t.Service == service && t.Healthy {
			n++
		}
	}
	return n
}

// TestInterruptedInstanceServesUntilItsReplacementDoes: at the notice the instance drains
// (ECS starts the replacement tasks), leaves its group (which launches a replacement) and
// its pool is avoided, but its targets serve until the replacements are healthy: the
// service never runs below desired, and nothing stops while registered.
func TestInterruptedInstanceServesUntilItsReplacementDoes(t *testing.T) {
	withRig(t, fleet, func(t *testing.T, r *rig) {
		r.startController()
		in := r.busySpot()
		r.interrupt(in.Pool)

		s := r.snapshot()
		if n := registeredOn(s, in.ID); n == 0 {
			t.Errorf("a second after the notice the targets of %s are out: they should serve until their replacements do", in.ID)
		}
		got := r.instance(in.ID)
		if got.ContainerStatus != spotfleet.ContainerInstanceDraining || got.Group != "" {
			t.Errorf("after the notice: container %s, group %q; want DRAINING and detached", got.ContainerStatus, got.Group)
		}
		for _, g := range s.Groups {
			if g.Name == "spot" && !slices.Contains(g.Avoided, in.Pool) {
				t.Errorf("pool %s was just interrupted but group spot avoids %v", in.Pool, g.Avoided)
			}
		}
		out := time.Duration(-1)
		for sec := time.Duration(0); sec < 3*time.Minute; sec += time.Second {
			s := r.snapshot()
			if h := healthyOf(s, "web"); h < 4 {
				t.Fatalf("%d healthy tasks %s after the notice, want 4 throughout", h, sec)
			}
			if out < 0 && registeredOn(s, in.ID) == 0 {
				out = sec
			}
			time.Sleep(time.Second)
		}
		// Replacements start at once on the other instances and pass two health checks.
		if out < 0 || out > 15*time.Second {
			t.Errorf("the targets left %s after the notice, want once the replacements serve (within 15s)", out)
		}
		checkClean(t, r.report())
		st := r.c.Stats()
		if st.Notices != 1 || st.Active != 0 || st.DeadlineMissed != 0 {
			t.Errorf("stats: %d notices, %d active, %d missed; want 1, 0, 0", st.Notices, st.Active, st.DeadlineMissed)
		}
		for _, ph := range []Phase{PhaseDeregistered, PhaseStopped, PhaseReplacementReady, PhaseTerminated} {
			if st.Phases[ph].Count != 1 {
				t.Errorf("phase %s reached %d times, want 1", ph, st.Phases[ph].Count)
			}
		}
		if r.report().Capacity.SecondsBelowDesired != 0 {
			t.Errorf("%.0fs below desired, want 0", r.report().Capacity.SecondsBelowDesired)
		}
		if n := r.rec.count("DrainContainerInstances", in.ContainerInstance); n != 1 {
			t.Errorf("drained %d times, want 1", n)
		}
		if n := r.e.Queue().Len(); n != 0 {
			t.Errorf("%d messages left on the queue, want 0", n)
		}
	})
}

// TestInterruptedTargetsLeaveAtTheLatestSafeMoment: with no room to start replacements
// first (maximumPercent 100), the targets serve until the notice leaves just the drain of
// their requests in flight (the part of their deregistration delay their stop timeout does
// not cover, at least a second), their stop timeout and the margin; then they leave, the
// tasks are stopped with their full stop timeout, and the instance ends with nothing
// running.
func TestInterruptedTargetsLeaveAtTheLatestSafeMoment(t *testing.T) {
	yaml := strings.Replace(fleet, "    desiredCount: 4\n", "    desiredCount: 4\n    maximumPercent: 100\n    stopTimeout: 30s\n", 1)
	yaml = strings.Replace(yaml, "loadBalancer: {listenerPort: 8080}", "loadBalancer: {listenerPort: 8080, deregistrationDelay: 20s}", 1)
	withRig(t, yaml, func(t *testing.T, r *rig) {
		r.startController()
		in := r.busySpot()
		noticeAt := r.e.Now()
		r.interrupt(in.Pool)
		var outAt time.Time
		for range 130 {
			if outAt.IsZero() && registeredOn(r.snapshot(), in.ID) == 0 {
				outAt = r.e.Now()
			}
			time.Sleep(time.Second)
		}
		// 2m - 30s stop - 5s margin - 1s (the 30s stop covers the 20s delay) = 84s after the
		// notice, within a round.
		if d := outAt.Sub(noticeAt); d < 82*time.Second || d > 87*time.Second {
			t.Errorf("the targets left %s after the notice, want at the latest safe moment (84s)", d)
		}
		checkClean(t, r.report())
		if n := r.rec.count("StopTasks", "*"); n == 0 {
			t.Log("ECS stopped the tasks before the controller had to")
		}
	})
}

func TestDuplicateEventsAreActedOnOnce(t *testing.T) {
	withRig(t, fleet, func(t *testing.T, r *rig) {
		r.startController()
		in := r.busySpot()
		r.interrupt(in.Pool)
		for i := range 3 { // the same warning, delivered again by other rules or retries
			r.send(spotfleet.DetailSpotInterruption, eventID(i), interruptionOf(in.ID))
		}
		time.Sleep(3 * time.Minute)
		checkClean(t, r.report())
		for call, id := range map[string]string{"DrainContainerInstances": in.ContainerInstance, "DetachInstances": in.ID} {
			if n := r.rec.count(call, id); n != 1 {
				t.Errorf("%s called %d times for the instance, want 1", call, n)
			}
		}
		if st := r.c.Stats(); st.Events[OutcomeDuplicate] < 3 || st.Notices != 1 {
			t.Errorf("events %v, notices %d: want 3 duplicates and 1 notice", st.Events, st.Notices)
		}
		if n := r.e.Queue().Len(); n != 0 {
			t.Errorf("%d messages left on the queue, want 0", n)
		}
	})
}

// lapsingQueue cannot extend a message's visibility (as when ChangeMessageVisibility is
// throttled), so a held message is delivered again.
type lapsingQueue struct{ Queue }

func (q lapsingQueue) ChangeMessageVisibility(context.Context, string, time.Duration) error {
	return errThrottled
}

// TestRedeliveredMessageIsADuplicate: a message held by its notice and delivered again
// once its visibility lapsed is a duplicate, not a new notice, and is deleted once the
// notice is done (TestRedeliveryKeepsTheNewestReceiptHandle says by which handle).
func TestRedeliveredMessageIsADuplicate(t *testing.T) {
	withRig(t, fleet, func(t *testing.T, r *rig) {
		r.cfg.Queue, r.cfg.Visibility = lapsingQueue{r.e.Queue()}, 10*time.Second
		r.startController()
		r.interrupt(r.busySpot().Pool)
		time.Sleep(3 * time.Minute)
		checkClean(t, r.report())
		if st := r.c.Stats(); st.Events[OutcomeDuplicate] == 0 || st.Notices != 1 {
			t.Errorf("events %v, notices %d: want the held message delivered again, one notice", st.Events, st.Notices)
		}
		if n := r.e.Queue().Len(); n != 0 {
			t.Errorf("%d messages left on the queue, want 0", n)
		}
	})
}

// TestRedeliveryKeepsTheNewestReceiptHandle: SQS deletes a message received more than once
// only by its newest receipt handle, so the notice that holds it takes the new handle (and
// extends that one), and nothing is deleted meanwhile.
func TestRedeliveryKeepsTheNewestReceiptHandle(t *testing.T) {
	m, diags := manifest.Parse("test.yaml", []byte(fleet))
	if err := diags.Err(); err != nil {
		t.Fatal(err)
	}
	c, err := New(Config{Manifest: m, Provider: &recorder{}})
	if err != nil {
		t.Fatal(err)
	}
	v := newView(&spotfleet.Snapshot{Time: t0, Instances: []spotfleet.Instance{{ID: "i-1", Group: "spot",
		Lifecycle: spotfleet.Spot, State: spotfleet.InstanceRunning}}})
	d, _ := json.Marshal(interruptionOf("i-1"))
	body, _ := json.Marshal(spotfleet.Envelope{Version: "0", ID: "e-1", DetailType: spotfleet.DetailSpotInterruption,
		Source: spotfleet.SourceEC2, Account: emulator.AccountID, Time: t0, Region: m.Region, Detail: d})
	first := spotfleet.Message{ID: "m-1", ReceiptHandle: "h-1", Body: body, ReceiveCount: 1}
	if drop := c.intake(inputOf(&first), v, t0); len(drop) != 0 {
		t.Fatalf("the first delivery: deletes %v, want the message held", drop)
	}
	again := first
	again.ReceiptHandle, again.ReceiveCount = "h-2", 2
	if drop := c.intake(inputOf(&again), v, t0.Add(40*time.Second)); len(drop) != 0 {
		t.Errorf("the redelivery: deletes %v, want the message still held", drop)
	}
	n := c.notices[key{"i-1", spotfleet.KindInterruption}]
	if got := n.receipts(); !slices.Equal(got, []string{"h-2"}) {
		t.Errorf("the notice holds %v, want the newest handle h-2", got)
	}
	if _, old := c.extended["h-1"]; old || len(c.extended) != 1 {
		t.Errorf("extended %v, want only h-2", c.extended)
	}
}

func TestForeignAndMalformedEventsAreDeletedAndChangeNothing(t *testing.T) {
	withRig(t, fleet, func(t *testing.T, r *rig) {
		r.startController()
		before := r.snapshot()
		r.send(spotfleet.DetailSpotInterruption, "foreign", interruptionOf("i-0123456789abcdef0"))
		r.send(spotfleet.DetailRebalance, "foreign-2", spotfleet.RebalanceDetail{InstanceID: "i-0fffffffffffffff0"})
		r.sendRaw([]byte(`{"version": "0", "id": `))                                                                                     // cut short
		r.sendRaw([]byte(`{"id":"x","detail-type":"EC2 Spot Instance Interruption Warning","time":"2026-11-22T00:00:00Z","detail":{}}`)) // no instance
		r.sendRaw([]byte(strings.Repeat("[", 100_000)))                                                                                  // hostile nesting
		r.send("AWS API Call via CloudTrail", "other", map[string]string{"eventName": "RunInstances"})
		time.Sleep(5 * time.Second)

		for _, call := range []string{"DeregisterTargets", "DrainContainerInstances", "DetachInstances", "TerminateInstances"} {
			if n := r.rec.count(call, "*"); n != 0 {
				t.Errorf("%s called %d times, want 0", call, n)
			}
		}
		st := r.c.Stats()
		if st.Events[OutcomeForeign] != 2 || st.Events[OutcomeMalformed] != 3 || st.Events[OutcomeIgnored] < 1 {
			t.Errorf("events %v: want 2 foreign, 3 malformed, at least 1 ignored", st.Events)
		}
		if n := r.e.Queue().Len(); n != 0 {
			t.Errorf("%d messages left on the queue, want 0", n)
		}
		after := r.snapshot()
		if len(after.Instances) != len(before.Instances) || len(after.Targets) != len(before.Targets) {
			t.Errorf("the fleet changed: %d→%d instances, %d→%d targets", len(before.Instances), len(after.Instances), len(before.Targets), len(after.Targets))
		}
	})
}

// TestEventsOfAnotherAccountRegionOrSourceAreNotActedOn: an interruption of a fleet
// instance is acted on only when it comes from aws.ec2, of the fleet's account and region;
// the rest are counted untrusted, deleted, and change nothing.
func TestEventsOfAnotherAccountRegionOrSourceAreNotActedOn(t *testing.T) {
	withRig(t, fleet, func(t *testing.T, r *rig) {
		r.startController()
		in := r.busySpot()
		d, _ := json.Marshal(interruptionOf(in.ID))
		for i, env := range []spotfleet.Envelope{
			{Source: spotfleet.SourceEC2, Account: "999999999999", Region: "us-east-1"},
			{Source: "evil.source", Account: emulator.AccountID, Region: "us-east-1"},
			{Source: spotfleet.SourceAutoScaling, Account: emulator.AccountID, Region: "us-east-1"},
			{Source: spotfleet.SourceEC2, Account: emulator.AccountID, Region: "eu-west-1"},
		} {
			env.Version, env.ID, env.DetailType, env.Time, env.Detail = "0", eventID(i), spotfleet.DetailSpotInterruption, r.e.Now(), d
			b, _ := json.Marshal(env)
			r.sendRaw(b)
		}
		time.Sleep(5 * time.Second)
		for _, call := range []string{"DeregisterTargets", "DrainContainerInstances", "DetachInstances", "TerminateInstances"} {
			if n := r.rec.count(call, "*"); n != 0 {
				t.Errorf("%s called %d times, want 0", call, n)
			}
		}
		if got := r.c.Stats().Events[OutcomeUntrusted]; got != 4 {
			t.Errorf("%d events untrusted, want 4 (%v)", got, r.c.Stats().Events)
		}
		if n := r.e.Queue().Len(); n != 0 {
			t.Errorf("%d messages left on the queue, want 0", n)
		}
	})
}

func TestLateSupersededAndImpossibleEvents(t *testing.T) {
	withRig(t, fleet, func(t *testing.T, r *rig) {
		r.startController()
		in := r.busySpot()
		var od spotfleet.Instance
		for _, x := range r.snapshot().Instances {
			if x.Lifecycle == spotfleet.OnDemand {
				od = x
			}
		}
		r.send(spotfleet.DetailSpotInterruption, "forged", interruptionOf(od.ID)) // On-Demand is never interrupted
		r.interrupt(in.Pool)
		r.send(spotfleet.DetailRebalance, "rebalance-after", spotfleet.RebalanceDetail{InstanceID: in.ID}) // out of order
		time.Sleep(3 * time.Minute)
		r.send(spotfleet.DetailSpotInterruption, "late", interruptionOf(in.ID)) // after the instance is gone
		time.Sleep(5 * time.Second)

		st := r.c.Stats()
		for out, want := range map[Outcome]int{OutcomeRejected: 1, OutcomeSuperseded: 1, OutcomeLate: 1, OutcomeAccepted: 1} {
			if st.Events[out] != want {
				t.Errorf("%s events: got %d, want %d (all: %v)", out, st.Events[out], want, st.Events)
			}
		}
		if got := r.instance(od.ID); got.ContainerStatus != spotfleet.ContainerInstanceActive || registeredOn(r.snapshot(), od.ID) == 0 {
			t.Errorf("the On-Demand instance was acted on: %+v", got)
		}
		checkClean(t, r.report())
	})
}

func TestRestartMidDrainPicksUpWhereItWas(t *testing.T) {
	withRig(t, fleet, func(t *testing.T, r *rig) {
		r.startController()
		in := r.busySpot()
		r.interrupt(in.Pool)
		first := r.c
		r.stopController() // dies mid-drain: its message is held, not deleted
		if first.Stats().Phases[PhaseTerminated].Count != 0 {
			t.Fatal("the first controller saw the end; the test restarts too late")
		}
		time.Sleep(40 * time.Second) // past the visibility timeout: the message comes back
		r.startController()
		time.Sleep(3 * time.Minute)

		st := r.c.Stats()
		if st.Phases[PhaseTerminated].Count != 1 {
			t.Errorf("the restarted controller did not follow the notice to its end: %+v", st)
		}
		for call, id := range map[string]string{"DrainContainerInstances": in.ContainerInstance, "DetachInstances": in.ID} {
			if n := r.rec.count(call, id); n != 1 {
				t.Errorf("%s called %d times across the restart, want 1", call, n)
			}
		}
		checkClean(t, r.report())
		if n := r.e.Queue().Len(); n != 0 {
			t.Errorf("%d messages left on the queue, want 0", n)
		}
	})
}

func TestThrottledCallsAreRetriedAndNothingIsLost(t *testing.T) {
	withRig(t, fleet, func(t *testing.T, r *rig) {
		fails := map[string]int{"Snapshot": 2, "DeregisterTargets": 3, "DrainContainerInstances": 2, "DetachInstances": 2}
		r.rec.fail = func(call string) error {
			if fails[call] > 0 {
				fails[call]--
				return errThrottled
			}
			return nil
		}
		r.startController()
		in := r.busySpot()
		r.interrupt(in.Pool)
		time.Sleep(10 * time.Second)
		if n := registeredOn(r.snapshot(), in.ID); n != 0 {
			t.Errorf("%d targets still registered 10s after the notice despite retries", n)
		}
		time.Sleep(3 * time.Minute)
		checkClean(t, r.report())
		if n := r.e.Queue().Len(); n != 0 {
			t.Errorf("%d messages left on the queue, want 0", n)
		}
	})
}

func TestAgentReportStartsTheSamePipeline(t *testing.T) {
	withRig(t, fleet, func(t *testing.T, r *rig) {
		r.cfg.Queue = nil // only the agent
		r.startController()
		in := r.busySpot()
		if err := r.c.Report(context.Background(), spotfleet.KindInterruption, in.ID, r.e.Now().Add(2*time.Minute)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		if got := r.instance(in.ID); got.ContainerStatus != spotfleet.ContainerInstanceDraining || got.Group != "" {
			t.Errorf("after the agent's report: container %s, group %q; want DRAINING and detached", got.ContainerStatus, got.Group)
		}
		if err := r.c.Report(context.Background(), "reboot", in.ID, time.Time{}); err == nil {
			t.Error("a report of an unknown kind was accepted")
		}
	})
}

// hookTransport is a webhook receiver without a network: it fails the first attempt of
// every notification and records the rest.
type hookTransport struct {
	mu   sync.Mutex
	seen map[string]int
	got  []Notification
}

func (h *hookTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var n Notification
	if err := jsonDecode(req.Body, &n); err != nil {
		return nil, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.seen[n.ID]++
	status := http.StatusOK
	if h.seen[n.ID] == 1 {
		status = http.StatusServiceUnavailable
	} else {
		h.got = append(h.got, n)
	}
	return &http.Response{StatusCode: status, Status: http.StatusText(status), Body: http.NoBody, Request: req}, nil
}

func TestWebhooksGetEveryPhaseOnceDespiteFailures(t *testing.T) {
	yaml := fleet + "interruptions:\n  notify:\n    - webhook: http://hooks.test/spot\n"
	withRig(t, yaml, func(t *testing.T, r *rig) {
		hooks := &hookTransport{seen: map[string]int{}}
		r.cfg.HTTPClient = &http.Client{Transport: hooks}
		r.startController()
		in := r.busySpot()
		r.interrupt(in.Pool)
		r.send(spotfleet.DetailSpotInterruption, "dup", interruptionOf(in.ID))
		time.Sleep(3 * time.Minute)

		hooks.mu.Lock()
		defer hooks.mu.Unlock()
		var got []Phase
		for _, n := range hooks.got {
			if n.Instance != in.ID || n.Fleet != "t" || n.Pool != in.Pool.String() || n.Deadline == nil {
				t.Errorf("notification %+v lacks the instance, fleet, pool or deadline", n)
			}
			got = append(got, n.Phase)
		}
		slices.Sort(got)
		want := []Phase{PhaseDeregistered, PhaseReceived, PhaseReplacementReady, PhaseStopped, PhaseTerminated}
		if !slices.Equal(got, want) {
			t.Errorf("phases posted: got %v, want each of %v once", got, want)
		}
	})
}

// TestDrainIsClampedToTheTimeLeft: with a 90 s stop timeout, a 60 s deregistration delay
// cannot fit the notice; the target group's delay is lowered to what is left (120 - 90 - 5
// s margin, less the second the notice took to arrive) for the drain, then restored.
func TestDrainIsClampedToTheTimeLeft(t *testing.T) {
	yaml := strings.Replace(fleet, "    loadBalancer: {listenerPort: 8080}\n",
		"    stopTimeout: 90s\n    loadBalancer: {listenerPort: 8080, deregistrationDelay: 60s}\n", 1)
	withRig(t, yaml, func(t *testing.T, r *rig) {
		r.startController()
		in := r.busySpot()
		delay := func() time.Duration { return r.snapshot().TargetGroups[0].DeregistrationDelay }
		if d := delay(); d != time.Minute {
			t.Fatalf("delay before the notice: %s, want 1m", d)
		}
		r.interrupt(in.Pool)
		time.Sleep(3 * time.Minute)
		r.rec.mu.Lock()
		var seq []string
		for _, c := range r.rec.order {
			if strings.HasPrefix(c, "SetDeregistrationDelay") || strings.HasPrefix(c, "DeregisterTargets") {
				seq = append(seq, strings.Fields(c)[0]+" "+strings.Fields(c)[1])
			}
		}
		r.rec.mu.Unlock()
		// Lowered before the targets are deregistered (the delay applies from then on), and
		// restored once they are out (by the controller, or by ECS once the replacements
		// serve).
		if n := len(seq); n < 2 || n > 3 || !strings.HasPrefix(seq[0], "SetDeregistrationDelay 2") || seq[n-1] != "SetDeregistrationDelay 1m0s" ||
			(n == 3 && !strings.HasPrefix(seq[1], "DeregisterTargets")) {
			t.Errorf("calls %q: want the delay lowered to 20-25s, the deregistration, the delay restored", seq)
		}
		if d := delay(); d != time.Minute {
			t.Errorf("delay after the drain: %s, want the manifest's 1m again", d)
		}
		checkClean(t, r.report())
	})
}
