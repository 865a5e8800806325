package emulator

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/spotfleet/spotfleet/clock"
	"github.com/spotfleet/spotfleet/emulator/account"
	"github.com/spotfleet/spotfleet/emulator/lbhttp"
	"github.com/spotfleet/spotfleet/emulator/market"
	"github.com/spotfleet/spotfleet/emulator/proc"
	"github.com/spotfleet/spotfleet/emulator/scenario"
	"github.com/spotfleet/spotfleet/emulator/sqs"
	"github.com/spotfleet/spotfleet/fleetview"
	"github.com/spotfleet/spotfleet/internal/httpserver"
	"github.com/spotfleet/spotfleet/internal/iid"
	"github.com/spotfleet/spotfleet/manifest"
)

// Runner starts the processes of tasks and instance services: proc.Runner (real ones) or
// proc.Fake.
type Runner interface {
	Start(spec proc.Spec) (proc.Process, error)
}

// Options configure an emulator. The zero value of each field has a sensible default.
type Options struct {
	Clock    clock.Clock  // default: the real clock
	Runner   Runner       // starts task processes; default: real processes (see proc.Runner for logs and env)
	Prober   Prober       // health checks; default: real HTTP
	Log      *slog.Logger // default: discard
	Seed     uint64       // randomness: the market's (each pool its own stream of it), pool choice ties
	BootTime time.Duration
	// FargateStart is how long a Fargate task takes from placement to RUNNING; default
	// DefaultFargateStart.
	FargateStart time.Duration
	// AgentDrainsOnNotice is ECS_ENABLE_SPOT_INSTANCE_DRAINING=true (reference design S0):
	// the ECS agent sets its container instance DRAINING when the notice arrives.
	AgentDrainsOnNotice bool
	// ECSNoticesTerminationAfter is how long ECS takes to mark the tasks of a terminated
	// instance STOPPED (and deregister their targets); until then the load balancer still
	// sends them requests, as on AWS while health checks catch up.
	ECSNoticesTerminationAfter time.Duration
	// ListenHost is the load balancer listeners' address; default 127.0.0.1.
	ListenHost string
	// IPOctet is the second octet of the 127.x.y.z addresses given to instances and tasks;
	// default random, so that emulators running side by side do not collide.
	IPOctet byte
	// Market is the Spot market: by default scripted (only a scenario's steps change it).
	Market market.Options
	// Listen opens the listeners of the load balancers and metadata services; default
	// net.Listen("tcp", addr). Tests under testing/synctest pass in-memory listeners.
	Listen func(addr string) (net.Listener, error)
	// Simulated runs the world without the outside (sim.go): simulated processes, health
	// checks computed rather than sent, no listener, no metadata service, no target
	// tracking (it has no load to measure); Runner, Prober and Listen are not used.
	Simulated bool
	// Load is the load a scenario sends to the first listener: the service it reaches is
	// offered its requests per second in the report's fluid measure (serving.go); nil for
	// none.
	Load *scenario.LoadSpec
	// Secrets are the values of the services' secrets (on AWS read from SSM Parameter
	// Store or Secrets Manager), by variable name; every secret needs one unless Simulated.
	Secrets map[string]string
}

// Emulator is the emulated AWS account: its zero value is not usable; use New.
type Emulator struct {
	mu     sync.Mutex
	handed handoff        // work from outside the lock, run under one hold of it
	stale  []*targetGroup // whose routable targets changed in this hold of the lock
	clock  clock.Clock
	opt    Options
	log    *slog.Logger
	m      *manifest.Manifest
	now    time.Time
	start  time.Time
	timers timerHeap
	seq    uint64
	wake   chan struct{}
	rng    *rand.Rand
	ids    idGen

	market       *pools
	loadOn       *targetGroup // the target group Options.Load reaches
	fargateZones []string     // where Fargate tasks go (manifest.FargateZones)
	instances    map[string]*instance
	instOrder    []*instance
	groups       []*group
	cluster      *cluster
	services     []*service
	tgs          []*targetGroup
	listeners    []*listener
	bus          *sqs.Queue
	acct         account.Account
	rates        ratesCache         // what acct integrates, until the world changes
	journal      fleetview.Journal  // recent happenings for the live view
	actions      []fleetview.Action // taken by hand (actions.go), for the report
	procs        []ProcessRecord
	forgotten    map[string]bool          // names in procs whose logs are gone (forget)
	ended        map[string][]string      // by service, the processes that ended, oldest first (logEnded)
	notices      map[string]*noticeRecord // open, by instance: notices whose targets are not all out yet
	imdsHTTP     *httpserver.Server
	closed       bool

	// The emulator's own goroutines (metadata services, health checks, the listeners'
	// frontends) are its background, which Close ends and waits for.
	bg         sync.WaitGroup
	transports []*http.Transport // Client's, whose idle connections Close closes
	bgCtx      context.Context
	bgCancel   context.CancelFunc

	version uint64 // counts the changes a snapshot can show (Version)
	delta   deltaState

	signerOnce sync.Once // the metadata services' identity document key, made when first asked
	iidSigner  *iid.Signer
	iidErr     error

	certOnce sync.Once // the HTTPS listeners' certificate (tls.go)
	cert     tls.Certificate
	certPEM  []byte
	certErr  error
}

