package emulator

import (
	"sync"
	"testing"
	"time"
)

// TestHandOffRunsEachOnceUnderTheLock: functions handed from many goroutines at once each
// run exactly once, under the world lock, and one goroutine's run in the order it handed
// them; no goroutine but the one running them waits for the lock.
func TestHandOffRunsEachOnceUnderTheLock(t *testing.T) {
	e := realEmulator(t, `name: h
capacity: [{name: spot, instanceTypes: [m5.large]}]
services: [{name: web, command: [x]}]
`)
	const goroutines, each = 50, 40
	ran := make([][]int, goroutines) // written under the world lock only
	unlocked := 0
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				e.handOff(func() {
					if e.mu.TryLock() {
						e.mu.Unlock()
						unlocked++
					}
					ran[g] = append(ran[g], i)
				})
			}
		})
	}
	wg.Wait()
	// The goroutine running them may still be at it: the world lock waits for it.
	deadline := time.Now().Add(10 * time.Second)
	for {
		done := 0
		inspect(e, func() {
			for _, r := range ran {
				done += len(r)
			}
		})
		if done == goroutines*each || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	inspect(e, func() {
		if unlocked > 0 {
			t.Errorf("%d functions ran without the world lock", unlocked)
		}
		for g, r := range ran {
			if len(r) != each {
				t.Fatalf("goroutine %d: %d of its %d functions ran", g, len(r), each)
			}
			for i, v := range r {
				if v != i {
					t.Fatalf("goroutine %d: its functions ran in the order %v", g, r)
				}
			}
		}
	})
}
