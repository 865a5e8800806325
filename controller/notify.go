package controller

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/spotfleet/spotfleet"
	"github.com/spotfleet/spotfleet/clock"
)

// Notification is the JSON body posted to each webhook at each phase of a notice.
type Notification struct {
	ID       string              `json:"id"` // the same when a phase is posted again: receivers deduplicate by it
	Fleet    string              `json:"fleet"`
	Instance string              `json:"instance"`       // empty for a Fargate Spot task
	Task     string              `json:"task,omitempty"` // a Fargate Spot task's ID
	Pool     string              `json:"pool"`
	Kind     spotfleet.EventKind `json:"kind"`   // interruption or rebalance
	Action   string              `json:"action"` // interruption, replace, drain or ignore
	Phase    Phase               `json:"phase"`
	Time     time.Time           `json:"time"`
	Deadline *time.Time          `json:"deadline,omitempty"`
}

// Notifications are retried this many times, backing off from notifyBackoff, and a
// webhook holds at most notifyBuffer of them: past that the oldest are dropped (and
// counted), because a dead webhook must never hold up draining.
const (
	notifyAttempts = 6
	notifyBackoff  = time.Second
	notifyBuffer   = 4096
	notifyTimeout  = 5 * time.Second
)

// Notifier posts notifications to the manifest's webhooks, each at most once, retried with
// backoff, without ever blocking the caller: the controller's and the seed functions'.
type Notifier struct {
	clk    clock.Clock
	client *http.Client
	log    *slog.Logger
	count  func(result string)
	hooks  []*webhook

	mu         sync.Mutex
	sent       map[string]time.Time // IDs queued, for deduplication; pruned after an hour
	pruneAbove int                  // prune when sent grows past this (then twice what is left)
}

type webhook struct {
	url string
	ch  chan Notification
}

// NewNotifier posts to the manifest's webhooks; count receives each result.
func NewNotifier(cfg Config, count func(string)) *Notifier {
	n := &Notifier{clk: cfg.Clock, client: cfg.HTTPClient, log: cfg.Log, count: count,
		sent: map[string]time.Time{}, pruneAbove: notifyBuffer}
	for _, w := range cfg.Manifest.Interruptions.Notify {
		n.hooks = append(n.hooks, &webhook{url: w.Webhook, ch: make(chan Notification, notifyBuffer)})
	}
	return n
}

// Send queues a notification for every webhook without waiting.
func (n *Notifier) Send(x Notification) {
	now := n.clk.Now()
	n.mu.Lock()
	if _, dup := n.sent[x.ID]; dup {
		n.mu.Unlock()
		return
	}
	n.sent[x.ID] = now
	if len(n.sent) > n.pruneAbove {
		for id, at := range n.sent {
			if now.Sub(at) > time.Hour {
				delete(n.sent, id)
			}
		}
		n.pruneAbove = max(notifyBuffer, 2*len(n.sent))
	}
	n.mu.Unlock()
	for _, h := range n.hooks {
		select {
		case h.ch <- x:
			continue
		default:
		}
		select { // full: the oldest goes
		case old := <-h.ch:
			n.count("dropped")
			n.log.Warn("webhook is not keeping up: dropped a notification", "webhook", h.url, "id", old.ID)
		default:
		}
		select {
		case h.ch <- x:
		default:
			n.count("dropped")
		}
	}
}

// Run posts queued notifications until ctx ends, one goroutine per webhook.
func (n *Notifier) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, h := range n.hooks {
		wg.Go(func() {
			for {
				select {
				case <-ctx.Done():
					return
				case x := <-h.ch:
					n.deliver(ctx, h.url, x)
				}
			}
		})
	}
	wg.Wait()
}

func (n *Notifier) deliver(ctx context.Context, url string, x Notification) {
	body, _ := json.Marshal(x)
	backoff := notifyBackoff
	for attempt := 1; ; attempt++ {
		err := n.post(ctx, url, body)
		if err == nil {
			n.count("sent")
			return
		}
		if attempt == notifyAttempts || ctx.Err() != nil {
			n.count("failed")
			n.log.Warn("webhook notification failed; giving up", "webhook", url, "id", x.ID, "attempts", attempt, "err", err)
			return
		}
		n.count("retried")
		jitter := time.Duration(rand.Int64N(int64(backoff) / 2))
		select {
		case <-ctx.Done():
			return
		case <-n.clk.After(backoff + jitter):
		}
		backoff *= 2
	}
}

func (n *Notifier) post(ctx context.Context, url string, body []byte) error {
	ctx, cancel := context.WithTimeout(ctx, notifyTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := n.client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		return fmt.Errorf("webhook answered %s", resp.Status)
	}
	return nil
}
