package clock

import (
	"sync"
	"time"
)

// Virtual is a clock whose time moves only when Set: `spotfleet simulate` jumps it from one
// timer of the world to the next. Nothing may wait on it (After and NewTimer never fire):
// the simulator steps what would wait.
type Virtual struct {
	mu  sync.Mutex
	now time.Time
}

// NewVirtual starts a virtual clock at t.
func NewVirtual(t time.Time) *Virtual { return &Virtual{now: t} }

func (v *Virtual) Now() time.Time {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.now
}

// Set moves the clock to t; it never goes back.
func (v *Virtual) Set(t time.Time) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if t.After(v.now) {
		v.now = t
	}
}

func (v *Virtual) After(time.Duration) <-chan time.Time { return make(chan time.Time) }

func (v *Virtual) NewTimer(time.Duration) *time.Timer {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return t
}

// Wall is the duration itself: a simulation has no real time to convert to.
func (v *Virtual) Wall(d time.Duration) time.Duration { return d }
