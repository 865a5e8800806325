package emulator

import (
	"errors"
	"time"
)

// Message is a queue message as a receiver sees it.
type Message struct {
	ID            string
	ReceiptHandle string
	Body          []byte
	ReceiveCount  int
}

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

// Receive returns up to max visible messages and hides them for the visibility timeout;
// a message not deleted by then is delivered again.
func (q *Queue) Receive(max int, visibility time.Duration) []Message {
	q.e.lock()
	defer q.e.unlock()
	var out []Message
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
		out = append(out, Message{ID: m.id, ReceiptHandle: m.handle, Body: m.body, ReceiveCount: m.receives})
	}
	return out
}

// Arrived is signalled when a message is sent, for long polling.
func (q *Queue) Arrived() <-chan struct{} { return q.arrived }

// Delete removes a received message by its latest receipt handle.
func (q *Queue) Delete(handle string) error {
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

// ChangeVisibility extends (or ends) the invisibility of a received message.
func (q *Queue) ChangeVisibility(handle string, d time.Duration) error {
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
