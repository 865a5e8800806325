// Package clock is the time source of everything that decides or emulates: the controller
// and the emulator never call time.Now or time.Sleep themselves. A Scaled clock runs
// emulated time N times faster than real time for `spotfleet up --speed N`; tests run the
// Real clock inside testing/synctest, where time is virtual.
package clock

import (
	"sync/atomic"
	"time"
)

// Clock tells the time and waits, in its own (possibly emulated) time.
type Clock interface {
	Now() time.Time
	// After fires once d of this clock's time has passed.
	After(d time.Duration) <-chan time.Time
	// NewTimer is After that can be stopped, for loops that re-arm often.
	NewTimer(d time.Duration) *time.Timer
	// Wall converts a duration of this clock's time into real time, for what must happen in
	// the real world (a process's SIGKILL deadline, an HTTP timeout).
	Wall(d time.Duration) time.Duration
}

// Real is the system clock.
type Real struct{}

func (Real) Now() time.Time                         { return time.Now() }
func (Real) After(d time.Duration) <-chan time.Time { return time.After(d) }
func (Real) Wall(d time.Duration) time.Duration     { return d }
func (Real) NewTimer(d time.Duration) *time.Timer   { return time.NewTimer(d) }

// Scaled runs Speed times faster than real time, starting from the real time it was made.
// Its speed may change (SetSpeed): a benchmark builds a large world fast, then measures it
// at real speed.
type Scaled struct {
	at atomic.Pointer[scale]
}

// scale says that emulated time base was real time origin, and passes speed times faster.
type scale struct {
	origin, base time.Time
	speed        float64
}

// NewScaled returns a clock whose time passes speed times faster than real time.
func NewScaled(speed float64) *Scaled {
	if speed <= 0 {
		speed = 1
	}
	now := time.Now()
	s := &Scaled{}
	s.at.Store(&scale{origin: now, base: now, speed: speed})
	return s
}

func (s *Scaled) Now() time.Time {
	sc := s.at.Load()
	return sc.base.Add(time.Duration(float64(time.Since(sc.origin)) * sc.speed))
}

// SetSpeed changes the speed from now on; emulated time goes on from where it is. Waits
// already begun keep the speed they began with.
func (s *Scaled) SetSpeed(speed float64) {
	if speed <= 0 {
		speed = 1
	}
	now := time.Now()
	s.at.Store(&scale{origin: now, base: s.Now(), speed: speed})
}

func (s *Scaled) After(d time.Duration) <-chan time.Time {
	out := make(chan time.Time, 1)
	time.AfterFunc(s.Wall(d), func() { out <- s.Now() })
	return out
}

// NewTimer's channel carries the real time it fired at, not the emulated time.
func (s *Scaled) NewTimer(d time.Duration) *time.Timer { return time.NewTimer(s.Wall(d)) }

func (s *Scaled) Wall(d time.Duration) time.Duration {
	return time.Duration(float64(d) / s.at.Load().speed)
}

// Speed is how many times faster than real time this clock runs.
func (s *Scaled) Speed() float64 { return s.at.Load().speed }
