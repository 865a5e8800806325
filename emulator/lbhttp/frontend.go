// Package lbhttp is the emulated load balancer's HTTP: its HTTP/1.1 frontend, its forward
// path to a target (a connection pool per target, the ALB's header rules, its 502, 504 and
// 460), and its health checks over real HTTP. It knows nothing of the emulated world: the
// emulator routes requests to targets and counts what Forward tells it (Counts).
package lbhttp

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Frontend is a listener's HTTP/1.1 server, the client side of the load balancer. It
// exists because net/http's Server, to see a client leave while its request is served,
// starts a goroutine and a read on every request and moves the connection's read
// deadline four times; under load that was a quarter of the listener's CPU.
//
// Here a connection has one goroutine, which reads a request, runs the handler and
// writes the answer, one request at a time. Only a request that takes longer than
// frontWatchAfter gets a second goroutine that reads the connection meanwhile: an EOF
// there is the client leaving, which cancels the request (an ALB's 460). Most requests
// are done before that. Not supported: HTTP/2, and protocol upgrades (the targets'
// transport does not carry them either).
type Frontend struct {
	handler http.Handler
	log     *slog.Logger
	idle    time.Duration // frontIdleTimeout; tests shorten it

	mu     sync.Mutex
	lns    []net.Listener
	conns  map[*frontConn]struct{}
	closed bool
	wg     sync.WaitGroup // a goroutine per connection, which Close waits for
}

const (
	// frontIdleTimeout closes a keep-alive connection with no request for this long:
	// an ALB's default connection idle timeout.
	frontIdleTimeout = 60 * time.Second
	// frontHeaderTimeout is the least time a request's header is given to arrive whole.
	frontHeaderTimeout = 10 * time.Second
	// frontMaxHeader bounds a request's header, as net/http's DefaultMaxHeaderBytes.
	frontMaxHeader = 1 << 20
	// frontWatchAfter is how long a request runs before the connection is watched for
	// the client leaving.
	frontWatchAfter = 50 * time.Millisecond
	// frontDiscard is how much of a request body the handler left unread is read past
	// to keep the connection; a longer rest closes it (as net/http does).
	frontDiscard = 256 << 10
)

// NewFrontend is a frontend that serves h.
func NewFrontend(h http.Handler, log *slog.Logger) *Frontend {
	return &Frontend{handler: h, log: log, idle: frontIdleTimeout, conns: map[*frontConn]struct{}{}}
}

// Serve accepts connections on ln (a TLS listener's for HTTPS) until the Frontend is
// closed.
func (f *Frontend) Serve(ln net.Listener) {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		ln.Close()
		return
	}
	f.lns = append(f.lns, ln)
	f.mu.Unlock()
	var backoff time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) {
				// Out of file descriptors or the like: wait, as net/http does, rather
				// than spin.
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				time.Sleep(backoff)
				continue
			}
			return // closed
		}
		backoff = 0
		fc := f.track(c)
		if fc == nil {
			c.Close()
			return
		}
		f.wg.Go(fc.run)
	}
}

func (f *Frontend) track(c net.Conn) *frontConn {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil
	}
	fc := newFrontConn(f, c)
	f.conns[fc] = struct{}{}
	return fc
}

func (f *Frontend) forget(fc *frontConn) {
	f.mu.Lock()
	delete(f.conns, fc)
	f.mu.Unlock()
}

// Close stops accepting and closes every connection; requests in flight see their client
// leave (their context ends). It waits for the connections' goroutines to end, and so for
// the handlers: the emulator's forward path returns once its target or its client goes.
func (f *Frontend) Close() {
	f.mu.Lock()
	f.closed = true
	lns, conns := f.lns, f.conns
	f.lns, f.conns = nil, map[*frontConn]struct{}{}
	f.mu.Unlock()
	for _, ln := range lns {
		ln.Close()
	}
	for fc := range conns {
		fc.c.Close()
	}
	f.wg.Wait()
}

