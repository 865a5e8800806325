package emulator

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/spotfleet/spotfleet/emulator/lbhttp"
)

// listener is a load balancer listener: a port, HTTP or HTTPS, whose rules send each
// request to a target group by its host and path, as an ALB's do. Services that share a
// listenerPort share it; an HTTPS listener may have an HTTP port that redirects to it.
type listener struct {
	port     int
	https    bool
	redirect int    // an HTTP port answering 301 to this listener; 0 for none
	rules    []rule // in manifest order
	fallback *targetGroup
	fronts   []*lbhttp.Frontend
	addr     string // where it listens, once it does
}

// rule routes the requests matching its hosts (any of them, when set) and its paths (any
// of them, when set) to tg.
type rule struct {
	hosts, paths []string
	tg           *targetGroup
}

// newListeners groups the services' target groups by listener port, in manifest order.
func newListeners(services []*service) []*listener {
	var out []*listener
	byPort := map[int]*listener{}
	for _, s := range services {
		lb := s.cfg.LoadBalancer
		if s.tg == nil || s.covers != nil {
			continue // a fallback companion is served by the target group it covers for
		}
		l := byPort[lb.ListenerPort]
		if l == nil {
			l = &listener{port: lb.ListenerPort, https: lb.Protocol == "HTTPS", redirect: lb.RedirectHTTPFrom}
			byPort[lb.ListenerPort] = l
			out = append(out, l)
		}
		if lb.Routed() {
			l.rules = append(l.rules, rule{hosts: lb.Hosts, paths: lb.Paths, tg: s.tg})
		} else {
			l.fallback = s.tg
		}
	}
	return out
}

// route is the target group a request goes to; nil when no rule matches and there is no
// default (ALB then answers 404).
func (l *listener) route(r *http.Request) *targetGroup {
	host, _, err := net.SplitHostPort(r.Host)
	if err != nil {
		host = r.Host
	}
	for _, ru := range l.rules {
		if ru.matches(host, r.URL.Path) {
			return ru.tg
		}
	}
	return l.fallback
}

func (ru rule) matches(host, path string) bool {
	anyOf := func(patterns []string, s string, fold bool) bool {
		if len(patterns) == 0 {
			return true
		}
		for _, p := range patterns {
			if fold && wildcard(strings.ToLower(p), strings.ToLower(s)) || !fold && wildcard(p, s) {
				return true
			}
		}
		return false
	}
	return anyOf(ru.hosts, host, true) && anyOf(ru.paths, path, false)
}

// wildcard matches s against an ALB pattern: * is any run of characters, "/" included
// (unlike path.Match), and ? is one character.
func wildcard(pattern, s string) bool {
	// The classic greedy match with backtracking to the last star: linear for patterns
	// without stars, O(len(pattern)·len(s)) at worst.
	p, i, star, mark := 0, 0, -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && (pattern[p] == '?' || pattern[p] == s[i]):
			p, i = p+1, i+1
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case star >= 0:
			mark++
			p, i = star+1, mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

func (l *listener) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	tg := l.route(r)
	if tg == nil {
		http.Error(w, "404 Not Found: no rule of this listener matches", http.StatusNotFound)
		return
	}
	tg.ServeHTTP(w, r)
}

// listen opens the listener, and its redirect port.
func (l *listener) listen(e *Emulator) error {
	addr := net.JoinHostPort(e.opt.ListenHost, strconv.Itoa(l.port))
	ln, err := e.opt.Listen(addr)
	if err != nil {
		return fmt.Errorf("load balancer cannot listen on %s: %w (change loadBalancer.listenerPort, or stop what uses the port)", addr, err)
	}
	l.addr = ln.Addr().String()
	var tlsConfig *tls.Config
	if l.https {
		cert, err := e.certificate()
		if err != nil {
			ln.Close()
			return err
		}
		tlsConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		ln = tls.NewListener(ln, tlsConfig)
	}
	front := lbhttp.NewFrontend(l, e.log)
	l.fronts = append(l.fronts, front)
	e.bg.Go(func() { front.Serve(ln) })
	if l.redirect == 0 {
		return nil
	}
	raddr := net.JoinHostPort(e.opt.ListenHost, strconv.Itoa(l.redirect))
	rln, err := e.opt.Listen(raddr)
	if err != nil {
		return fmt.Errorf("load balancer cannot listen on %s: %w (change loadBalancer.redirectHttpFrom, or stop what uses the port)", raddr, err)
	}
	redirect := lbhttp.NewFrontend(http.HandlerFunc(l.redirectHTTPS), e.log)
	l.fronts = append(l.fronts, redirect)
	e.bg.Go(func() { redirect.Serve(rln) })
	return nil
}

// redirectHTTPS answers as an ALB redirect action to HTTPS does: 301 to the same host,
// path and query on the HTTPS listener's port.
func (l *listener) redirectHTTPS(w http.ResponseWriter, r *http.Request) {
	host, _, err := net.SplitHostPort(r.Host)
	if err != nil {
		host = r.Host
	}
	u := url.URL{Scheme: "https", Host: net.JoinHostPort(host, strconv.Itoa(l.port)), Path: r.URL.Path, RawQuery: r.URL.RawQuery}
	if l.port == 443 {
		u.Host = host
	}
	http.Redirect(w, r, u.String(), http.StatusMovedPermanently)
}

func (l *listener) close() {
	for _, f := range l.fronts {
		f.Close()
	}
}