// elapsed is the emulated time since the start. Callers hold the lock.
func (e *Emulator) elapsed() time.Duration { return e.now.Sub(e.start) }

// New builds the emulated account for a validated manifest. Nothing runs until Start.
func New(m *manifest.Manifest, opt Options) (*Emulator, error) {
	if opt.Clock == nil {
		opt.Clock = clock.Real{}
	}
	if opt.Runner == nil {
		opt.Runner = &proc.Runner{}
	}
	if opt.Prober == nil {
		opt.Prober = lbhttp.HTTPProber{}
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	if opt.BootTime == 0 {
		opt.BootTime = scenario.DefaultBootTime
	}
	if opt.FargateStart == 0 {
		opt.FargateStart = DefaultFargateStart
	}
	if opt.ECSNoticesTerminationAfter == 0 {
		opt.ECSNoticesTerminationAfter = 30 * time.Second
	}
	if opt.Listen == nil {
		opt.Listen = func(addr string) (net.Listener, error) { return net.Listen("tcp", addr) }
	}
	if opt.ListenHost == "" {
		opt.ListenHost = "127.0.0.1"
	}
	rng := rand.New(rand.NewPCG(opt.Seed, opt.Seed^0x5eed))
	if opt.IPOctet == 0 && opt.Simulated {
		opt.IPOctet = 16 // nothing listens: the same addresses every run
	}
	if opt.IPOctet == 0 {
		opt.IPOctet = byte(16 + rand.IntN(230)) // not seeded: must differ between runs
	}
	e := &Emulator{
		clock: opt.Clock, opt: opt, log: opt.Log, m: m,
		wake: make(chan struct{}, 1), rng: rng,
		instances: map[string]*instance{}, notices: map[string]*noticeRecord{},
		ids: idGen{octet: opt.IPOctet, rng: rand.New(rand.NewPCG(opt.Seed, 0x1d5))},
	}
	e.bgCtx, e.bgCancel = context.WithCancel(context.Background())
	e.now = opt.Clock.Now()
	e.start = e.now
	e.fargateZones = m.FargateZones()
	e.bus = sqs.New(queueWorld{e})
	ps, err := newPools(m, opt.Market, opt.Seed)
	if err != nil {
		return nil, err
	}
	e.market = ps
	for i := range m.Capacity {
		e.groups = append(e.groups, newGroup(e, &m.Capacity[i]))
	}
	if m.Workload == manifest.WorkloadECS {
		e.cluster = &cluster{name: m.Name}
	}
	for _, s := range m.AllServices() {
		svc := newService(e, s)
		e.services = append(e.services, svc)
		if s.LoadBalancer != nil {
			svc.tg = newTargetGroup(e, m.TargetGroupName(s), s)
			e.tgs = append(e.tgs, svc.tg)
		}
	}
	e.services = append(e.services, e.coverServices()...)
	e.listeners = newListeners(e.services)
	if opt.Load != nil && len(e.listeners) > 0 {
		e.loadOn = e.listeners[0].route(&http.Request{URL: &url.URL{Path: opt.Load.Path}})
	}
	if !opt.Simulated {
		if err := missingSecrets(m, opt.Secrets); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// Start opens the load balancer listeners and launches the groups' starting capacity.
func (e *Emulator) Start() error {
	for _, l := range e.listeners {
		if e.opt.Simulated {
			break // nothing listens in a simulation
		}
		if err := l.listen(e); err != nil {
			e.Close()
			return err
		}
	}
	for _, tg := range e.tgs {
		if !e.opt.Simulated {
			tg.scheduleHealthChecks()
		}
	}
	e.lock()
	defer e.unlock()
	for _, g := range e.groups {
		g.setDesired(g.cfg.DesiredCapacity, "the group was created with desiredCapacity")
	}
	for _, s := range e.services {
		s.kick()
	}
	e.scheduleManagedScaling()
	e.scheduleAutoscaling()
	e.watchPools()
	return nil
}

// Close stops everything: every process is killed, every listener closed. It is safe to
// call more than once.
func (e *Emulator) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	var procs []proc.Process
	var imds []net.Listener
	for _, in := range e.instances {
		procs = append(procs, in.processes()...)
		if in.imds != nil {
			imds = append(imds, in.imds)
		}
	}
	for _, s := range e.services { // Fargate tasks run on no instance
		for _, t := range s.tasks {
			if t.ci == nil && t.proc != nil {
				procs = append(procs, t.proc)
			}
		}
	}
	e.mu.Unlock()
	e.bgCancel()
	var errs []error
	for _, p := range procs {
		p.Kill()
	}
	for _, l := range imds {
		if err := l.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, fmt.Errorf("closing a metadata service: %w", err))
		}
	}
	if e.imdsHTTP != nil {
		if err := e.imdsHTTP.Close(); err != nil {
			errs = append(errs, fmt.Errorf("closing the metadata services: %w", err))
		}
	}
	for _, l := range e.listeners {
		l.close()
	}
	for _, p := range procs {
		<-p.Done()
	}
	e.mu.Lock()
	for _, tr := range e.transports {
		tr.CloseIdleConnections()
	}
	e.mu.Unlock()
	e.bg.Wait()
	return errors.Join(errs...)
}

