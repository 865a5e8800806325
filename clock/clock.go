// Package clock is the time source of everything that decides or emulates: the controller
// and the emulator never call time.Now or time.Sleep themselves. A Scaled clock runs
// emulated time N times faster than real time for `spotfleet up --speed N`; tests run the
// Real clock inside testing/synctest, where time is virtual.
package clock

import "time"

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
type Scaled struct {
	speed  float64
	origin time.Time // real and emulated time coincide here
}

// NewScaled returns a clock whose time passes speed times faster than real time.
func NewScaled(speed float64) *Scaled {
	if speed <= 0 {
		speed = 1
	}
	return &Scaled{speed: speed, origin: time.Now()}
}

func (s *Scaled) Now() time.Time {
	return s.origin.Add(time.Duration(float64(time.Since(s.origin)) * s.speed))
}

func (s *Scaled) After(d time.Duration) <-chan time.Time {
	out := make(chan time.Time, 1)
	time.AfterFunc(s.Wall(d), func() { out <- s.Now() })
	return out
}

// NewTimer's channel carries the real time it fired at, not the emulated time.
func (s *Scaled) NewTimer(d time.Duration) *time.Timer { return time.NewTimer(s.Wall(d)) }

func (s *Scaled) Wall(d time.Duration) time.Duration { return time.Duration(float64(d) / s.speed) }

// Speed is how many times faster than real time this clock runs.
func (s *Scaled) Speed() float64 { return s.speed }
