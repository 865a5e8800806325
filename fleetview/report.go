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
	ReadySeconds            float64 `json:"readySeconds"`
	SecondsBelowDesired     float64 `json:"secondsBelowDesired"`
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

// CostStats prices the run against running every instance On-Demand.
type CostStats struct {
	USD            float64 `json:"usd"`
	AllOnDemandUSD float64 `json:"allOnDemandUsd"`
	SavingsPercent float64 `json:"savingsPercent"`
}

// RequestStats is the load's part of the report.
type RequestStats struct {
	Total  int64   `json:"total"`
	Failed int64   `json:"failed"`
	P50Ms  float64 `json:"p50Ms"`
	P99Ms  float64 `json:"p99Ms"`
	// NotSent counts requests that were due but not sent: the machine could not keep up.
	NotSent int64 `json:"notSent,omitempty"`
}

// Stats summarizes the load so far.
// Action is one action taken by hand, as the report lists it.
type Action struct {
	AtSeconds float64 `json:"atSeconds"` // emulated
	What      string  `json:"what"`
}
