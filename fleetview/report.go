package fleetview

// Report is what `spotfleet up --report` writes. Seconds are emulated unless a name says
// Wall.
type Report struct {
	Controller      string         `json:"controller"`
	Speed           float64        `json:"speed"`
	EmulatedSeconds float64        `json:"emulatedSeconds"`
	Requests        RequestStats   `json:"requests"`
	LoadBalancer    LBStats        `json:"loadBalancer"`
	Interruptions   InterruptStats `json:"interruptions"`
	Capacity        CapacityStats  `json:"capacity"`
	Cost            CostStats      `json:"cost"`
	// Services measures each manifest service as its users feel it.
	Services []ServiceStats `json:"services"`
	// Actions are the interruptions and capacity changes made by hand during the run.
	Actions []Action `json:"actions,omitempty"`
}

// LBStats counts everything the listeners saw, whoever sent it.
type LBStats struct {
	Requests int64 `json:"requests"`
	ELB5xx   int64 `json:"elb5xx"`
	// ELB502, ELB503 and ELB504 split ELB5xx: a target that refused or dropped the
	// connection, no target to send to, a target that did not accept in time.
	ELB502    int64 `json:"elb502"`
	ELB503    int64 `json:"elb503"`
	ELB504    int64 `json:"elb504"`
	Target5xx int64 `json:"target5xx"`
	// ClientClosed counts requests whose client went away before the answer (an ALB's
	// 460): not the load balancer's error, and not in elb5xx.
	ClientClosed int64 `json:"clientClosed"`
}

// InterruptStats measures the interruption pipeline.
type InterruptStats struct {
	Notices                  int         `json:"notices"`
	RebalanceRecommendations int         `json:"rebalanceRecommendations"`
	NoticeToDeregisteredWall Percentiles `json:"noticeToDeregisteredWallMs"`
	// NotDeregistered counts notices whose instance still had a target in service when it
	// terminated.
	NotDeregistered             int `json:"notDeregisteredBeforeTermination"`
	TasksStoppedWhileRegistered int `json:"tasksStoppedWhileRegistered"`
	DeadlineMissed              int `json:"deadlineMissed"`
}

// Percentiles of a latency in milliseconds.
type Percentiles struct {
	P50 float64 `json:"p50"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

// CapacityStats integrates capacity over the run. Below-desired time counts from the moment
// every service first had its desired count serving (ReadySeconds).
type CapacityStats struct {
	ReadySeconds float64 `json:"readySeconds"`
	// SecondsBelowDesired is the time, from ready, that some service served less than its
	// desired count; AvailabilityPercent is the rest, as a share of the time from ready.
	SecondsBelowDesired     float64 `json:"secondsBelowDesired"`
	AvailabilityPercent     float64 `json:"availabilityPercent"`
	OnDemandInstanceSeconds float64 `json:"onDemandInstanceSeconds"`
	SpotInstanceSeconds     float64 `json:"spotInstanceSeconds"`
	// OnDemandExcessInstanceSeconds is On-Demand beyond the policy's base and the cover a
	// Spot shortfall needs at each moment.
	OnDemandExcessInstanceSeconds float64 `json:"onDemandExcessInstanceSeconds"`
	// FargateTaskSeconds and FargateSpotTaskSeconds are the billed time of Fargate tasks
	// (from image pull to stop).
	FargateTaskSeconds     float64 `json:"fargateTaskSeconds,omitempty"`
	FargateSpotTaskSeconds float64 `json:"fargateSpotTaskSeconds,omitempty"`
	// LaunchFailures counts refused launches: failed scaling activities, and placements
	// Fargate Spot refused (one per service scheduler round).
	LaunchFailures int `json:"launchFailures"`
	// TasksFailedToStart counts tasks that stopped before they ran (a command that cannot
	// start, or exits at once); their services throttle further launches as ECS does.
	TasksFailedToStart int `json:"tasksFailedToStart"`
}

// CostStats prices the run against two baselines: the same instances all On-Demand
// (AllOnDemandUSD, a repricing), and the cheapest On-Demand fleet of the manifest's types
// that runs the desired tasks (OnDemandFleetUSD, what a team without Spot would pay).
type CostStats struct {
	USD              float64 `json:"usd"`
	AllOnDemandUSD   float64 `json:"allOnDemandUsd"`
	SavingsPercent   float64 `json:"savingsPercent"`
	OnDemandFleetUSD float64 `json:"onDemandFleetUsd"`
	// SavedAgainstOnDemandFleetPercent is 1 − USD / OnDemandFleetUSD: negative when the
	// fleet cost more than the On-Demand one.
	SavedAgainstOnDemandFleetPercent float64 `json:"savedAgainstOnDemandFleetPercent"`
}

// ServiceStats is one manifest service from when the fleet was ready. A unit (a task, or
// an instance's capacity under workload instances) serves while its target is routable
// and its process answers (running, not stopping).
type ServiceStats struct {
	Name string `json:"name"`
	// AvailabilityPercent is the share of time it served at least its desired count.
	AvailabilityPercent float64 `json:"availabilityPercent"`
	SecondsBelowDesired float64 `json:"secondsBelowDesired"`
	// ServedPercent is the served unit-seconds over the desired ones (at most desired
	// counted at each moment).
	ServedPercent float64 `json:"servedPercent"`
	// RequestsFailedPercent is the share of its requests that would fail: sent to a
	// routable target whose process is gone or stopping, or finding no routable target,
	// at RequestsPerSecond (a fluid, not requests sent).
	RequestsFailedPercent float64 `json:"requestsFailedPercent"`
	RequestsPerSecond     float64 `json:"requestsPerSecond"`
	// Requests and RequestsFailed are the fluid's totals.
	Requests       float64 `json:"requests"`
	RequestsFailed float64 `json:"requestsFailed"`
}

// RequestStats is the load's part of the report.
type RequestStats struct {
	Total  int64   `json:"total"`
	Failed int64   `json:"failed"`
	P50Ms  float64 `json:"p50Ms"`
	P99Ms  float64 `json:"p99Ms"`
	// NotSent counts requests that were due but not sent: the machine could not keep up.
	NotSent int64 `json:"notSent,omitempty"`
	// Failures describes the first failed requests, one by one (at most 20).
	Failures []RequestFailure `json:"failures,omitempty"`
}

// RequestFailure is one failed request: when it ended (emulated seconds from the run's
// start), how long it took, and what failed (the client's error, or the status and the
// server that answered it: the load balancer's own, or a task's).
type RequestFailure struct {
	AtSeconds float64 `json:"atSeconds"`
	Ms        float64 `json:"ms"`
	Error     string  `json:"error"`
}

// Stats summarizes the load so far.
// Action is one action taken by hand, as the report lists it.
type Action struct {
	AtSeconds float64 `json:"atSeconds"` // emulated
	What      string  `json:"what"`
}
