package emulator

import (
	"context"
	"errors"
	"time"

	"github.com/spotfleet/spotfleet"
)

type queued struct {
	id        string
	body      []byte
	visibleAt time.Time
	receives  int
	handle    string
}

// Queue is the SQS queue that EventBridge rules deliver to: at-least-once delivery, a
// visibility timeout, and delete once handled.
type Queue struct {
	e       *Emulator
	msgs    []*queued
	arrived chan struct{}
	dropped int
}

// maxQueued bounds the queue when nothing reads it (workload without a controller).
const maxQueued = 100_000

func newQueue(e *Emulator) *Queue { return &Queue{e: e, arrived: make(chan struct{}, 1)} }

// ErrReceiptHandle is returned for a receipt handle that is not (or no longer) valid.
var ErrReceiptHandle = errors.New("ReceiptHandleIsInvalid")

// SendMessage enqueues a message, as anything with sqs:SendMessage on the queue can: tests
// use it to deliver duplicated, foreign or malformed events.
func (q *Queue) SendMessage(ctx context.Context, body []byte) error {
	q.e.lock()
	defer q.e.unlock()
	q.send(body)
	return ctx.Err()
}

// send enqueues a message. Callers hold the world lock.
func (q *Queue) send(body []byte) {
	if len(q.msgs) >= maxQueued {
		q.msgs = q.msgs[1:]
		q.dropped++
	}
	q.msgs = append(q.msgs, &queued{id: q.e.ids.uuid(), body: body, visibleAt: q.e.now})
	select {
	case q.arrived <- struct{}{}:
	default:
	}
}

// ReceiveMessages returns up to max visible messages and hides them for the visibility
// timeout; a message not deleted by then is delivered again. With none visible it waits up
// to wait (emulated time) for one to arrive, as an SQS long poll does.
func (q *Queue) ReceiveMessages(ctx context.Context, max int, wait, visibility time.Duration) ([]spotfleet.Message, error) {
	out := q.receive(max, visibility)
	if len(out) > 0 || wait <= 0 {
		return out, ctx.Err()
	}
	select {
	case <-q.arrived:
	case <-q.e.clock.After(wait):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return q.receive(max, visibility), nil
}

func (q *Queue) receive(max int, visibility time.Duration) []spotfleet.Message {
	q.e.lock()
	defer q.e.unlock()
	var out []spotfleet.Message
	for _, m := range q.msgs {
		if len(out) == max {
			break
		}
		if m.visibleAt.After(q.e.now) {
			continue
		}
		m.receives++
		m.visibleAt = q.e.now.Add(visibility)
		m.handle = q.e.ids.uuid()
		out = append(out, spotfleet.Message{ID: m.id, ReceiptHandle: m.handle, Body: m.body, ReceiveCount: m.receives})
	}
	return out
}

// DeleteMessage removes a received message by its latest receipt handle.
func (q *Queue) DeleteMessage(_ context.Context, handle string) error {
	q.e.lock()
	defer q.e.unlock()
	for i, m := range q.msgs {
		if m.handle == handle && handle != "" {
			q.msgs = append(q.msgs[:i], q.msgs[i+1:]...)
			return nil
		}
	}
	return ErrReceiptHandle
}

// ChangeMessageVisibility extends (or ends) the invisibility of a received message.
func (q *Queue) ChangeMessageVisibility(_ context.Context, handle string, d time.Duration) error {
	q.e.lock()
	defer q.e.unlock()
	for _, m := range q.msgs {
		if m.handle == handle && handle != "" {
			m.visibleAt = q.e.now.Add(d)
			return nil
		}
	}
	return ErrReceiptHandle
}

// Len is how many messages the queue holds, visible or not.
func (q *Queue) Len() int {
	q.e.lock()
	defer q.e.unlock()
	return len(q.msgs)
}

// Queue returns the event queue.
func (e *Emulator) Queue() *Queue { return e.bus }

// Visible is how many messages a receive would return now.
func (q *Queue) Visible() int {
	q.e.lock()
	defer q.e.unlock()
	n := 0
	for _, m := range q.msgs {
		if !m.visibleAt.After(q.e.now) {
			n++
		}
	}
	return n
}
