package controller

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spotfleet/spotfleet"
)

// Routes adds the controller's endpoints to an API mux: GET /metrics (Prometheus),
// GET /healthz, and POST /v1/notices for agents.
func (c *Controller) Routes(mux *http.ServeMux) {
	mux.Handle("GET /metrics", promhttp.HandlerFor(c.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) })
	mux.HandleFunc("POST /v1/notices", c.serveReport)
}

// confirmTimeout bounds the question to EC2 about an agent's report.
const confirmTimeout = 10 * time.Second

// serveReport takes an agent's report: 400 when it cannot be read, 401 when its identity
// does not hold, 409 when the provider shows no interruption for the instance, 503 when
// the provider cannot be asked, 202 when it is taken.
func (c *Controller) serveReport(w http.ResponseWriter, r *http.Request) {
	if !c.leading() { // an agent retries, and reaches the leader behind the same address
		http.Error(w, "this controller follows: another holds the fleet's lease; retry", http.StatusServiceUnavailable)
		return
	}
	var rep spotfleet.AgentReport
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rep); err != nil {
		http.Error(w, "bad report: "+err.Error(), http.StatusBadRequest)
		return
	}
	if rep.Kind != spotfleet.KindInterruption && rep.Kind != spotfleet.KindRebalance {
		http.Error(w, fmt.Sprintf("bad report: kind %q: want %s or %s", rep.Kind, spotfleet.KindInterruption, spotfleet.KindRebalance), http.StatusBadRequest)
		return
	}
	instance, err := c.authenticate(rep)
	if err != nil {
		c.count(string(rep.Kind), OutcomeUnauthenticated)
		c.log.Warn("agent report refused", "reason", err, "instance", rep.Instance, "from", r.RemoteAddr)
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	if rep.Kind == spotfleet.KindInterruption {
		// The question to EC2 is the controller's, not the client's: a client that hangs
		// up must not cancel it, and its failure must not read as a yes.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), confirmTimeout)
		pending, err := c.p.InterruptionPending(ctx, instance)
		cancel()
		switch {
		case err != nil:
			// Fails closed: a signed report is one instance's word about itself, and a
			// healthy instance taken out for it is capacity lost. The agent retries, and
			// EventBridge's warning comes anyway.
			c.count(string(rep.Kind), OutcomeUnconfirmed)
			c.log.Warn("agent report not taken: cannot confirm the interruption with EC2", "instance", instance, "err", err)
			w.Header().Set("Retry-After", "2")
			http.Error(w, "cannot confirm the interruption of "+instance+" with EC2 now; retry", http.StatusServiceUnavailable)
			return
		case !pending:
			c.count(string(rep.Kind), OutcomeUnconfirmed)
			c.log.Warn("agent report refused: no interruption is pending for the instance", "instance", instance, "from", r.RemoteAddr)
			http.Error(w, "no interruption is pending for "+instance, http.StatusConflict)
			return
		}
	}
	if err := c.Report(r.Context(), rep.Kind, instance, rep.Deadline); err != nil {
		http.Error(w, "bad report: "+err.Error(), http.StatusBadRequest)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

// authenticate returns the instance a report is for: the one its signed identity document
// names, of the fleet's account and region.
func (c *Controller) authenticate(rep spotfleet.AgentReport) (string, error) {
	if c.cfg.Identity == nil {
		return "", errors.New("this controller takes no agent reports: it has no instance identity certificate")
	}
	if rep.Document == "" || rep.Signature == "" {
		return "", errors.New("the report has no instance identity document and signature")
	}
	doc, err := c.cfg.Identity.Verify([]byte(rep.Document), rep.Signature)
	if err != nil {
		return "", err
	}
	switch {
	case rep.Instance != "" && rep.Instance != doc.InstanceID:
		return "", fmt.Errorf("the report names %s but its identity document %s", rep.Instance, doc.InstanceID)
	case c.cfg.Account != "" && doc.AccountID != c.cfg.Account:
		return "", fmt.Errorf("instance %s is of account %s, not the fleet's", doc.InstanceID, doc.AccountID)
	case doc.Region != c.m.Region:
		return "", fmt.Errorf("instance %s is in region %s, not the fleet's %s", doc.InstanceID, doc.Region, c.m.Region)
	}
	return doc.InstanceID, nil
}
