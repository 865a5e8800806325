package controller

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spotfleet/spotfleet"
	"github.com/spotfleet/spotfleet/clock"
	"github.com/spotfleet/spotfleet/internal/iid"
	"github.com/spotfleet/spotfleet/manifest"
)

// Config configures a controller. Zero values take the defaults given.
type Config struct {
	Manifest *manifest.Manifest // validated
	Provider Provider
	Queue    Queue // nil: only Report feeds notices
	Clock    clock.Clock
	Log      *slog.Logger
	// Registry receives the controller's metrics; default a new registry (see Gatherer).
	Registry *prometheus.Registry
	// HTTPClient posts webhook notifications; default http.DefaultClient.
	HTTPClient *http.Client
	// Margin is kept between a task's SIGKILL and its instance's end; default 5s.
	Margin time.Duration
	// Visibility is how long a received message stays hidden; the controller extends it
	// while the notice is handled, so a controller that dies leaves its messages to the
	// next one after at most this long. Default 30s.
	Visibility time.Duration
	// Tick is how often the fleet is observed without an event; default 1s.
	Tick time.Duration
	// Receivers is how many queue long polls run at once; default 2. While the queue is
	// deep (a poll returns a full batch) more join, up to MaxReceivers (default 16), each
	// leaving when its poll comes back short: a burst of thousands of events is read in
	// parallel, an idle queue costs two polls.
	Receivers, MaxReceivers int
	// Account is the fleet's AWS account: events of another account are not acted on
	// ("" accepts any, for tests that make their own events).
	Account string
	// Identity verifies the instance identity documents of agent reports; nil refuses
	// every report.
	Identity *iid.Verifier
	// VerifyDeltas (tests of a sequential world, such as a simulation's: the fleet must not
	// move between two calls) holds the picture kept by deltas against a full snapshot after
	// every delta, and panics on a difference.
	VerifyDeltas bool
	// Sequential makes each round's calls one after the other, in a fixed order, for a
	// simulation that must give the same result on every run (Step).
	Sequential bool
	// Lease, when set, is shared by the fleet's controllers: only its holder receives
	// events and acts, and each of its calls is fenced (lease.go). Nil: this controller is
	// the only one.
	Lease spotfleet.Lease
	// Holder names this controller in the lease; default the host name and a random part.
	Holder string
	// LeaseTTL is how long a holding lasts unrenewed; default LeaseTTL.
	LeaseTTL time.Duration
}

// Controller runs the interruption and rebalance pipeline.
type Controller struct {
	cfg Config
	m   *manifest.Manifest
	p   Provider
	q   Queue
	clk clock.Clock
	log *slog.Logger
	pol policy
	// maxPercent is each service's maximumPercent, for the replacement-room warning.
	maxPercent map[string]int
	reg        *prometheus.Registry
	metrics    *metrics
	notifier   *Notifier
	inbox      chan input
	receivers  atomic.Int32 // queue polls running

	mem      *poolMemory
	fb       *fallback            // nil without a fallback block
	failures map[string]time.Time // launch failure activity → when, so each counts once
	notices  map[key]*notice
	extended map[string]time.Time // receipt handle → when its visibility was last extended
	pending  []input              // read but not yet classified (the snapshot failed)

	lease leadership

	mu    sync.Mutex // guards stats and pic, read from other goroutines
	stats Stats
	pic   *picture // the fleet as the last round saw it (picture.go); its own lock
	picMu sync.RWMutex
	lat   map[Phase][]time.Duration

	// The periodic summary in the log: when the last was, and what happened since.
	summarizedAt   time.Time
	rounds         int
	lastRound      time.Duration
	eventsSinceSum int
}

// summaryEvery is how often the controller logs a line of what it is doing.
const summaryEvery = time.Minute

// maxKept bounds the latencies (per phase) kept for Stats; the histograms keep the rest.
const maxKept = 10_000

// input is one event from the queue or one report from an agent.
type input struct {
	msg *spotfleet.Message
	ev  spotfleet.Event
	err error
	sig *signal // from an agent
}

