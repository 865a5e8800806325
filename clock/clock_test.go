package clock

import (
	"testing"
	"testing/synctest"
	"time"
)

func TestScaledRunsFaster(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := NewScaled(10)
		start := c.Now()
		<-c.After(60 * time.Second) // one emulated minute is 6 real seconds
		if got := c.Now().Sub(start); got != 60*time.Second {
			t.Fatalf("emulated elapsed %v, want 1m", got)
		}
		if got := c.Wall(30 * time.Second); got != 3*time.Second {
			t.Fatalf("Wall(30s) = %v at speed 10, want 3s", got)
		}
	})
}

// TestScaledChangesSpeed: emulated time goes on from where it is at the change, at the new
// speed.
func TestScaledChangesSpeed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := NewScaled(100)
		start := c.Now()
		time.Sleep(time.Second) // 100 emulated seconds
		c.SetSpeed(1)
		time.Sleep(time.Second)
		if got := c.Now().Sub(start); got != 101*time.Second {
			t.Fatalf("emulated elapsed %v, want 1m41s", got)
		}
		if c.Speed() != 1 || c.Wall(time.Second) != time.Second {
			t.Fatalf("speed %v, Wall(1s) %v after SetSpeed(1)", c.Speed(), c.Wall(time.Second))
		}
	})
}
