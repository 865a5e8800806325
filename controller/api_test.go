package controller

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/spotfleet/spotfleet"
	"github.com/spotfleet/spotfleet/emulator"
)

// post sends an agent report to the controller's API and returns the status code.
func post(mux *http.ServeMux, body string) int {
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/v1/notices", strings.NewReader(body)))
	return w.Code
}

// signedReport is what the agent of instance id sends: its identity document and signature
// as the metadata service serves them.
func (r *rig) signedReport(id, reportFor string) string {
	doc, sig, err := r.e.IdentityDocument(id)
	if err != nil {
		r.t.Fatal(err)
	}
	b, _ := json.Marshal(spotfleet.AgentReport{Instance: reportFor, Kind: spotfleet.KindInterruption,
		Deadline: r.e.Now().Add(2 * time.Minute), Document: string(doc), Signature: sig})
	return string(b)
}

func TestAPIServesMetricsAndTakesAgentReports(t *testing.T) {
	withRig(t, fleet, func(t *testing.T, r *rig) {
		r.cfg.Queue = nil
		r.startController()
		mux := http.NewServeMux()
		r.c.Routes(mux)
		in := r.busySpot()

		for _, bad := range []string{`{`, `{"instance":"i-1","kind":"reboot"}`, `{"instance":"i-1","kind":"interruption","extra":1}`} {
			if code := post(mux, bad); code != http.StatusBadRequest {
				t.Errorf("POST %s: %d, want 400", bad, code)
			}
		}
		r.e.Interrupt(emulator.InterruptRequest{Target: in.ID}) // EC2's notice: what the agent saw on the metadata service
		if code := post(mux, r.signedReport(in.ID, in.ID)); code != http.StatusAccepted {
			t.Fatalf("a good report: %d, want 202", code)
		}
		time.Sleep(2 * time.Second)

		w := httptest.NewRecorder()
		mux.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/metrics", nil))
		body := w.Body.String()
		for _, want := range []string{
			`spotfleet_events_total{kind="interruption",outcome="accepted"} 1`,
			`spotfleet_deadline_missed_total 0`,
			`spotfleet_notices_active 1`,
			`spotfleet_provider_calls_total{call="DrainContainerInstances",result="ok"} 1`,
			`spotfleet_provider_calls_total{call="DetachInstances",result="ok"} 1`,
		} {
			if !strings.Contains(body, want) {
				t.Errorf("/metrics lacks %s", want)
			}
		}
		if t.Failed() {
			t.Log(body)
		}
	})
}

// TestForgedReportsAreRefused: a report without the instance's signed identity document,
// with another instance's, or for an instance EC2 has not marked for interruption is
// refused, and nothing is drained, detached or deregistered.
func TestForgedReportsAreRefused(t *testing.T) {
	withRig(t, fleet, func(t *testing.T, r *rig) {
		r.cfg.Queue = nil
		r.startController()
		mux := http.NewServeMux()
		r.c.Routes(mux)
		spot := r.spot()
		victim, other := spot[0], spot[1]
		doc, sig, _ := r.e.IdentityDocument(victim.ID)
		tampered := strings.Replace(string(doc), victim.ID, other.ID, 1)
		cases := []struct {
			name, body string
			want       int
		}{
			{"no identity", `{"instance":"` + victim.ID + `","kind":"interruption"}`, http.StatusUnauthorized},
			{"bad signature", mustJSON(spotfleet.AgentReport{Instance: victim.ID, Kind: spotfleet.KindInterruption, Document: string(doc), Signature: "AAAA"}), http.StatusUnauthorized},
			{"document changed", mustJSON(spotfleet.AgentReport{Instance: other.ID, Kind: spotfleet.KindInterruption, Document: tampered, Signature: sig}), http.StatusUnauthorized},
			{"another instance's document", r.signedReport(other.ID, victim.ID), http.StatusUnauthorized},
			{"healthy instance, its own document", r.signedReport(victim.ID, victim.ID), http.StatusConflict},
			{"rebalance for another instance", strings.Replace(r.signedReport(other.ID, victim.ID), `"interruption"`, `"rebalance"`, 1), http.StatusUnauthorized},
		}
		for _, c := range cases {
			if code := post(mux, c.body); code != c.want {
				t.Errorf("%s: %d, want %d", c.name, code, c.want)
			}
		}
		time.Sleep(5 * time.Second)
		for _, call := range []string{"DeregisterTargets", "DrainContainerInstances", "DetachInstances", "TerminateInstances"} {
			if n := r.rec.count(call, "*"); n != 0 {
				t.Errorf("%d %s calls after forged reports, want 0", n, call)
			}
		}
		if got := r.c.Stats().Events[OutcomeUnauthenticated]; got != 5 {
			t.Errorf("%d reports counted unauthenticated, want 5", got)
		}
	})
}