// New builds a controller; Run starts it.
func New(cfg Config) (*Controller, error) {
	if cfg.Manifest == nil || cfg.Provider == nil {
		return nil, errors.New("controller: a manifest and a provider are required")
	}
	cfg = cfg.WithDefaults()
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
	}
	cfg.Margin = cmp.Or(cfg.Margin, 5*time.Second)
	cfg.Visibility = cmp.Or(cfg.Visibility, 30*time.Second)
	cfg.Tick = cmp.Or(cfg.Tick, time.Second)
	cfg.Receivers = cmp.Or(cfg.Receivers, 2)
	cfg.MaxReceivers = max(cmp.Or(cfg.MaxReceivers, 16), cfg.Receivers)
	cfg.LeaseTTL = cmp.Or(cfg.LeaseTTL, LeaseTTL)
	if cfg.Holder == "" {
		host, _ := os.Hostname()
		cfg.Holder = fmt.Sprintf("%s-%08x", cmp.Or(host, "controller"), rand.Uint32())
	}
	m := cfg.Manifest
	c := &Controller{cfg: cfg, m: m, p: cfg.Provider, q: cfg.Queue, clk: cfg.Clock, log: cfg.Log, reg: cfg.Registry,
		inbox: make(chan input, 1024), mem: newPoolMemory(m.Interruptions.PoolMemory.D()),
		notices: map[key]*notice{}, extended: map[string]time.Time{}, failures: map[string]time.Time{},
		stats: Stats{Events: map[Outcome]int{}}, lat: map[Phase][]time.Duration{}}
	c.pol = policy{margin: cfg.Margin, baseDelay: map[string]time.Duration{}, maxReplacing: 1, spotGroups: map[string]bool{}}
	for _, g := range m.Capacity {
		c.pol.spotGroups[g.Name] = !g.AllOnDemand()
	}
	c.maxPercent = map[string]int{}
	for _, s := range m.AllServices() {
		c.maxPercent[s.Name] = s.MaximumPercent
		if s.LoadBalancer != nil {
			c.pol.baseDelay[m.TargetGroupName(s)] = s.LoadBalancer.DeregistrationDelay.D()
		}
	}
	c.metrics = newMetrics(cfg.Registry, func() float64 {
		c.mu.Lock()
		defer c.mu.Unlock()
		return float64(c.stats.Active)
	}, func() float64 {
		if c.leading() {
			return 1
		}
		return 0
	})
	c.notifier = NewNotifier(cfg, func(r string) { c.metrics.notify.WithLabelValues(r).Inc() })
	if pol := newFallbackPolicy(m); pol != nil {
		c.fb = &fallback{pol: pol, covers: map[string]cover{}, toFloor: -1}
	}
	return c, nil
}

// WithDefaults fills what a controller and the seed functions share.
func (cfg Config) WithDefaults() Config {
	cfg.Clock = cmp.Or[clock.Clock](cfg.Clock, clock.Real{})
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = http.DefaultClient
	}
	return cfg
}

// Gatherer serves the controller's metrics.
func (c *Controller) Gatherer() prometheus.Gatherer { return c.reg }

// Run handles events until ctx ends.
func (c *Controller) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wg.Go(func() { c.notifier.Run(ctx) })
	if c.cfg.Lease != nil {
		c.tryHold(ctx) // before the first round, so that a lone controller acts at once
		wg.Go(func() { c.lead(ctx) })
	}
	if c.q != nil {
		c.receivers.Store(int32(c.cfg.Receivers))
		for range c.cfg.Receivers {
			wg.Go(func() { c.receive(ctx, &wg, false) })
		}
	}
	tick := c.clk.After(c.cfg.Tick)
	for {
		batch := c.pending
		c.pending = nil
		select {
		case <-ctx.Done():
			return nil
		case in := <-c.inbox:
			batch = c.drainInbox(append(batch, in))
		case <-tick:
			tick = c.clk.After(c.cfg.Tick)
		}
		c.round(ctx, batch)
	}
}

