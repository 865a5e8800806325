package controller

import (
	"testing"
	"time"

	"github.com/spotfleet/spotfleet"
)

// s2 is reference design S2's shape: the instances are the targets.
const s2 = `name: t
workload: instances
capacity:
  - name: spot
    instanceTypes: [m5.large, m5a.large, m6i.large]
    minSize: 2
    desiredCapacity: 2
instances:
  name: web
  command: [web]
  stopTimeout: 20s
  loadBalancer: {listenerPort: 8080, deregistrationDelay: 90s}
`

func TestInterruptionOfAnInstanceTarget(t *testing.T) {
	withRig(t, s2, func(t *testing.T, r *rig) {
		r.startController()
		in := r.spot()[0]
		noticeAt := r.e.Now()
		r.interrupt(in.Pool)
		var outAt, endedAt time.Time
		for range 130 {
			if outAt.IsZero() && registeredOn(r.snapshot(), in.ID) == 0 {
				outAt = r.e.Now()
			}
			if x := r.instance(in.ID); !x.Alive() && endedAt.IsZero() {
				endedAt = r.e.Now()
			}
			time.Sleep(time.Second)
		}
		// Its replacement boots for a minute: the target serves until the notice leaves
		// just the drain of its requests in flight (the 70s of its 90s delay that the 20s
		// stop timeout does not cover), the stop timeout and the margin (5s): 25s.
		if d := outAt.Sub(noticeAt); d < 24*time.Second || d > 27*time.Second {
			t.Errorf("the instance target left %s after the notice, want at the latest safe moment (25s)", d)
		}
		// The service gets its stop timeout (20s) and the margin before the two minutes end:
		// the controller shuts the instance down once it is out of the load balancer.
		if endedAt.IsZero() || endedAt.Sub(noticeAt) > spotfleet.SpotNotice-5*time.Second {
			t.Errorf("the instance ended %s after its notice, want a graceful shutdown before the deadline", endedAt.Sub(noticeAt))
		}
		checkClean(t, r.report())
		st := r.c.Stats()
		if st.Phases[PhaseReplacementReady].Count != 1 || st.Phases[PhaseTerminated].Count != 1 {
			t.Errorf("phases %+v: want the replacement ready and the instance terminated", st.Phases)
		}
	})
}