// Listeners returns where each service answers on its load balancer, by service name
// (a host-routed service's URL has its host name: reach it with Client, or curl
// --resolve HOST:PORT:127.0.0.1).
func (e *Emulator) Listeners() map[string]string {
	out := map[string]string{}
	for _, l := range e.listeners {
		if l.addr == "" {
			continue
		}
		for _, s := range e.services {
			if s.tg != nil && s.covers == nil && s.cfg.LoadBalancer.ListenerPort == l.port {
				host, port, _ := net.SplitHostPort(l.addr)
				p, _ := strconv.Atoi(port)
				out[s.cfg.Name] = s.cfg.LoadBalancer.URL(host, p)
			}
		}
	}
	return out
}

// Ready says whether every service has its desired count serving (healthy behind its load
// balancer), the moment a built-in load should start.
func (e *Emulator) Ready() bool {
	e.lock()
	defer e.unlock()
	for _, s := range e.services {
		if s.healthyUnits() < s.desiredUnits() {
			return false
		}
	}
	return true
}

// Now is the emulated time.
func (e *Emulator) Now() time.Time {
	e.lock()
	defer e.unlock()
	return e.now
}

// Elapsed is the emulated time since the emulator was made.
func (e *Emulator) Elapsed() time.Duration {
	e.lock()
	defer e.unlock()
	return e.now.Sub(e.start)
}

// note records a happening for the live view and the log. Callers hold the lock.
func (e *Emulator) note(format string, args ...any) {
	if e.opt.Simulated {
		return // a month of lines nobody reads
	}
	msg := fmt.Sprintf(format, args...)
	e.log.Info(msg, "t", e.now.Sub(e.start).Round(time.Second).String())
	e.journal.Note(e.now.Sub(e.start), msg)
}

// Happenings are the lines noted after the first since (the count an earlier call
// returned), and the count now (fleetview.Journal).
func (e *Emulator) Happenings(since uint64) ([]string, uint64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.journal.Since(since)
}

// idGen names resources the way AWS does and hands out loopback addresses. Names come from
// the seeded generator, so a run with the same seed names the same things.
type idGen struct {
	octet          byte
	rng            *rand.Rand
	instIP, taskIP int
	inUse          map[string]bool // addresses handed out and not yet released
}

// next is an EC2-style ID: "i-0" and 16 hex digits.
func (g *idGen) next(prefix string) string { return fmt.Sprintf("%s-0%016x", prefix, g.rng.Uint64()) }

// uuid is a version 4 UUID, as ECS task IDs and event IDs are.
func (g *idGen) uuid() string {
	a, b := g.rng.Uint64(), g.rng.Uint64()
	return fmt.Sprintf("%08x-%04x-4%03x-%04x-%012x", a>>32, a>>16&0xffff, a&0xfff, b>>48&0x3fff|0x8000, b&0xffffffffffff)
}

// instanceIP and taskIP split 127.octet.0.0/16: instances take the lower half, tasks the
// upper, as an awsvpc task has an address of its own. Each half holds 32,512 addresses,
// which a month of churn goes through: an address comes back only once released (its
// instance forgotten, its task stopped and out of its target group), as a subnet reuses an
// address only once it is free.
func (g *idGen) instanceIP() string { return g.next4(&g.instIP, 0) }

func (g *idGen) taskIPAddr() string { return g.next4(&g.taskIP, 128) }

func (g *idGen) next4(n *int, base int) string {
	if g.inUse == nil {
		g.inUse = map[string]bool{}
	}
	for range 128 * 254 {
		ip := fmt.Sprintf("127.%d.%d.%d", g.octet, base+(*n/254)%128, *n%254+1)
		*n++
		if !g.inUse[ip] {
			g.inUse[ip] = true
			return ip
		}
	}
	panic("emulator: more than 32,512 addresses in use")
}

// release gives an address back.
func (g *idGen) release(ip string) { delete(g.inUse, ip) }