// frontConn is one client connection.
type frontConn struct {
	f      *Frontend
	c      net.Conn
	lr     limitedReader // the connection as br reads it: bounds a request's header
	br     *bufio.Reader
	bw     *bufio.Writer
	remote string
	tls    *tls.ConnectionState
	// ctx is every request's context: cancelled when the client leaves or the connection
	// closes. One per connection rather than per request, as only one request is in flight
	// and a client that leaves takes the connection with it.
	ctx    context.Context
	cancel context.CancelFunc

	resp     frontResponse // the answer being written, reused from request to request
	body     frontBody     // the request's body, when it has one
	deadline time.Time     // the read deadline set on c
	lastDone time.Time     // when the last answer was written

	// The watch: started by the timer when a request runs longer than frontWatchAfter,
	// stopped when it is answered.
	timer     *time.Timer
	watch     atomic.Int32  // watchIdle, watchArmed, ...
	watchDone chan struct{} // the watcher has stopped reading
}

func newFrontConn(f *Frontend, c net.Conn) *frontConn {
	fc := &frontConn{f: f, c: c, remote: c.RemoteAddr().String(), watchDone: make(chan struct{}, 1)}
	fc.ctx, fc.cancel = context.WithCancel(context.Background())
	fc.lr = limitedReader{r: c, n: -1}
	fc.br = bufio.NewReaderSize(&fc.lr, 4<<10)
	fc.bw = bufio.NewWriterSize(c, 4<<10)
	fc.body.fc = fc
	fc.timer = time.AfterFunc(time.Hour, fc.watchClient)
	fc.timer.Stop()
	return fc
}

// run serves the connection until the client or the Frontend closes it, or a request
// leaves it unusable.
func (fc *frontConn) run() {
	defer fc.f.forget(fc)
	defer fc.close()
	defer fc.cancel()
	defer fc.timer.Stop()
	if tc, ok := fc.c.(*tls.Conn); ok {
		ctx, cancel := context.WithTimeout(context.Background(), frontHeaderTimeout)
		err := tc.HandshakeContext(ctx)
		cancel()
		if err != nil {
			// A client that refuses the self-signed certificate is the client's business.
			fc.f.log.Debug("load balancer: TLS handshake failed", "client", fc.remote, "err", err)
			return
		}
		st := tc.ConnectionState()
		fc.tls = &st
	}
	fc.lastDone = time.Now()
	fc.arm(fc.lastDone.Add(fc.f.idle))
	for {
		if err := fc.await(); err != nil {
			return
		}
		if time.Until(fc.deadline) < min(frontHeaderTimeout, fc.f.idle) {
			fc.arm(time.Now().Add(fc.f.idle))
		}
		req, ok := fc.readRequest()
		if !ok || !fc.answer(req) || !fc.settle(req) {
			return
		}
	}
}

// close closes the connection without losing the last answer: closing with input unread
// (a rejected request, a body left unread) makes the kernel reset the connection, and a
// client may then lose what it was sent. So, as net/http does, it first stops writing and
// reads what the client still sends, for up to half a second.
func (fc *frontConn) close() {
	if cw, ok := fc.c.(interface{ CloseWrite() error }); ok && cw.CloseWrite() == nil {
		fc.c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		io.Copy(io.Discard, io.LimitReader(fc.c, frontDiscard))
	}
	fc.c.Close()
}

// await waits for the next request's first byte, moving the read deadline on until the
// connection has been idle for the idle timeout.
func (fc *frontConn) await() error {
	if fc.br.Buffered() == 0 {
		runtime.Gosched() // the client has just been answered: see targetConn.roundTrip
	}
	for {
		_, err := fc.br.Peek(1)
		if err == nil || !isTimeout(err) {
			return err
		}
		idle := fc.lastDone.Add(fc.f.idle)
		if !time.Now().Before(idle) {
			return err
		}
		fc.arm(idle)
	}
}

// settle ends a request once it is answered: what its handler left of its body is read
// past (up to frontDiscard). False when the connection must close.
func (fc *frontConn) settle(req *http.Request) bool {
	if b := &fc.body; req.Body == b && b.err != io.EOF {
		if b.err != nil || b.continue100 {
			// Broken off, or never asked for by a client that waits to be asked.
			return false
		}
		n, err := io.CopyN(io.Discard, b.rc, frontDiscard+1)
		if n > frontDiscard || err != io.EOF {
			return false
		}
	}
	fc.lastDone = time.Now()
	return true
}

