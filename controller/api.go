package controller

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spotfleet/spotfleet"
)

// AgentReport is what `spotfleet agent --report` posts when the metadata service of its
// instance shows a notice.
type AgentReport struct {
	Instance string              `json:"instance"`
	Kind     spotfleet.EventKind `json:"kind"`              // interruption or rebalance
	Deadline time.Time           `json:"deadline,omitzero"` // the metadata's instance-action time
}

// Routes adds the controller's endpoints to an API mux: GET /metrics (Prometheus),
// GET /healthz, and POST /v1/notices for agents.
func (c *Controller) Routes(mux *http.ServeMux) {
	mux.Handle("GET /metrics", promhttp.HandlerFor(c.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) })
	mux.HandleFunc("POST /v1/notices", func(w http.ResponseWriter, r *http.Request) {
		var rep AgentReport
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&rep); err != nil {
			http.Error(w, "bad report: "+err.Error(), http.StatusBadRequest)
			return
		}
		if err := c.Report(r.Context(), rep.Kind, rep.Instance, rep.Deadline); err != nil {
			http.Error(w, "bad report: "+err.Error(), http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	})
}
