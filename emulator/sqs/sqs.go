// Package sqs is the emulated SQS queue that EventBridge rules deliver to: at-least-once
// delivery, a visibility timeout, delete once handled. Its messages are part of the world
// (they come and go with its changes), so it works under the world's lock and clock.
package sqs

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
	e       World
	msgs    []*queued
	arrived chan struct{}
	dropped int
}

// World is what the queue uses of the world: its lock, its time and its IDs (both read
// under the lock), and its clock.
type World interface {
	Lock()
	Unlock()
	Now() time.Time
	NewID() string
	After(d time.Duration) <-chan time.Time
}

// MaxQueued bounds the queue when nothing reads it (workload without a controller).
const MaxQueued = 100_000

// New is an empty queue of the world w.
func New(w World) *Queue { return &Queue{e: w, arrived: make(chan struct{}, 1)} }

// ErrReceiptHandle is returned for a receipt handle that is not (or no longer) valid.
var ErrReceiptHandle = errors.New("ReceiptHandleIsInvalid")

// SendMessage enqueues a message, as anything with sqs:SendMessage on the queue can: tests
// use it to deliver duplicated, foreign or malformed events.
func (q *Queue) SendMessage(ctx context.Context, body []byte) error {
	q.e.Lock()
	defer q.e.Unlock()
	q.SendLocked(body)
	return ctx.Err()
}

// SendLocked enqueues a message. Callers hold the world's lock.
func (q *Queue) SendLocked(body []byte) {
	if len(q.msgs) >= MaxQueued {
		q.msgs = q.msgs[1:]
		q.dropped++
	}
	q.msgs = append(q.msgs, &queued{id: q.e.NewID(), body: body, visibleAt: q.e.Now()})
	select {
	case q.arrived <- struct{}{}:
	default:
	}
}

// ReceiveMessages returns up to max visible messages and hides them for the visibility
// timeout; a message not deleted by then is delivered again. With none visible it waits up
// to wait (emulated time) for one to arrive, as an SQS long poll does.
func (q *Queue) ReceiveMessages(ctx context.Context, max int, wait, visibility time.Duration) ([]spotfleet.Message, error) {
	out := q.Receive(max, visibility)
	if len(out) > 0 || wait <= 0 {
		return out, ctx.Err()
	}
	select {
	case <-q.arrived:
	case <-q.e.After(wait):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return q.Receive(max, visibility), nil
}

// Receive is a receive that does not wait.
func (q *Queue) Receive(max int, visibility time.Duration) []spotfleet.Message {
	q.e.Lock()
	defer q.e.Unlock()
	var out []spotfleet.Message
	for _, m := range q.msgs {
		if len(out) == max {
			break
		}
		if m.visibleAt.After(q.e.Now()) {
			continue
		}
		m.receives++
		m.visibleAt = q.e.Now().Add(visibility)
		m.handle = q.e.NewID()
		out = append(out, spotfleet.Message{ID: m.id, ReceiptHandle: m.handle, Body: m.body, ReceiveCount: m.receives})
	}
	return out
}

// DeleteMessage removes a received message by its latest receipt handle.
func (q *Queue) DeleteMessage(_ context.Context, handle string) error {
	q.e.Lock()
	defer q.e.Unlock()
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
	q.e.Lock()
	defer q.e.Unlock()
	for _, m := range q.msgs {
		if m.handle == handle && handle != "" {
			m.visibleAt = q.e.Now().Add(d)
			return nil
		}
	}
	return ErrReceiptHandle
}

// Len is how many messages the queue holds, visible or not.
func (q *Queue) Len() int {
	q.e.Lock()
	defer q.e.Unlock()
	return len(q.msgs)
}

// Visible is how many messages a receive would return now.
func (q *Queue) Visible() int {
	q.e.Lock()
	defer q.e.Unlock()
	n := 0
	for _, m := range q.msgs {
		if !m.visibleAt.After(q.e.Now()) {
			n++
		}
	}
	return n
}