func (fc *frontConn) arm(t time.Time) {
	fc.deadline = t
	fc.c.SetReadDeadline(t)
}

// readRequest parses the next request. On a malformed one it answers as net/http does
// (400, 417 or 431) and returns false, as it does when the client closed.
func (fc *frontConn) readRequest() (*http.Request, bool) {
	fc.lr.n = frontMaxHeader + int64(fc.br.Size())
	req, err := http.ReadRequest(fc.br)
	fc.lr.n = -1
	if err != nil {
		switch {
		case errors.Is(err, errHeaderTooLarge):
			fc.reject(http.StatusRequestHeaderFieldsTooLarge, "request header too large")
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), isNetError(err):
		default:
			fc.reject(http.StatusBadRequest, err.Error())
		}
		return nil, false
	}
	if req.ProtoAtLeast(1, 1) && req.Host == "" {
		fc.reject(http.StatusBadRequest, "missing required Host header")
		return nil, false
	}
	expect := req.Header.Get("Expect")
	req.Header.Del("Expect")
	continue100 := strings.EqualFold(expect, "100-continue") && req.ProtoAtLeast(1, 1)
	if expect != "" && !continue100 {
		fc.reject(http.StatusExpectationFailed, "unsupported Expect")
		return nil, false
	}
	req = req.WithContext(fc.ctx)
	req.RemoteAddr = fc.remote
	req.TLS = fc.tls
	if req.Body != nil && req.Body != http.NoBody {
		fc.body = frontBody{fc: fc, rc: req.Body, continue100: continue100}
		req.Body = &fc.body
	}
	return req, true
}

// reject answers a request that cannot be served and closes the connection.
func (fc *frontConn) reject(code int, why string) {
	fc.bw.WriteString("HTTP/1.1 " + strconv.Itoa(code) + " ")
	fc.bw.WriteString(http.StatusText(code))
	fc.bw.WriteString("\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n")
	fc.bw.WriteString(why)
	fc.bw.Flush()
	fc.f.log.Debug("load balancer: bad request", "client", fc.remote, "status", code, "err", why)
}

// answer runs the handler and writes its answer; false when the connection must close.
func (fc *frontConn) answer(req *http.Request) (keep bool) {
	w := &fc.resp
	w.reset(fc, req)
	if req.Body != &fc.body {
		fc.armWatch() // else once the body is read: until then the handler reads the connection
	}
	defer func() {
		fc.stopWatch()
		if p := recover(); p != nil {
			keep = false
			if p != http.ErrAbortHandler {
				fc.f.log.Error("load balancer: handler panicked", "panic", p)
			}
		}
	}()
	fc.f.handler.ServeHTTP(w, req)
	return w.finish()
}

// frontBody is a request's body as the handler reads it: it sends 100 Continue when the
// client waits for one, and arms the watch once it is read to its end.
type frontBody struct {
	fc          *frontConn
	rc          io.ReadCloser
	continue100 bool  // the client waits for 100 Continue before it sends the body
	err         error // io.EOF once read to its end
}

func (b *frontBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if b.continue100 {
		b.continue100 = false
		if !b.fc.resp.sent {
			b.fc.bw.WriteString("HTTP/1.1 100 Continue\r\n\r\n")
			if err := b.fc.bw.Flush(); err != nil {
				b.err = err
				return 0, err
			}
		}
	}
	n, err := b.rc.Read(p)
	if err != nil {
		b.err = err
		if err == io.EOF {
			b.fc.armWatch()
		}
	}
	return n, err
}

// Close does not read the rest as http.ReadRequest's body would: settle does, once the
// answer is written.
func (b *frontBody) Close() error { return nil }

// limitedReader reads the connection, at most n bytes while n >= 0.
type limitedReader struct {
	r io.Reader
	n int64
}

var errHeaderTooLarge = errors.New("request header too large")

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n == 0 {
		return 0, errHeaderTooLarge
	}
	if l.n > 0 && int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	if l.n > 0 {
		l.n -= int64(n)
	}
	return n, err
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func isNetError(err error) bool {
	var ne net.Error
	return errors.As(err, &ne)
}
