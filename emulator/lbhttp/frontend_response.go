package lbhttp

import (
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// frontResponse is the http.ResponseWriter of a Frontend request. As net/http's, it sends
// the header with the first byte of the body, or when the handler flushes or returns;
// an answer without a Content-Length gets one when the handler returns within its first
// frontPending bytes, else it is sent chunked (or, to an HTTP/1.0 client, delimited by
// closing the connection). Declared trailers follow the last chunk.
type frontResponse struct {
	fc      *frontConn
	req     *http.Request
	header  http.Header
	status  int
	sent    bool   // the status line and header are written
	chunked bool   // the body is sent in chunks
	length  int64  // the Content-Length sent; -1 when none
	written int64  // body bytes written
	pending []byte // body written before the header is sent
	close   bool   // the connection closes after this answer
	err     error  // the first failed write: the connection is broken
}

// frontPending is how much body waits for the handler to return before the answer is
// sent chunked (net/http waits for 2 KiB).
const frontPending = 2 << 10

// reset makes w the answer to req, keeping its header map and pending buffer.
func (w *frontResponse) reset(fc *frontConn, req *http.Request) {
	h, pending := w.header, w.pending[:0]
	if h == nil {
		h = make(http.Header)
	}
	clear(h)
	*w = frontResponse{fc: fc, req: req, header: h, length: -1, pending: pending}
}

func (w *frontResponse) Header() http.Header { return w.header }

func (w *frontResponse) WriteHeader(code int) {
	if w.status != 0 || w.sent {
		return
	}
	if code >= 100 && code <= 199 && code != http.StatusSwitchingProtocols {
		// An informational answer goes at once, with the header set so far (ReverseProxy
		// relays a target's 103 Early Hints that way and clears the header after).
		w.writeStatus(code)
		w.writeFields(nil)
		w.fc.bw.WriteString("\r\n")
		w.fail(w.fc.bw.Flush())
		return
	}
	if code < 100 || code > 999 {
		panic("invalid WriteHeader code " + strconv.Itoa(code))
	}
	w.status = code
}

// bodyAllowed: 1xx, 204 and 304 answers have no body; a HEAD request's answer sends none.
func (w *frontResponse) bodyAllowed() bool {
	return w.status >= 200 && w.status != http.StatusNoContent && w.status != http.StatusNotModified
}

func (w *frontResponse) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if !w.bodyAllowed() {
		return 0, http.ErrBodyNotAllowed
	}
	if w.req.Method == http.MethodHead {
		return len(p), nil
	}
	if w.err != nil {
		return 0, w.err
	}
	if !w.sent {
		if _, ok := w.header["Content-Length"]; !ok && len(w.pending)+len(p) <= frontPending {
			w.pending = append(w.pending, p...)
			return len(p), nil
		}
		w.send(false)
	}
	return w.body(p)
}

// body writes p as body bytes, framed as the header said.
func (w *frontResponse) body(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	if w.length >= 0 && w.written+int64(len(p)) > w.length {
		return 0, http.ErrContentLength
	}
	bw := w.fc.bw
	if w.chunked {
		bw.WriteString(strconv.FormatInt(int64(len(p)), 16))
		bw.WriteString("\r\n")
	}
	n, err := bw.Write(p)
	if w.chunked && err == nil {
		_, err = bw.WriteString("\r\n")
	}
	w.written += int64(n)
	w.fail(err)
	return n, err
}

func (w *frontResponse) Flush() { w.FlushError() }

// FlushError sends what is written so far (http.ResponseController and ReverseProxy use
// it for streamed answers).
func (w *frontResponse) FlushError() error {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if !w.sent {
		w.send(false)
	}
	if w.err == nil {
		w.fail(w.fc.bw.Flush())
	}
	return w.err
}

// finish completes the answer once the handler returned; false when the connection must
// close.
func (w *frontResponse) finish() bool {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if !w.sent {
		w.send(true)
	}
	bw := w.fc.bw
	if w.chunked && w.err == nil {
		bw.WriteString("0\r\n")
		w.writeTrailers()
		bw.WriteString("\r\n")
	}
	if w.length >= 0 && w.written < w.length && w.bodyAllowed() && w.req.Method != http.MethodHead {
		w.close = true // the client waits for bytes that will not come
	}
	if w.err == nil {
		w.fail(bw.Flush())
	}
	return !w.close && w.err == nil
}

