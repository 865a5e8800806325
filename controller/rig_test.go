package controller

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/spotfleet/spotfleet"
	"github.com/spotfleet/spotfleet/emulator"
	"github.com/spotfleet/spotfleet/emulator/lbhttp"
	"github.com/spotfleet/spotfleet/emulator/proc"
	"github.com/spotfleet/spotfleet/emulator/scenario"
	"github.com/spotfleet/spotfleet/fleetview"
	"github.com/spotfleet/spotfleet/internal/iid"
	"github.com/spotfleet/spotfleet/internal/strictyaml"
	"github.com/spotfleet/spotfleet/manifest"
)

// fleet is an S0/S3-shaped fleet: one On-Demand instance, two Spot, four tasks behind a
// load balancer.
const fleet = `name: t
capacity:
  - name: on-demand
    instanceTypes: [m5.large]
    onDemandPercentageAboveBaseCapacity: 100
    minSize: 1
    desiredCapacity: 1
  - name: spot
    instanceTypes: [m5.large, m5a.large, m6i.large]
    minSize: 2
    desiredCapacity: 2
services:
  - name: web
    command: [web]
    desiredCount: 4
    loadBalancer: {listenerPort: 8080}
`

// recorder is the provider as the controller sees it: it counts the calls, and fail (when
// set) makes a call fail before it reaches the emulator.
type recorder struct {
	Provider
	mu    sync.Mutex
	calls map[string][]string // call → the IDs passed, one entry per ID
	order []string            // every call, in order
	fail  func(call string) error
}

func (r *recorder) note(call string, ids ...string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		if err := r.fail(call); err != nil {
			return err
		}
	}
	if r.calls == nil {
		r.calls = map[string][]string{}
	}
	r.calls[call] = append(r.calls[call], ids...)
	r.order = append(r.order, call+" "+strings.Join(ids, " "))
	if len(ids) == 0 {
		r.calls[call] = append(r.calls[call], "")
	}
	return nil
}

func (r *recorder) count(call, id string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, x := range r.calls[call] {
		if x == id || id == "*" {
			n++
		}
	}
	return n
}

func (r *recorder) InterruptionPending(ctx context.Context, id string) (bool, error) {
	if err := r.note("InterruptionPending", id); err != nil {
		return false, err
	}
	if err := ctx.Err(); err != nil { // as the SDK answers on a context that ended
		return false, err
	}
	return r.Provider.InterruptionPending(ctx, id)
}

func (r *recorder) Snapshot(ctx context.Context) (spotfleet.Snapshot, error) {
	if err := r.note("Snapshot"); err != nil {
		return spotfleet.Snapshot{}, err
	}
	return r.Provider.Snapshot(ctx)
}

// SnapshotDelta passes deltas on (the emulator gives them), failing as Snapshot does.
func (r *recorder) SnapshotDelta(ctx context.Context, since uint64) (spotfleet.SnapshotDelta, bool, error) {
	d, ok := r.Provider.(Deltas)
	if !ok {
		return spotfleet.SnapshotDelta{}, false, nil
	}
	if err := r.note("Snapshot"); err != nil {
		return spotfleet.SnapshotDelta{}, false, err
	}
	return d.SnapshotDelta(ctx, since)
}

func (r *recorder) DeregisterTargets(ctx context.Context, tg string, refs []spotfleet.TargetRef) error {
	var ids []string
	for _, ref := range refs {
		ids = append(ids, ref.ID)
	}
	if err := r.note("DeregisterTargets", ids...); err != nil {
		return err
	}
	return r.Provider.DeregisterTargets(ctx, tg, refs)
}

func (r *recorder) SetDeregistrationDelay(ctx context.Context, tg string, d time.Duration) error {
	if err := r.note("SetDeregistrationDelay", d.String()); err != nil {
		return err
	}
	return r.Provider.SetDeregistrationDelay(ctx, tg, d)
}

func (r *recorder) DrainContainerInstances(ctx context.Context, arns []string) error {
	if err := r.note("DrainContainerInstances", arns...); err != nil {
		return err
	}
	return r.Provider.DrainContainerInstances(ctx, arns)
}

func (r *recorder) DetachInstances(ctx context.Context, group string, ids []string) error {
	if err := r.note("DetachInstances", ids...); err != nil {
		return err
	}
	return r.Provider.DetachInstances(ctx, group, ids)
}

func (r *recorder) TerminateInstances(ctx context.Context, ids []string) error {
	if err := r.note("TerminateInstances", ids...); err != nil {
		return err
	}
	return r.Provider.TerminateInstances(ctx, ids)
}

func (r *recorder) SetDesiredCapacity(ctx context.Context, group string, units int) error {
	if err := r.note("SetDesiredCapacity", fmt.Sprintf("%s=%d", group, units)); err != nil {
		return err
	}
	return r.Provider.SetDesiredCapacity(ctx, group, units)
}

func (r *recorder) SetDesiredCount(ctx context.Context, service string, count int) error {
	if err := r.note("SetDesiredCount", fmt.Sprintf("%s=%d", service, count)); err != nil {
		return err
	}
	return r.Provider.SetDesiredCount(ctx, service, count)
}