// TestReportsOfAnotherAccountAreRefused: a signed document of the right instance but not
// of the fleet's account is refused.
func TestReportsOfAnotherAccountAreRefused(t *testing.T) {
	withRig(t, fleet, func(t *testing.T, r *rig) {
		r.cfg.Queue, r.cfg.Account = nil, "999999999999"
		r.startController()
		mux := http.NewServeMux()
		r.c.Routes(mux)
		in := r.busySpot()
		r.e.Interrupt(emulator.InterruptRequest{Target: in.ID})
		if code := post(mux, r.signedReport(in.ID, in.ID)); code != http.StatusUnauthorized {
			t.Errorf("a report of account %s for a fleet of %s: %d, want 401", emulator.AccountID, r.cfg.Account, code)
		}
	})
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestConfirmationFailsClosed: a signed report of a healthy instance is refused when EC2
// cannot be asked (503: the agent retries) and when the client hangs up while it is
// asked (the review's report was taken after ~80 ms of waiting, and a healthy instance
// was detached and terminated). Nothing is deregistered, drained or detached.
func TestConfirmationFailsClosed(t *testing.T) {
	withRig(t, fleet, func(t *testing.T, r *rig) {
		r.cfg.Queue = nil
		r.startController()
		mux := http.NewServeMux()
		r.c.Routes(mux)
		healthy := r.busySpot()

		r.rec.mu.Lock()
		r.rec.fail = func(call string) error {
			if call == "InterruptionPending" {
				return errors.New("RequestLimitExceeded: throttled")
			}
			return nil
		}
		r.rec.mu.Unlock()
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/v1/notices", strings.NewReader(r.signedReport(healthy.ID, healthy.ID))))
		if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" {
			t.Errorf("EC2 throttles the confirmation: %d (Retry-After %q), want 503 with Retry-After", w.Code, w.Header().Get("Retry-After"))
		}

		// The client hangs up while EC2 is asked: the question goes on, and its answer holds.
		ctx, hangUp := context.WithCancel(context.Background())
		r.rec.mu.Lock()
		r.rec.fail = func(call string) error {
			if call == "InterruptionPending" {
				hangUp()
			}
			return nil
		}
		r.rec.mu.Unlock()
		req := httptest.NewRequestWithContext(ctx, http.MethodPost, "/v1/notices", strings.NewReader(r.signedReport(healthy.ID, healthy.ID)))
		w = httptest.NewRecorder()
		mux.ServeHTTP(w, req)
		if w.Code != http.StatusConflict {
			t.Errorf("the client hung up during the confirmation: %d, want 409 (no interruption is pending)", w.Code)
		}

		time.Sleep(5 * time.Second)
		for _, call := range []string{"DeregisterTargets", "DrainContainerInstances", "DetachInstances", "TerminateInstances"} {
			if n := r.rec.count(call, "*"); n != 0 {
				t.Errorf("%d %s calls for a healthy instance, want 0", n, call)
			}
		}
		if got := r.c.Stats().Events[OutcomeAccepted]; got != 0 {
			t.Errorf("%d reports taken, want 0", got)
		}
	})
}
