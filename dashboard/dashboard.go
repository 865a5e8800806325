// Package dashboard is up's web dashboard and the API behind it and behind spotfleet
// interrupt, capacity and logs: the fleet map, timelines, the controller's notices, and
// the actions a person takes on the emulated world by hand.
//
// Everything it serves is embedded (uPlot, MIT, vendored from npm): the page fetches nothing
// from the internet. The API listens on loopback only (up checks), answers only requests
// whose Host is a loopback name (a page of another site that rebinds its DNS name to
// 127.0.0.1 gets nothing), and takes a state-changing request only as a POST with the run's
// token in X-Spotfleet-Token, which a page of another origin cannot send without a CORS
// preflight, which is refused.
package dashboard

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"html/template"
	"io/fs"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/spotfleet/spotfleet/controller"
	"github.com/spotfleet/spotfleet/emulator"
	"github.com/spotfleet/spotfleet/emulator/scenario"
	"github.com/spotfleet/spotfleet/fleetview"
)

//go:embed assets
var assets embed.FS

// World is the emulated fleet the dashboard shows and acts on.
type World interface {
	Status() fleetview.Status
	Interrupt(emulator.InterruptRequest) ([]string, error)
	SetSpotCapacity(pools []string, n scenario.Count) ([]string, error)
	Processes() []emulator.ProcessRecord
}

// Server serves the dashboard and its API.
type Server struct {
	world    World
	ctl      func() controller.Stats // nil without a controller
	logDir   string
	token    string
	timeline *Timeline
	page     *template.Template
	readOnly bool // shows the world, takes no action (Observed)
}

// New is a server for a world; ctl (may be nil) gives the controller's stats, logDir is
// where the processes' output is.
func New(world World, ctl func() controller.Stats, logDir string) (*Server, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	page, err := template.ParseFS(assets, "assets/index.html")
	if err != nil {
		return nil, err
	}
	return &Server{world: world, ctl: ctl, logDir: logDir, token: hex.EncodeToString(b), timeline: newTimeline(), page: page}, nil
}

// TokenHeader carries the run's token on state-changing requests.
const TokenHeader = "X-Spotfleet-Token"

// NewReadOnly is a server that shows a world and offers no action: no button, no token, no
// POST route, no logs (the controller on AWS).
func NewReadOnly(world World, ctl func() controller.Stats) (*Server, error) {
	s, err := New(world, ctl, "")
	if s != nil {
		s.readOnly, s.token = true, ""
	}
	return s, err
}

// Routes adds the dashboard's routes.
func (s *Server) Routes(mux *http.ServeMux) {
	static, _ := fs.Sub(assets, "assets")
	mux.Handle("GET /assets/", s.local(http.StripPrefix("/assets/", http.FileServerFS(static))))
	mux.Handle("GET /{$}", s.local(http.HandlerFunc(s.serveIndex)))
	mux.Handle("GET /v1/dashboard", s.local(http.HandlerFunc(s.serveState)))
	if s.readOnly {
		return
	}
	mux.Handle("GET /v1/session", s.local(http.HandlerFunc(s.serveSession)))
	mux.Handle("POST /v1/interrupt", s.local(s.authorized(http.HandlerFunc(s.serveInterrupt))))
	mux.Handle("POST /v1/capacity", s.local(s.authorized(http.HandlerFunc(s.serveCapacity))))
	mux.Handle("GET /v1/logs", s.local(http.HandlerFunc(s.serveLogs)))
}

// Run samples the timeline every second (wall) until ctx ends.
func (s *Server) Run(ctx context.Context) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		s.timeline.Sample(s.world.Status())
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// local refuses requests whose Host is not a loopback name: the API listens on loopback,
// and a Host of another name is a browser sent there by a rebound DNS name.
func (s *Server) local(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, err := net.SplitHostPort(r.Host)
		if err != nil {
			host = r.Host
		}
		if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			http.Error(w, "the spotfleet API answers on loopback addresses only", http.StatusForbidden)
			return
		}
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("X-Frame-Options", "DENY")
		next.ServeHTTP(w, r)
	})
}

// authorized takes only requests that carry the run's token, as JSON.
func (s *Server) authorized(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(TokenHeader) != s.token {
			http.Error(w, "missing or wrong "+TokenHeader+" (GET /v1/session gives it)", http.StatusForbidden)
			return
		}
		if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
			http.Error(w, "send JSON (Content-Type: application/json)", http.StatusUnsupportedMediaType)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) serveIndex(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:")
	s.page.Execute(w, map[string]any{"Token": s.token, "ReadOnly": s.readOnly})
}

// State is what the page polls: the world, its timeline and the controller's stats.
type State struct {
	ReadOnly   bool              `json:"readOnly,omitempty"` // the controller's view on AWS
	Status     fleetview.Status  `json:"status"`
	Timeline   *Timeline         `json:"timeline"`
	Controller *controller.Stats `json:"controller,omitempty"`
}

func (s *Server) serveState(w http.ResponseWriter, r *http.Request) {
	st := State{ReadOnly: s.readOnly, Status: s.world.Status(), Timeline: s.timeline}
	if s.ctl != nil {
		c := s.ctl()
		st.Controller = &c
	}
	writeJSON(w, http.StatusOK, st)
}

// Session is what a client needs to act: the run's token.
type Session struct {
	Token string `json:"token"`
}

func (s *Server) serveSession(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, Session{Token: s.token})
}

// ActionResult is the answer to an action: what it touched.
type ActionResult struct {
	Instances []string `json:"instances,omitempty"`
	Pools     []string `json:"pools,omitempty"`
}

func (s *Server) serveInterrupt(w http.ResponseWriter, r *http.Request) {
	var req emulator.InterruptRequest
	if !readJSON(w, r, &req) {
		return
	}
	ids, err := s.world.Interrupt(req)
	if err != nil {
		writeError(w, err)
		return
	}
	s.timeline.Sample(s.world.Status()) // the action on the timeline now, not at the next tick
	writeJSON(w, http.StatusOK, ActionResult{Instances: ids})
}

// CapacityRequest sets the free Spot capacity of pools; Instances is -1 for unlimited.
type CapacityRequest struct {
	Pools     []string `json:"pools"`
	Instances int      `json:"instances"`
}

func (s *Server) serveCapacity(w http.ResponseWriter, r *http.Request) {
	var req CapacityRequest
	if !readJSON(w, r, &req) {
		return
	}
	pools, err := s.world.SetSpotCapacity(req.Pools, scenario.Count(req.Instances))
	if err != nil {
		writeError(w, err)
		return
	}
	s.timeline.Sample(s.world.Status())
	writeJSON(w, http.StatusOK, ActionResult{Pools: pools})
}

func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 16<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		http.Error(w, "bad request: "+err.Error(), http.StatusBadRequest)
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

// writeError answers 404 for a target that does not exist, 400 for the rest.
func writeError(w http.ResponseWriter, err error) {
	code := http.StatusBadRequest
	if errors.Is(err, emulator.ErrNotFound) {
		code = http.StatusNotFound
	}
	http.Error(w, err.Error(), code)
}
