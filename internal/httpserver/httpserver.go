// Package httpserver builds every HTTP server spotfleet runs for others to call (up's API
// and dashboard, the controller's API, the emulator's metadata services), with one set of
// limits: timeouts on reading the header, the request and writing the answer, an idle
// timeout, a cap on bodies, and a cap on open connections in all and per client address.
//
// Without them (the second review, #32) 20,000 slow POST bodies to /v1/notices used up the
// process's file descriptors: under `up` the load balancer lost every target, and the AWS
// controller lost its lease and acted on an interruption 60 s late. The per-address cap is
// what keeps /healthz and agents' reports answering while one host holds its share.
package httpserver

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Limits bound what one server gives its clients.
type Limits struct {
	ReadHeader time.Duration // to read a request's header
	Read       time.Duration // to read a whole request, body included
	Write      time.Duration // to write an answer; a streaming handler extends it (Extend)
	Idle       time.Duration // a kept-alive connection waits this long for the next request
	MaxBody    int64         // bytes of a request's body
	MaxConns   int           // open connections in all
	// MaxConnsPerHost bounds the open connections of one client address, so that one host
	// cannot take them all. A connection past either cap is closed as soon as it is
	// accepted, before it holds anything.
	MaxConnsPerHost int
}

// API are the limits of the control APIs: small JSON requests and answers, a dashboard
// that polls once a second, agents that report once per notice.
var API = Limits{
	ReadHeader:      5 * time.Second,
	Read:            10 * time.Second,
	Write:           30 * time.Second,
	Idle:            60 * time.Second,
	MaxBody:         1 << 20,
	MaxConns:        1024,
	MaxConnsPerHost: 256,
}

// Server serves a handler on listeners within its limits.
type Server struct {
	srv     *http.Server
	limits  Limits
	refused atomic.Int64
}

// New is a server of h within l.
func New(h http.Handler, l Limits) *Server {
	return &Server{limits: l, srv: &http.Server{
		Handler:           capBodies(h, l.MaxBody),
		ReadHeaderTimeout: l.ReadHeader,
		ReadTimeout:       l.Read,
		WriteTimeout:      l.Write,
		IdleTimeout:       l.Idle,
		MaxHeaderBytes:    64 << 10,
	}}
}

// Serve accepts connections on ln until the server is closed; it returns nil then.
func (s *Server) Serve(ln net.Listener) error {
	err := s.srv.Serve(&limitListener{Listener: ln, s: s, perHost: map[string]int{}})
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown stops accepting, lets the requests in flight end until ctx does, then closes.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	if err != nil {
		s.srv.Close()
	}
	return err
}

// Close closes every listener and connection at once.
func (s *Server) Close() error { return s.srv.Close() }

// Refused counts the connections closed at once because a cap was reached.
func (s *Server) Refused() int64 { return s.refused.Load() }

// Extend moves the write deadline of a streaming answer (a followed log, a large
// download) d from now: the server's write timeout bounds the rest.
func Extend(w http.ResponseWriter, d time.Duration) {
	http.NewResponseController(w).SetWriteDeadline(time.Now().Add(d))
}

func capBodies(h http.Handler, limit int64) http.Handler {
	if limit <= 0 {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > limit {
			http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		h.ServeHTTP(w, r)
	})
}

// limitListener closes the connections past the caps as it accepts them.
type limitListener struct {
	net.Listener
	s       *Server
	mu      sync.Mutex
	open    int
	perHost map[string]int
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		host := hostOf(c.RemoteAddr())
		if l.take(host) {
			return &limitedConn{Conn: c, release: func() { l.give(host) }}, nil
		}
		l.s.refused.Add(1)
		c.Close()
	}
}

func (l *limitListener) take(host string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	lim := l.s.limits
	if (lim.MaxConns > 0 && l.open >= lim.MaxConns) || (lim.MaxConnsPerHost > 0 && l.perHost[host] >= lim.MaxConnsPerHost) {
		return false
	}
	l.open++
	l.perHost[host]++
	return true
}

func (l *limitListener) give(host string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.open--
	if l.perHost[host]--; l.perHost[host] <= 0 {
		delete(l.perHost, host)
	}
}

// limitedConn gives its place back once, when it is closed.
type limitedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

func hostOf(a net.Addr) string {
	if t, ok := a.(*net.TCPAddr); ok {
		return t.IP.String()
	}
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return host
}

// Hosts answers only requests whose Host header allowed accepts, and 403 to the rest: a
// page of another site whose DNS name was rebound to this address sends its own name,
// and must not read the API.
func Hosts(h http.Handler, allowed func(host string) bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, err := net.SplitHostPort(r.Host)
		if err != nil {
			host = r.Host
		}
		if !allowed(host) {
			http.Error(w, "the spotfleet API does not answer for the host name "+clipHost(host), http.StatusForbidden)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// Loopback accepts the names of this machine's loopback addresses.
func Loopback(host string) bool {
	ip := net.ParseIP(host)
	return host == "localhost" || (ip != nil && ip.IsLoopback())
}

// AddressOr accepts loopback names, any IP address (what a client that dialled an address
// sends; no page of another site can make a browser send it) and the names given.
func AddressOr(names ...string) func(string) bool {
	return func(host string) bool {
		if Loopback(host) || net.ParseIP(host) != nil {
			return true
		}
		for _, n := range names {
			if strings.EqualFold(host, n) {
				return true
			}
		}
		return false
	}
}

func clipHost(h string) string {
	if len(h) > 64 {
		return h[:64] + "…"
	}
	return h
}
