package controller

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/spotfleet/spotfleet"
)

// widthQueue records how many receives run at once.
type widthQueue struct {
	Queue
	mu         sync.Mutex
	now, peak  int
	calls, got int
}

func (q *widthQueue) ReceiveMessages(ctx context.Context, n int, wait, visibility time.Duration) ([]spotfleet.Message, error) {
	q.mu.Lock()
	q.now++
	q.peak = max(q.peak, q.now)
	q.mu.Unlock()
	time.Sleep(50 * time.Millisecond) // a receive's round trip, so that polls overlap
	msgs, err := q.Queue.ReceiveMessages(ctx, n, wait, visibility)
	q.mu.Lock()
	q.now--
	q.calls++
	q.got += len(msgs)
	q.mu.Unlock()
	return msgs, err
}

func (q *widthQueue) read() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.got
}

func (q *widthQueue) width() (peak, calls int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	peak, calls = q.peak, q.calls
	q.peak, q.calls = q.now, 0
	return peak, calls
}

// TestReceiversWidenWhileTheQueueIsDeep: with a deep queue, full batches start more long
// polls (up to MaxReceivers), which leave once the polls come back short: the queue is read
// in parallel, and an idle one costs the two polls it did.
func TestReceiversWidenWhileTheQueueIsDeep(t *testing.T) {
	withRig(t, fleet, func(t *testing.T, r *rig) {
		for i := range 600 { // malformed: each is read, counted and deleted
			if err := r.e.Queue().SendMessage(context.Background(), fmt.Appendf(nil, `{"junk": %d}`, i)); err != nil {
				t.Fatal(err)
			}
		}
		q := &widthQueue{Queue: r.e.Queue()}
		r.cfg.Queue = q
		r.startController()
		time.Sleep(20 * time.Second)
		peak, _ := q.width()
		if peak <= 2 || peak > 16 {
			t.Errorf("%d receives at once while the queue was deep; want more than 2, at most 16", peak)
		}
		if n, got := r.e.Queue().Len(), q.read(); n != 0 || got < 600 {
			t.Errorf("%d messages left, %d read", n, got)
		}
		time.Sleep(10 * time.Second)
		if peak, calls := q.width(); peak != 2 || calls > 2*10+2 {
			t.Errorf("idle: %d receives at once, %d in 10 s; want 2 at once, polling each second", peak, calls)
		}
	})
}
