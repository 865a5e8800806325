package lbhttp

import (
	"bufio"
	"errors"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httputil"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Counts are what a forward tells the load balancer's metrics.
type Counts interface {
	ClientClosed()     // the client went away before the answer (an ALB's 460)
	ELBError(code int) // the load balancer answered itself: 502, 504
	TargetError()      // the target answered 5xx
}

// Forward sends a client's request to a target and the target's answer to the client, as
// an ALB does: hop-by-hop fields dropped, X-Forwarded-For appended to, -Proto and -Port
// set (and -Host, which the listener set before, through ReverseProxy), the
// client's Host kept, informational answers relayed, streamed answers flushed as they
// come, trailers passed on. It is written out rather than left to httputil.ReverseProxy,
// whose per-request header clone, trace context and request copy held the listener
// under 0.7 of nginx's requests/s (bench/lb.sh, alternating builds: 0.65-0.76 with it,
// 0.76-0.78 without).
// Forward is the request's trip through t, whose target listens behind a listener on
// listenerPort.
// ELBServer is the Server header of what the load balancer answers itself, as an ALB's:
// a client can tell the load balancer's 502 from a task's.
const ELBServer = "awselb/2.0"

func Forward(t *Transport, w http.ResponseWriter, r *http.Request, listenerPort int, counts Counts) {
	relay := func(info *http.Response) { // a 103 Early Hints, say
		h := w.Header()
		for k, vv := range info.Header {
			h[k] = vv
		}
		w.WriteHeader(info.StatusCode)
		for k := range info.Header {
			delete(h, k)
		}
	}
	resp, err := t.exchange(r, retryable(r), func(bw *bufio.Writer) error { return writeRequest(bw, r, listenerPort) }, relay)
	if err != nil {
		if r.Context().Err() != nil {
			// The client went away before the answer: an ALB logs 460 and does not count
			// it in HTTPCode_ELB_5XX_Count.
			counts.ClientClosed()
			return
		}
		// The target closed or refused the connection: ELB answers 502; it did not accept
		// one in time: 504.
		code := http.StatusBadGateway
		if errors.Is(err, errConnectTimeout) {
			code = http.StatusGatewayTimeout
		}
		counts.ELBError(code)
		w.Header().Set("Server", ELBServer)
		w.WriteHeader(code)
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 500 {
		counts.TargetError()
	}
	h := w.Header()
	listed := resp.Header["Connection"]
	for k, vv := range resp.Header {
		if !hopByHop(k, listed) {
			h[k] = vv
		}
	}
	if len(resp.Trailer) > 0 {
		h["Trailer"] = []string{strings.Join(slices.Sorted(maps.Keys(resp.Trailer)), ", ")}
	}
	w.WriteHeader(resp.StatusCode)
	if err := copyAnswer(w, resp.Body, resp.ContentLength < 0); err != nil {
		if errors.Is(err, errTargetBrokeOff) {
			// The client must not take what it got for the whole answer.
			panic(http.ErrAbortHandler)
		}
		return // the client left
	}
	for k, vv := range resp.Trailer {
		h[k] = vv
	}
}

var errTargetBrokeOff = errors.New("the target broke off its answer")

// copyBuffers are the answers' copy buffers: without a pool each request allocates (and the
// runtime zeroes) 32 KiB.
var copyBuffers = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// copyAnswer copies the target's body to the client, flushing after each read when the
// answer is streamed (no Content-Length), as ReverseProxy does.
func copyAnswer(w http.ResponseWriter, body io.Reader, stream bool) error {
	bp := copyBuffers.Get().(*[]byte)
	defer copyBuffers.Put(bp)
	buf := *bp
	flusher, _ := w.(http.Flusher)
	for {
		n, rerr := body.Read(buf)
		if n > 0 {
			if _, err := w.Write(buf[:n]); err != nil {
				return err
			}
			if stream && flusher != nil {
				flusher.Flush()
			}
		}
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			return errors.Join(errTargetBrokeOff, rerr)
		}
	}
}

// writeRequest writes r as the target gets it, in HTTP/1.1, from the listener on port.
func writeRequest(bw *bufio.Writer, r *http.Request, port int) error {
	uri := r.RequestURI
	if !strings.HasPrefix(uri, "/") {
		uri = r.URL.RequestURI() // absolute-form: the target gets the path
	}
	bw.WriteString(r.Method)
	bw.WriteByte(' ')
	bw.WriteString(uri)
	bw.WriteString(" HTTP/1.1\r\n")
	writeField(bw, "Host", r.Host)
	listed := r.Header["Connection"]
	for k, vv := range r.Header {
		if hopByHop(k, listed) || k == "Forwarded" || strings.HasPrefix(k, "X-Forwarded-") {
			continue // the load balancer's own follow
		}
		for _, v := range vv {
			writeField(bw, k, v)
		}
	}
	if ip, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		// Appended to the client's own, as an ALB's default (append) mode does.
		writeField(bw, "X-Forwarded-For", strings.Join(append(slices.Clip(r.Header["X-Forwarded-For"]), ip), ", "))
	}
	writeField(bw, "X-Forwarded-Host", r.Host)
	if r.TLS != nil {
		bw.WriteString("X-Forwarded-Proto: https\r\n")
	} else {
		bw.WriteString("X-Forwarded-Proto: http\r\n")
	}
	bw.WriteString("X-Forwarded-Port: " + strconv.Itoa(port) + "\r\n")
	switch {
	case r.ContentLength > 0:
		bw.WriteString("Content-Length: " + strconv.FormatInt(r.ContentLength, 10) + "\r\n")
	case r.ContentLength < 0:
		bw.WriteString("Transfer-Encoding: chunked\r\n")
		if len(r.Trailer) > 0 {
			writeField(bw, "Trailer", strings.Join(slices.Sorted(maps.Keys(r.Trailer)), ", "))
		}
	case r.Method == http.MethodPost || r.Method == http.MethodPut || r.Method == http.MethodPatch:
		bw.WriteString("Content-Length: 0\r\n")
	}
	if _, err := bw.WriteString("\r\n"); err != nil {
		return err
	}
	switch {
	case r.ContentLength > 0:
		if _, err := io.CopyN(bw, r.Body, r.ContentLength); err != nil {
			return err
		}
	case r.ContentLength < 0:
		cw := httputil.NewChunkedWriter(bw)
		if _, err := io.Copy(cw, r.Body); err != nil {
			return err
		}
		cw.Close() // the last chunk; the trailer and the end follow
		for k, vv := range r.Trailer {
			for _, v := range vv {
				writeField(bw, k, v)
			}
		}
		bw.WriteString("\r\n")
	}
	return nil
}

// hopByHop: fields that concern one connection, not the request or answer (RFC 9110
// 7.6.1), and those its Connection field lists. Trailer is re-announced by forward.
func hopByHop(k string, connection []string) bool {
	switch k {
	case "Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate", "Proxy-Authorization",
		"Te", "Trailer", "Transfer-Encoding", "Upgrade":
		return true
	}
	return len(connection) > 0 && namedIn(connection, k)
}
