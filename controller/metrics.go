package controller

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the controller's Prometheus series. Latencies are on the controller's clock:
// wall seconds on AWS, emulated seconds under `up --speed`.
type metrics struct {
	phase    *prometheus.HistogramVec
	delivery prometheus.Histogram
	events   *prometheus.CounterVec
	missed   prometheus.Counter
	calls    *prometheus.CounterVec
	notify   *prometheus.CounterVec
	active   prometheus.GaugeFunc
	warnings prometheus.Counter

	launchFailures   *prometheus.CounterVec
	cover            *prometheus.GaugeVec
	fallbackReaction prometheus.Histogram
	backToSpot       prometheus.Histogram
	fallbackCycles   prometheus.Counter
	round            prometheus.Histogram
	leader           prometheus.GaugeFunc
	fenced           prometheus.Counter
}

func newMetrics(reg prometheus.Registerer, active, leading func() float64) *metrics {
	m := &metrics{
		phase: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "spotfleet_notice_phase_seconds",
			Help:    "Time from receiving an interruption or rebalance notice to each phase (deregistered, replacement-ready, stopped, terminated).",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 20, 30, 60, 90, 120, 300, 600},
		}, []string{"kind", "phase"}),
		delivery: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "spotfleet_event_delivery_seconds",
			Help:    "Time from an event's time to the controller receiving it (event times have whole seconds).",
			Buckets: []float64{.5, 1, 2, 5, 10, 30, 60, 120},
		}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "spotfleet_events_total",
			Help: "Events and agent reports read, by kind and outcome (accepted, duplicate, superseded, foreign, late, rejected, observed, ignored, malformed, untrusted, unauthenticated, unconfirmed).",
		}, []string{"kind", "outcome"}),
		missed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "spotfleet_deadline_missed_total",
			Help: "Interrupted instances that ended before their targets were out of the load balancer and their tasks stopped.",
		}),
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "spotfleet_provider_calls_total",
			Help: "Calls to the provider, by call and result (ok, error).",
		}, []string{"call", "result"}),
		notify: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "spotfleet_notifications_total",
			Help: "Webhook notifications, by result (sent, retried, failed, dropped).",
		}, []string{"result"}),
		warnings: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "spotfleet_replacement_room_warnings_total",
			Help: "Interruptions whose replacement tasks could not all start before the old ones stopped (maximumPercent).",
		}),
		active: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "spotfleet_notices_active",
			Help: "Notices being handled.",
		}, active),
	}
	m.launchFailures = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "spotfleet_launch_failures_total",
		Help: "Failed launches seen (events and scaling activities), by group and reason (capacity: a capacity or limit error, covered at once; other).",
	}, []string{"group", "reason"})
	m.cover = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "spotfleet_fallback_cover",
		Help: "What the fallback covers now: tasks of a service (workload ecs) or capacity units of the Spot group (workload instances).",
	}, []string{"cover"})
	waits := []float64{1, 2, 5, 10, 20, 30, 60, 90, 120, 300, 600, 1800, 3600}
	m.fallbackReaction = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "spotfleet_fallback_reaction_seconds",
		Help:    "Time from the first Spot shortfall of a cycle to its cover serving (healthy).",
		Buckets: waits,
	})
	m.backToSpot = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "spotfleet_fallback_back_to_spot_seconds",
		Help:    "Time from the Spot side serving in full again to the cover given back entirely.",
		Buckets: waits,
	})
	m.fallbackCycles = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "spotfleet_fallback_cycles_total",
		Help: "Cover-and-return cycles completed.",
	})
	m.round = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "spotfleet_round_seconds",
		Help:    "Time one observe-decide-act round takes (the snapshot and the calls).",
		Buckets: []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	})
	m.leader = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "spotfleet_leader",
		Help: "1 while this controller holds the fleet's lease and acts, 0 while it follows (with no lease it is always 1).",
	}, leading)
	m.fenced = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "spotfleet_fenced_calls_total",
		Help: "Calls not made because the lease could not be confirmed (lost, lapsed or unreachable).",
	})
	reg.MustRegister(m.phase, m.delivery, m.events, m.missed, m.calls, m.notify, m.warnings, m.active,
		m.launchFailures, m.cover, m.fallbackReaction, m.backToSpot, m.fallbackCycles, m.round, m.leader, m.fenced)
	return m
}
