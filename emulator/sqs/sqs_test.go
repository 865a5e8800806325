package sqs

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// world is a world of one mutex and a time the test moves.
type world struct {
	sync.Mutex
	now time.Time
	n   int
}

func (w *world) Now() time.Time                       { return w.now }
func (w *world) NewID() string                        { w.n++; return fmt.Sprint(w.n) }
func (w *world) After(time.Duration) <-chan time.Time { return make(chan time.Time) }

// TestAtLeastOnce: a received message is hidden for its visibility timeout and delivered
// again after it unless deleted; a handle of an earlier receive is refused; a queue nobody
// reads drops its oldest past MaxQueued.
func TestAtLeastOnce(t *testing.T) {
	ctx := context.Background()
	w := &world{now: time.Unix(0, 0)}
	q := New(w)
	q.SendMessage(ctx, []byte("a"))
	q.SendMessage(ctx, []byte("b"))
	got, _ := q.ReceiveMessages(ctx, 1, 0, time.Minute)
	if len(got) != 1 || string(got[0].Body) != "a" || got[0].ReceiveCount != 1 || q.Visible() != 1 {
		t.Fatalf("first receive %+v, %d visible", got, q.Visible())
	}
	first := got[0].ReceiptHandle
	w.now = w.now.Add(2 * time.Minute)
	again, _ := q.ReceiveMessages(ctx, 10, 0, time.Minute)
	if len(again) != 2 || string(again[0].Body) != "a" || again[0].ReceiveCount != 2 {
		t.Fatalf("after the visibility timeout: %+v", again)
	}
	if err := q.DeleteMessage(ctx, first); !errors.Is(err, ErrReceiptHandle) {
		t.Errorf("delete by an old handle: %v", err)
	}
	if err := q.DeleteMessage(ctx, again[0].ReceiptHandle); err != nil || q.Len() != 1 {
		t.Errorf("delete: %v, %d left", err, q.Len())
	}
	if err := q.ChangeMessageVisibility(ctx, again[1].ReceiptHandle, 0); err != nil || q.Visible() != 1 {
		t.Errorf("visibility 0: %v, %d visible", err, q.Visible())
	}
	for i := range MaxQueued + 5 {
		w.Lock()
		q.SendLocked([]byte(fmt.Sprint(i)))
		w.Unlock()
	}
	if q.Len() != MaxQueued || q.dropped != 6 {
		t.Errorf("%d queued, %d dropped", q.Len(), q.dropped)
	}
}
