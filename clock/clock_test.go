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
