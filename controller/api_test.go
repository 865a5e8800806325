package controller

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestAPIServesMetricsAndTakesAgentReports(t *testing.T) {
	withRig(t, fleet, func(t *testing.T, r *rig) {
		r.cfg.Queue = nil
		r.startController()
		mux := http.NewServeMux()
		r.c.Routes(mux)
		in := r.busySpot()

		post := func(body string) int {
			w := httptest.NewRecorder()
			mux.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/v1/notices", strings.NewReader(body)))
			return w.Code
		}
		for _, bad := range []string{`{`, `{"instance":"i-1","kind":"reboot"}`, `{"kind":"interruption"}`, `{"instance":"i-1","kind":"interruption","extra":1}`} {
			if code := post(bad); code != http.StatusBadRequest {
				t.Errorf("POST %s: %d, want 400", bad, code)
			}
		}
		if code := post(`{"instance":"` + in.ID + `","kind":"interruption","deadline":"` + r.e.Now().Add(2*time.Minute).Format(time.RFC3339) + `"}`); code != http.StatusAccepted {
			t.Fatalf("a good report: %d, want 202", code)
		}
		time.Sleep(2 * time.Second)

		w := httptest.NewRecorder()
		mux.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/metrics", nil))
		body := w.Body.String()
		for _, want := range []string{
			`spotfleet_notice_phase_seconds_count{kind="interruption",phase="deregistered"} 1`,
			`spotfleet_events_total{kind="interruption",outcome="accepted"} 1`,
			`spotfleet_deadline_missed_total 0`,
			`spotfleet_notices_active 1`,
			`spotfleet_provider_calls_total{call="DeregisterTargets",result="ok"}`,
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

func TestWarnsWhenReplacementsCannotStartFirst(t *testing.T) {
	yaml := strings.Replace(fleet, "    desiredCount: 4\n", "    desiredCount: 4\n    maximumPercent: 100\n", 1)
	withRig(t, yaml, func(t *testing.T, r *rig) {
		r.startController()
		in := r.busySpot()
		r.interrupt(in.Pool)
		st := r.c.Stats()
		if len(st.Warnings) != 1 || !strings.Contains(st.Warnings[0], "maximumPercent 100") {
			t.Errorf("warnings %q: want one about maximumPercent", st.Warnings)
		}
		time.Sleep(3 * time.Minute)
		checkClean(t, r.report())
	})
}