// receive long-polls the queue into the inbox. A full batch starts another receiver (up to
// MaxReceivers); an extra one ends when its poll comes back short.
func (c *Controller) receive(ctx context.Context, wg *sync.WaitGroup, extra bool) {
	if extra {
		defer c.receivers.Add(-1)
	}
	backoff := time.Second
	for ctx.Err() == nil {
		if !c.leading() { // a follower leaves the events to the leader
			if extra {
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-c.clk.After(c.cfg.Tick):
			}
			continue
		}
		msgs, err := c.q.ReceiveMessages(ctx, receiveBatch, time.Second, c.cfg.Visibility)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			c.metrics.calls.WithLabelValues("ReceiveMessage", "error").Inc()
			c.log.Warn("cannot read the event queue; retrying", "err", err, "in", backoff)
			select {
			case <-ctx.Done():
				return
			case <-c.clk.After(backoff):
			}
			backoff = min(backoff*2, 30*time.Second)
			continue
		}
		backoff = time.Second
		if len(msgs) == receiveBatch && c.receivers.Load() < int32(c.cfg.MaxReceivers) {
			c.receivers.Add(1)
			wg.Go(func() { c.receive(ctx, wg, true) })
		}
		for i := range msgs {
			select {
			case c.inbox <- inputOf(&msgs[i]):
			case <-ctx.Done():
				return
			}
		}
		if extra && len(msgs) < receiveBatch {
			return
		}
	}
}

// receiveBatch is the most messages one SQS receive returns.
const receiveBatch = 10

// inputOf is a queue message as a round reads it: the event, or why it is malformed.
func inputOf(m *spotfleet.Message) input {
	ev, err := spotfleet.ParseEvent(m.Body)
	return input{msg: m, ev: ev, err: err}
}

// drainInbox adds to batch what is waiting in the inbox, without waiting, up to a round's
// worth.
func (c *Controller) drainInbox(batch []input) []input {
	for len(batch) < maxBatch {
		select {
		case in := <-c.inbox:
			batch = append(batch, in)
		default:
			return batch
		}
	}
	return batch
}

// maxBatch bounds the inputs one round takes.
const maxBatch = 10_000

