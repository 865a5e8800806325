package lbhttp

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"runtime"
	"sync"
	"time"
)

// Transport is a target's HTTP/1.1 client: keep-alive connections used by the
// request's own goroutine, which writes the request and reads the answer itself.
// net/http's Transport hands each request to two goroutines of the connection (a writer
// and a reader) and back, which costs the listener a third of its throughput; a load
// balancer talks to one address and needs none of Transport's generality (proxies,
// HTTP/2, TLS, compression).
type Transport struct {
	addr string
	// Dial connects to the target; NewTransport's gives up after targetConnectTimeout, the
	// ALB's 10 s (a test sets one that gives up at once).
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)

	mu   sync.Mutex
	idle []*targetConn
}

// maxIdlePerTarget bounds the idle connections kept per target (as MaxIdleConnsPerHost).
const maxIdlePerTarget = 512

// targetConnectTimeout is an ALB's: a target that has not accepted the connection within it
// gets the client a 504 (a busy target's full accept queue drops connection attempts, which
// the kernel repeats after 1 s and 3 s, so a shorter one fails requests AWS would serve).
const targetConnectTimeout = 10 * time.Second

// errConnectTimeout is a connection to the target that was not accepted in time.
var errConnectTimeout = errors.New("the target did not accept the connection in time")

type targetConn struct {
	net.Conn
	r *bufio.Reader
	w *bufio.Writer
}

func NewTransport(addr string) *Transport {
	return &Transport{addr: addr, Dial: (&net.Dialer{Timeout: targetConnectTimeout}).DialContext}
}

func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	return t.exchange(req, retryable(req), func(w *bufio.Writer) error { return req.Write(w) }, nil)
}

// exchange writes a request with write and reads its answer; informational answers (1xx
// but 101) go to info when it is set. A request that may not be sent twice is sent once;
// others (repeat) are sent again once on a fresh connection when a kept one turns out
// closed by the target (as Transport does).
func (t *Transport) exchange(req *http.Request, repeat bool, write func(*bufio.Writer) error, info func(*http.Response)) (*http.Response, error) {
	for attempt := 0; ; attempt++ {
		c, reused, err := t.get(req.Context())
		if err != nil {
			return nil, err
		}
		resp, err := c.roundTrip(req, write, info)
		if err == nil {
			resp.Body = &targetBody{ReadCloser: resp.Body, t: t, c: c, keep: !resp.Close && !req.Close}
			return resp, nil
		}
		c.Close()
		if !reused || attempt > 0 || !repeat || req.Context().Err() != nil {
			return nil, err
		}
	}
}

func (c *targetConn) roundTrip(req *http.Request, write func(*bufio.Writer) error, info func(*http.Response)) (*http.Response, error) {
	if err := write(c.w); err != nil {
		return nil, err
	}
	if err := c.w.Flush(); err != nil {
		return nil, err
	}
	// The answer cannot be there yet: read now and the read finds nothing, costing a
	// system call before the goroutine parks. Letting the other requests run first
	// often finds it there (bench/lb.sh: 3.9 reads a request became 3.3, +0.01-0.02 of
	// nginx's rate).
	runtime.Gosched()
	// A request the client cancels closes the connection, which ends the read.
	stop := context.AfterFunc(req.Context(), func() { c.SetDeadline(time.Unix(1, 0)) })
	resp, err := http.ReadResponse(c.r, req)
	for err == nil && resp.StatusCode >= 100 && resp.StatusCode <= 199 {
		if resp.StatusCode == http.StatusSwitchingProtocols {
			resp, err = nil, errUpgrade
			break
		}
		if info != nil && resp.StatusCode != http.StatusContinue {
			info(resp)
		}
		resp, err = http.ReadResponse(c.r, req)
	}
	if !stop() {
		if err == nil {
			resp.Body.Close()
		}
		return nil, req.Context().Err()
	}
	return resp, err
}

var errUpgrade = errors.New("protocol upgrades (101 Switching Protocols) are not supported yet")

// retryable: a request without a body that may be repeated (RFC 9110's idempotent methods).
func retryable(req *http.Request) bool {
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace, http.MethodPut, http.MethodDelete:
		return req.Body == nil || req.Body == http.NoBody
	}
	return false
}

func (t *Transport) get(ctx context.Context) (*targetConn, bool, error) {
	t.mu.Lock()
	if n := len(t.idle); n > 0 {
		c := t.idle[n-1]
		t.idle = t.idle[:n-1]
		t.mu.Unlock()
		return c, true, nil
	}
	t.mu.Unlock()
	nc, err := t.Dial(ctx, "tcp", t.addr)
	if isTimeout(err) && ctx.Err() == nil {
		return nil, false, errors.Join(errConnectTimeout, err)
	}
	if err != nil {
		return nil, false, err
	}
	return &targetConn{Conn: nc, r: bufio.NewReaderSize(nc, 16<<10), w: bufio.NewWriterSize(nc, 4<<10)}, false, nil
}

func (t *Transport) put(c *targetConn) {
	t.mu.Lock()
	if len(t.idle) < maxIdlePerTarget {
		t.idle = append(t.idle, c)
		c = nil
	}
	t.mu.Unlock()
	if c != nil {
		c.Close()
	}
}

// CloseIdleConnections closes the kept connections (a stopped target's).
func (t *Transport) CloseIdleConnections() {
	t.mu.Lock()
	idle := t.idle
	t.idle = nil
	t.mu.Unlock()
	for _, c := range idle {
		c.Close()
	}
}

// targetBody gives its connection back once the answer is read to its end, and closes it
// when the answer is abandoned part way (what is left of it would be read as the next).
type targetBody struct {
	io.ReadCloser
	t    *Transport
	c    *targetConn
	keep bool
	eof  bool
	done bool
}

func (b *targetBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if errors.Is(err, io.EOF) {
		b.eof = true
	}
	return n, err
}

func (b *targetBody) Close() error {
	if b.done {
		return nil
	}
	b.done = true
	err := b.ReadCloser.Close()
	if b.eof && b.keep && err == nil {
		b.c.SetDeadline(time.Time{})
		b.t.put(b.c)
		return nil
	}
	b.c.Close()
	return err
}
