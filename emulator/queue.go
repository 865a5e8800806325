package emulator

import (
	"time"

	"github.com/spotfleet/spotfleet/emulator/sqs"
)

// Queue returns the event queue (emulator/sqs), which the event rules deliver to.
func (e *Emulator) Queue() *sqs.Queue { return e.bus }

// queueWorld is the world as its queue sees it.
type queueWorld struct{ e *Emulator }

func (w queueWorld) Lock()                                  { w.e.lock() }
func (w queueWorld) Unlock()                                { w.e.unlock() }
func (w queueWorld) Now() time.Time                         { return w.e.now }
func (w queueWorld) NewID() string                          { return w.e.ids.uuid() }
func (w queueWorld) After(d time.Duration) <-chan time.Time { return w.e.clock.After(d) }