// Report feeds a notice seen by an agent on the instance (from its metadata service).
func (c *Controller) Report(ctx context.Context, kind spotfleet.EventKind, instance string, deadline time.Time) error {
	if kind != spotfleet.KindInterruption && kind != spotfleet.KindRebalance {
		return fmt.Errorf("kind %q: want %s or %s", kind, spotfleet.KindInterruption, spotfleet.KindRebalance)
	}
	if instance == "" {
		return errors.New("instance is required")
	}
	now := c.clk.Now()
	if kind == spotfleet.KindInterruption && deadline.IsZero() {
		deadline = now.Add(spotfleet.SpotNotice)
	}
	select {
	case c.inbox <- input{sig: &signal{kind: kind, instance: instance, deadline: deadline}}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// round is one observe-decide-act cycle; a follower makes none.
func (c *Controller) round(ctx context.Context, batch []input) {
	if !c.leading() {
		// What it read before it lost the lease goes back to the queue when its visibility
		// ends, for the leader; agents' reports to a follower are refused (serveReport).
		return
	}
	began := c.clk.Now()
	defer func() {
		d := c.clk.Now().Sub(began)
		c.metrics.round.Observe(d.Seconds())
		c.rounds, c.lastRound, c.eventsSinceSum = c.rounds+1, d, c.eventsSinceSum+len(batch)
		c.summarize(began)
	}()
	if w, ok := c.p.(Watcher); ok {
		w.Changed(named(batch, c.notices))
	}
	v, err := c.observe(ctx)
	if err != nil {
		if ctx.Err() == nil {
			c.metrics.calls.WithLabelValues("Snapshot", "error").Inc()
			c.log.Warn("cannot observe the fleet; retrying next round", "err", err)
		}
		c.pending = batch
		return
	}
	c.metrics.calls.WithLabelValues("Snapshot", "ok").Inc()
	now := c.clk.Now()
	for _, g := range v.snap.Groups {
		for _, f := range g.Failures {
			c.launchFailed(g.Name, f, v, now)
		}
	}
	for _, sv := range v.snap.Services {
		for _, f := range sv.Refusals {
			c.launchFailed(manifest.FargateSpot, f, v, now)
		}
	}
	var drop []string
	for _, in := range batch {
		drop = append(drop, c.intake(in, v, now)...)
	}
	c.pol.maxReplacing = max(1, v.pic.alive*c.m.Interruptions.RebalanceMaxPercent/100)

	list := slices.SortedFunc(maps.Values(c.notices), func(a, b *notice) int {
		return cmp.Or(a.receivedAt.Compare(b.receivedAt), cmp.Compare(a.instance, b.instance))
	})
	p := decide(v, list, c.pol, func(pl spotfleet.Pool) float64 { return c.mem.value(pl, now) })
	c.apply(ctx, p)
	if c.fb != nil {
		c.cover(ctx, v, leavingOf(list))
	}
	for _, k := range p.admit {
		if n := c.notices[k]; n != nil {
			n.admitted = true
			c.log.Info("rebalance: replacing at-risk instance", "instance", n.instance, "pool", n.pool)
		}
	}
	now = c.clk.Now()
	for _, r := range p.reached {
		if n := c.notices[r.notice]; n != nil {
			c.reach(n, r.phase, now)
		}
	}
	for _, k := range p.done {
		if n := c.notices[k]; n != nil {
			drop = append(drop, n.receipts()...)
			delete(c.notices, k)
		}
	}
	inFlight := inFlight(c.notices)
	c.mu.Lock()
	c.stats.Active, c.stats.InFlight = len(c.notices), inFlight
	c.mu.Unlock()
	c.settle(ctx, drop, now)
}

// named lists the instances (and Fargate tasks) a round's inputs and the notices in
// flight are about.
func named(batch []input, notices map[key]*notice) []string {
	out := make([]string, 0, len(batch)+len(notices))
	for _, in := range batch {
		if in.sig != nil {
			out = append(out, in.sig.instance)
		}
		out = append(out, in.ev.InstanceID, in.ev.Task, in.ev.ContainerInstance)
	}
	for _, n := range notices {
		out = append(out, n.instance)
	}
	return out
}

// reach records that a notice reached a phase: its latency, and a notification.
func (c *Controller) reach(n *notice, ph Phase, at time.Time) {
	if _, ok := n.reached[ph]; ok {
		return
	}
	n.reached[ph] = at
	d := at.Sub(n.receivedAt)
	if ph != PhaseReceived {
		c.metrics.phase.WithLabelValues(string(n.kind), string(ph)).Observe(d.Seconds())
		c.mu.Lock()
		if len(c.lat[ph]) >= maxKept { // a long-running controller keeps the recent half
			c.lat[ph] = append(c.lat[ph][:0], c.lat[ph][maxKept/2:]...)
		}
		c.lat[ph] = append(c.lat[ph], d)
		c.mu.Unlock()
	}
	if ph == PhaseTerminated && n.action == actionInterruption {
		stopped, out := n.reachedBefore(PhaseStopped, at), n.reachedBefore(PhaseDeregistered, at)
		if !stopped || !out {
			c.metrics.missed.Inc()
			c.mu.Lock()
			c.stats.DeadlineMissed++
			c.mu.Unlock()
			c.log.Warn("interrupted instance ended before it was out of service", "instance", n.instance, "deregistered", out, "stopped", stopped)
		}
	}
	x := Notification{ID: fmt.Sprintf("%s/%s/%s/%s", c.m.Name, n.instance, n.kind, ph), Fleet: c.m.Name,
		Instance: n.instance, Pool: n.pool.String(), Kind: n.kind, Action: string(n.action), Phase: ph, Time: at}
	if n.kind == spotfleet.KindTaskStopped { // a Fargate Spot task, interrupted alone
		x.Instance, x.Task, x.Kind = "", n.instance, spotfleet.KindInterruption
	}
	if !n.deadline.IsZero() {
		x.Deadline = &n.deadline
	}
	c.notifier.Send(x)
	c.log.Debug("phase", "instance", n.instance, "kind", n.kind, "phase", ph, "after", d)
}

func (c *Controller) count(kind string, out Outcome) {
	c.metrics.events.WithLabelValues(kind, string(out)).Inc()
	c.mu.Lock()
	c.stats.Events[out]++
	if out == OutcomeAccepted {
		c.stats.Notices++
	}
	c.mu.Unlock()
}

// settle deletes the messages that are done with and keeps the held ones invisible.
func (c *Controller) settle(ctx context.Context, drop []string, now time.Time) {
	if c.q == nil {
		return
	}
	g := c.calls(16)
	for _, h := range drop {
		delete(c.extended, h)
		g.do(func() {
			c.call(ctx, "DeleteMessage", func(ctx context.Context) error { return c.q.DeleteMessage(ctx, h) })
		})
	}
	for _, n := range c.notices {
		for _, h := range n.held {
			if now.Sub(c.extended[h.receipt]) < c.cfg.Visibility/3 {
				continue
			}
			c.extended[h.receipt] = now
			g.do(func() {
				c.call(ctx, "ChangeMessageVisibility", func(ctx context.Context) error {
					return c.q.ChangeMessageVisibility(ctx, h.receipt, c.cfg.Visibility)
				})
			})
		}
	}
	g.wait()
}

// observe brings the controller's picture of the fleet up to date: by a delta when the
// provider gives one that follows the picture, else by a full snapshot.
func (c *Controller) observe(ctx context.Context) (*view, error) {
	if dp, ok := c.p.(Deltas); ok && c.pic != nil && c.pic.version != 0 {
		d, ok, err := dp.SnapshotDelta(ctx, c.pic.version)
		if err != nil {
			return nil, err
		}
		if ok {
			c.picMu.Lock()
			c.pic.apply(&d)
			c.picMu.Unlock()
			if c.cfg.VerifyDeltas {
				if err := c.verify(ctx); err != nil {
					return nil, err
				}
			}
			return c.pic.view(), nil
		}
	}
	snap, err := c.p.Snapshot(ctx)
	if err != nil {
		return nil, err
	}
	pic := loadPicture(&snap)
	c.picMu.Lock()
	c.pic = pic
	c.picMu.Unlock()
	return pic.view(), nil
}

// verify holds the picture kept by deltas against a full snapshot taken at the same moment
// (tests: Config.verifyDeltas), and goes on from that snapshot.
func (c *Controller) verify(ctx context.Context) error {
	snap, err := c.p.Snapshot(ctx)
	if err != nil {
		return err
	}
	fresh := loadPicture(&snap)
	kept, full := c.pic.snapshot(), fresh.snapshot()
	kept.Version, full.Version = 0, 0
	if !reflect.DeepEqual(kept, full) || !sameCounts(c.pic, fresh) {
		panic(fmt.Sprintf("controller: the picture kept by deltas differs from a snapshot at %s: %s", snap.Time, firstDifference(kept, full)))
	}
	c.pic.version = snap.Version
	return nil
}

// summarize logs, at most once every summaryEvery, one line of what the controller is
// doing: notices in flight, covers, rounds and events since the last line, the last round's
// duration.
func (c *Controller) summarize(now time.Time) {
	if now.Sub(c.summarizedAt) < summaryEvery {
		return
	}
	if c.summarizedAt.IsZero() {
		c.summarizedAt = now
		return
	}
	attrs := []any{"notices", len(c.notices), "rounds", c.rounds, "events", c.eventsSinceSum,
		"lastRound", c.lastRound.Round(time.Millisecond)}
	if c.fb != nil {
		covered := 0
		for _, cv := range c.fb.covers {
			covered += cv.target
		}
		attrs = append(attrs, "covered", covered)
	}
	c.log.Info("summary", attrs...)
	c.summarizedAt, c.rounds, c.eventsSinceSum = now, 0, 0
}

// LastSnapshot is the fleet as the last round saw it (the zero Snapshot before the first).
func (c *Controller) LastSnapshot() spotfleet.Snapshot {
	c.picMu.RLock()
	defer c.picMu.RUnlock()
	if c.pic == nil {
		return spotfleet.Snapshot{}
	}
	return c.pic.snapshot()
}

// inFlight describes the oldest notices for Stats, at most maxInFlightShown of them: the
// dashboard's table, not a copy of a burst of thousands each round.
func inFlight(notices map[key]*notice) []NoticeState {
	list := slices.SortedFunc(maps.Values(notices), func(a, b *notice) int {
		return cmp.Or(a.receivedAt.Compare(b.receivedAt), cmp.Compare(a.instance, b.instance))
	})
	out := make([]NoticeState, 0, min(len(list), maxInFlightShown))
	for _, n := range list[:min(len(list), maxInFlightShown)] {
		st := NoticeState{Instance: n.instance, Kind: n.kind, Action: string(n.action), Pool: n.pool.String(), ReceivedAt: n.receivedAt,
			Reached: map[Phase]float64{}}
		if !n.deadline.IsZero() {
			d := n.deadline
			st.Deadline = &d
		}
		for ph, at := range n.reached {
			st.Reached[ph] = math.Round(at.Sub(n.receivedAt).Seconds()*10) / 10
		}
		out = append(out, st)
	}
	return out
}

// maxInFlightShown bounds Stats.InFlight; Stats.Active counts them all.
const maxInFlightShown = 200