// rig is an emulated fleet with a controller, inside a synctest bubble.
type rig struct {
	t    *testing.T
	m    *manifest.Manifest
	e    *emulator.Emulator
	rec  *recorder
	c    *Controller
	cfg  Config
	stop context.CancelFunc
	done chan struct{}
}

// withRig runs f with a fleet that is up and serving (3 emulated minutes in).
func withRig(t *testing.T, yaml string, f func(t *testing.T, r *rig)) {
	t.Helper()
	withRigAt(t, yaml, 3*time.Minute, f)
}

// withRigAt runs f once the fleet has run for warmup (0: as it is created).
func withRigAt(t *testing.T, yaml string, warmup time.Duration, f func(t *testing.T, r *rig)) {
	t.Helper()
	m, diags := manifest.Parse("test.yaml", []byte(yaml))
	if err := diags.Err(); err != nil {
		t.Fatal(err)
	}
	synctest.Test(t, func(t *testing.T) {
		runner := &proc.Fake{}
		e, err := emulator.New(m, emulator.Options{Runner: runner, Prober: runner, Listen: lbhttp.MemListen,
			Seed: 7, BootTime: time.Minute, AgentDrainsOnNotice: m.Workload == manifest.WorkloadECS})
		if err != nil {
			t.Fatal(err)
		}
		if err := e.Start(); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		worldDone := make(chan struct{})
		go func() { e.Run(ctx); close(worldDone) }()
		r := &rig{t: t, m: m, e: e, rec: &recorder{Provider: e}}
		cert, err := e.IdentityCertificate()
		if err != nil {
			t.Fatal(err)
		}
		identity, err := iid.NewVerifier(cert)
		if err != nil {
			t.Fatal(err)
		}
		r.cfg = Config{Manifest: m, Provider: r.rec, Queue: e.Queue(), Account: emulator.AccountID, Identity: identity}
		defer func() {
			r.stopController()
			cancel()
			<-worldDone
			e.Close()
		}()
		time.Sleep(warmup)
		if warmup > 0 && !e.Ready() {
			t.Fatalf("the fleet is not serving after %s", warmup)
		}
		f(t, r)
	})
}

// startController starts a controller (again, after stopController: a restart).
func (r *rig) startController() {
	c, err := New(r.cfg)
	if err != nil {
		r.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.c, r.stop, r.done = c, cancel, make(chan struct{})
	go func() { c.Run(ctx); close(r.done) }()
}

func (r *rig) stopController() {
	if r.stop != nil {
		r.stop()
		<-r.done
		r.stop = nil
	}
}

func (r *rig) snapshot() spotfleet.Snapshot {
	s, err := r.e.Snapshot(context.Background())
	if err != nil {
		r.t.Fatal(err)
	}
	return s
}

func (r *rig) instance(id string) spotfleet.Instance {
	for _, in := range r.snapshot().Instances {
		if in.ID == id {
			return in
		}
	}
	r.t.Fatalf("instance %s not found", id)
	return spotfleet.Instance{}
}

// spot returns the live Spot instances of the fleet that run tasks or serve.
func (r *rig) spot() []spotfleet.Instance {
	var out []spotfleet.Instance
	for _, in := range r.snapshot().Instances {
		if in.Lifecycle == spotfleet.Spot && in.Alive() && in.Group != "" {
			out = append(out, in)
		}
	}
	return out
}

// play runs a scenario step now.
func (r *rig) play(st scenario.Step) {
	at := r.e.Elapsed().Truncate(time.Second) + time.Second
	st.At = strictyaml.Duration(at)
	if err := r.e.Play(&scenario.Scenario{Steps: []scenario.Step{st}}); err != nil {
		r.t.Fatal(err)
	}
	time.Sleep(at - r.e.Elapsed() + time.Second) // the step, and a second for the controller
}

// interrupt gives Spot instances of a pool their notice through the emulated market.
func (r *rig) interrupt(pool spotfleet.Pool) {
	r.play(scenario.Step{Interrupt: &scenario.InterruptStep{Pools: []string{pool.String()}, Count: 1}})
}

// send puts an EventBridge event on the queue, as a rule would (or a forger).
func (r *rig) send(detailType, id string, detail any) {
	d, _ := json.Marshal(detail)
	source, known := spotfleet.SourceOf(detailType)
	if !known {
		source = spotfleet.SourceEC2
	}
	env := spotfleet.Envelope{Version: "0", ID: id, DetailType: detailType, Source: source, Account: emulator.AccountID,
		Time: r.e.Now().Truncate(time.Second), Region: "us-east-1", Detail: d}
	b, _ := json.Marshal(env)
	r.sendRaw(b)
}

func (r *rig) sendRaw(b []byte) {
	if err := r.e.Queue().SendMessage(context.Background(), b); err != nil {
		r.t.Fatal(err)
	}
}

func (r *rig) report() fleetview.Report { return r.e.Report(nil) }

var errThrottled = errors.New("ThrottlingException: Rate exceeded")

func interruptionOf(id string) spotfleet.SpotInterruptionDetail {
	return spotfleet.SpotInterruptionDetail{InstanceID: id, InstanceAction: "terminate"}
}

func eventID(n int) string { return fmt.Sprintf("e-%04d", n) }

func jsonDecode(r io.Reader, v any) error { return json.NewDecoder(r).Decode(v) }