// send writes the status line and the header; done says the handler returned, so that
// the pending body is the whole body.
func (w *frontResponse) send(done bool) {
	w.sent = true
	h, req := w.header, w.req
	if cl, ok := h["Content-Length"]; ok {
		n, err := strconv.ParseInt(strings.TrimSpace(firstOf(cl)), 10, 64)
		if err != nil || n < 0 {
			delete(h, "Content-Length")
		} else {
			w.length = n
		}
	}
	delete(h, "Transfer-Encoding") // the framing is this writer's
	hasBody := w.bodyAllowed() && req.Method != http.MethodHead
	switch {
	case !hasBody:
	case w.length >= 0:
	case done && len(h["Trailer"]) == 0:
		w.length = int64(len(w.pending))
		h["Content-Length"] = []string{strconv.Itoa(len(w.pending))}
	case req.ProtoAtLeast(1, 1):
		w.chunked = true
	default:
		w.close = true // an HTTP/1.0 client reads to the end of the connection
	}
	if req.Close || namedIn(h["Connection"], "Close") {
		w.close = true
	}
	keepAlive10 := !req.ProtoAtLeast(1, 1) && !w.close
	delete(h, "Connection")
	if _, ok := h["Date"]; !ok {
		h["Date"] = []string{httpDate()}
	}

	w.writeStatus(w.status)
	w.writeFields(h["Trailer"])
	bw := w.fc.bw
	if w.chunked {
		bw.WriteString("Transfer-Encoding: chunked\r\n")
	}
	switch {
	case w.close && req.ProtoAtLeast(1, 1):
		bw.WriteString("Connection: close\r\n")
	case keepAlive10:
		bw.WriteString("Connection: keep-alive\r\n")
	}
	bw.WriteString("\r\n")
	if hasBody && len(w.pending) > 0 {
		w.body(w.pending)
	}
	w.pending = w.pending[:0]
}

func (w *frontResponse) writeStatus(code int) {
	bw := w.fc.bw
	if w.req.ProtoAtLeast(1, 1) {
		bw.WriteString("HTTP/1.1 ")
	} else {
		bw.WriteString("HTTP/1.0 ")
	}
	bw.WriteString(strconv.Itoa(code))
	bw.WriteByte(' ')
	bw.WriteString(http.StatusText(code))
	bw.WriteString("\r\n")
}

// writeFields writes the header's fields but those named as trailers.
func (w *frontResponse) writeFields(trailers []string) {
	bw := w.fc.bw
	for k, vs := range w.header {
		if strings.HasPrefix(k, http.TrailerPrefix) || len(trailers) > 0 && namedIn(trailers, k) {
			continue
		}
		for _, v := range vs {
			writeField(bw, k, v)
		}
	}
}

// writeTrailers writes the declared trailers' values and those set with
// http.TrailerPrefix.
func (w *frontResponse) writeTrailers() {
	bw := w.fc.bw
	for k, vs := range w.header {
		name, prefixed := strings.CutPrefix(k, http.TrailerPrefix)
		if !prefixed && !namedIn(w.header["Trailer"], k) {
			continue
		}
		for _, v := range vs {
			writeField(bw, name, v)
		}
	}
}

type stringWriter interface{ WriteString(string) (int, error) }

// writeField writes one field; a line break in a value would end the header early, so it
// becomes a space (as net/http's Header.Write does).
func writeField(bw stringWriter, k, v string) {
	if strings.ContainsAny(k, "\r\n: ") || k == "" {
		return
	}
	if strings.ContainsAny(v, "\r\n") {
		v = strings.NewReplacer("\r", " ", "\n", " ").Replace(v)
	}
	bw.WriteString(k)
	bw.WriteString(": ")
	bw.WriteString(strings.TrimSpace(v))
	bw.WriteString("\r\n")
}

// namedIn: k (canonical) is among the comma-separated names of the values: those of a
// Trailer or a Connection field.
func namedIn(values []string, k string) bool {
	for _, v := range values {
		for name := range strings.SplitSeq(v, ",") {
			if http.CanonicalHeaderKey(strings.TrimSpace(name)) == k {
				return true
			}
		}
	}
	return false
}

func (w *frontResponse) fail(err error) {
	if err != nil && w.err == nil {
		w.err = err
	}
}

func firstOf(vs []string) string {
	if len(vs) == 0 {
		return ""
	}
	return vs[0]
}

// httpDate is the Date field's value, formatted once a second.
func httpDate() string {
	now := time.Now().Unix()
	if d := lastDate.Load(); d != nil && d.unix == now {
		return d.text
	}
	d := &dateText{unix: now, text: time.Unix(now, 0).UTC().Format(http.TimeFormat)}
	lastDate.Store(d)
	return d.text
}

type dateText struct {
	unix int64
	text string
}

var lastDate atomic.Pointer[dateText]
