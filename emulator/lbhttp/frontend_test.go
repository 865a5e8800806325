package lbhttp

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spotfleet/spotfleet/internal/testing/rawhttp"
)

// frontendHandler answers by path: /echo the request body, /small a short body with no
// Content-Length, /stream two flushed chunks and a trailer, /hang until the request's
// context ends (it reports that on hung), /panic aborts.
func frontendHandler(hung chan<- error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/echo":
			b, err := io.ReadAll(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			w.Header().Set("Content-Length", strconv.Itoa(len(b)))
			w.Write(b)
		case "/small":
			io.WriteString(w, "small")
		case "/stream":
			w.Header().Set("Trailer", "X-Sum")
			io.WriteString(w, "one,")
			w.(http.Flusher).Flush()
			io.WriteString(w, "two")
			w.Header().Set("X-Sum", "2")
		case "/hang":
			select {
			case <-r.Context().Done():
				hung <- r.Context().Err()
			case <-time.After(5 * time.Second):
				hung <- nil
			}
		case "/slow":
			time.Sleep(2 * frontWatchAfter)
			io.WriteString(w, "slow")
		case "/panic":
			panic(http.ErrAbortHandler)
		default:
			w.WriteHeader(http.StatusNoContent)
		}
	})
}

func startFrontend(t *testing.T, hung chan<- error, idle time.Duration) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := NewFrontend(frontendHandler(hung), slog.New(slog.DiscardHandler))
	if idle > 0 {
		f.idle = idle
	}
	go f.Serve(ln)
	t.Cleanup(f.Close)
	return ln.Addr().String()
}

// TestFrontendSpeaksHTTP11: raw exchanges, each checked for what must be in the answer
// and whether the connection stays open.
func TestFrontendSpeaksHTTP11(t *testing.T) {
	addr := startFrontend(t, nil, 0)
	big := strings.Repeat("x", 3000)
	cases := []struct {
		name, raw string
		want      []string // in this order
		not       []string
		has       []string // anywhere (header fields come in any order)
	}{
		{"two pipelined requests answered in order on one connection",
			"GET /small HTTP/1.1\r\nHost: a\r\n\r\nPOST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
			[]string{"HTTP/1.1 200 OK\r\n", "\r\n\r\nsmall", "HTTP/1.1 200 OK\r\n", "\r\n\r\nhello"},
			[]string{"Connection: close"}, []string{"Content-Length: 5\r\n"}},
		{"a streamed answer is chunked, with its trailer",
			"GET /stream HTTP/1.1\r\nHost: a\r\n\r\n",
			[]string{"\r\n\r\n4\r\none,\r\n3\r\ntwo\r\n0\r\nX-Sum: 2\r\n\r\n"},
			[]string{"Content-Length"}, []string{"Transfer-Encoding: chunked\r\n", "Trailer: X-Sum\r\n"}},
		{"a chunked request body",
			"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
			[]string{"\r\n\r\nabcde"}, nil, []string{"Content-Length: 5\r\n"}},
		{"100 Continue before the body is read",
			"POST /echo HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nok",
			[]string{"HTTP/1.1 100 Continue\r\n\r\n", "HTTP/1.1 200 OK\r\n", "\r\n\r\nok"}, nil, nil},
		{"HEAD has no body", "HEAD /small HTTP/1.1\r\nHost: a\r\n\r\n",
			[]string{"HTTP/1.1 200 OK\r\n"}, []string{"small"}, nil},
		{"204 has no body", "GET /none HTTP/1.1\r\nHost: a\r\n\r\n",
			[]string{"HTTP/1.1 204 No Content\r\n"}, []string{"Content-Length", "chunked"}, nil},
		{"HTTP/1.0 is answered in 1.0 and closed",
			"GET /small HTTP/1.0\r\n\r\nGET /small HTTP/1.0\r\n\r\n",
			[]string{"HTTP/1.0 200 OK\r\n", "small"}, []string{"smallHTTP"}, nil},
		{"HTTP/1.0 keep-alive is kept",
			"GET /small HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /small HTTP/1.0\r\n\r\n",
			[]string{"Connection: keep-alive\r\n", "small", "HTTP/1.0 200 OK", "small"}, nil, nil},
		{"Connection: close is honoured",
			"GET /small HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\nGET /small HTTP/1.1\r\nHost: a\r\n\r\n",
			[]string{"Connection: close\r\n", "small"}, []string{"smallHTTP"}, nil},
		{"an unread body is read past and the connection kept",
			"POST /small HTTP/1.1\r\nHost: a\r\nContent-Length: 3000\r\n\r\n" + big + "GET /small HTTP/1.1\r\nHost: a\r\n\r\n",
			[]string{"small", "HTTP/1.1 200 OK", "small"}, nil, nil},
		{"a malformed request line is a 400", "GET\r\n\r\n",
			[]string{"HTTP/1.1 400 Bad Request\r\n", "Connection: close"}, nil, nil},
		{"HTTP/1.1 without Host is a 400", "GET / HTTP/1.1\r\n\r\n",
			[]string{"HTTP/1.1 400 Bad Request\r\n", "Host"}, nil, nil},
		{"an Expect it does not know is a 417",
			"POST /echo HTTP/1.1\r\nHost: a\r\nExpect: teapot\r\nContent-Length: 1\r\n\r\nx",
			[]string{"HTTP/1.1 417 Expectation Failed\r\n"}, nil, nil},
		{"a header over 1 MiB is a 431",
			"GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + strings.Repeat("y", frontMaxHeader+8192) + "\r\n\r\n",
			[]string{"HTTP/1.1 431 Request Header Fields Too Large\r\n"}, nil, nil},
		{"a handler that aborts closes the connection without an answer",
			"GET /panic HTTP/1.1\r\nHost: a\r\n\r\nGET /small HTTP/1.1\r\nHost: a\r\n\r\n",
			nil, []string{"HTTP/1.1"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rawhttp.Check(t, rawhttp.Exchange(t, addr, c.raw), c.want, c.has, c.not)
		})
	}
}

// TestFrontendWatchesLongRequests: a request that runs past frontWatchAfter sees its
// client leave (its context ends); one whose client stays is answered, and the next
// request on the same connection is read by the connection again.
func TestFrontendWatchesLongRequests(t *testing.T) {
	hung := make(chan error, 1)
	addr := startFrontend(t, hung, 0)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(c, "GET /hang HTTP/1.1\r\nHost: a\r\n\r\n")
	time.Sleep(2 * frontWatchAfter)
	c.Close()
	select {
	case err := <-hung:
		if err != context.Canceled {
			t.Fatalf("the request's context: %v, want cancelled when its client left", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("the client left and the request was not cancelled")
	}

	c, err = net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	for i := range 2 {
		io.WriteString(c, "GET /slow HTTP/1.1\r\nHost: a\r\n\r\n")
		c.SetReadDeadline(time.Now().Add(3 * time.Second))
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("request %d on a watched connection: %v", i, err)
		}
		b, _ := io.ReadAll(resp.Body)
		if string(b) != "slow" {
			t.Fatalf("request %d: %q", i, b)
		}
	}
}

// TestFrontendClosesIdleConnections: a kept connection with no request for the idle
// timeout is closed; one in use is not.
func TestFrontendClosesIdleConnections(t *testing.T) {
	addr := startFrontend(t, nil, 300*time.Millisecond)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	for range 4 { // 4 × 100 ms: longer than the timeout, never idle that long
		io.WriteString(c, "GET /small HTTP/1.1\r\nHost: a\r\n\r\n")
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("a connection in use was closed: %v", err)
		}
		io.Copy(io.Discard, resp.Body)
		time.Sleep(100 * time.Millisecond)
	}
	began := time.Now()
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	if _, err := br.ReadByte(); err != io.EOF {
		t.Fatalf("an idle connection: %v, want closed (EOF)", err)
	}
	if d := time.Since(began); d > 2*time.Second {
		t.Fatalf("an idle connection closed after %s", d)
	}
}

// FuzzFrontend: whatever a client sends, the Frontend answers HTTP or nothing, and lets
// the connection go once the client stops sending.
func FuzzFrontend(f *testing.F) {
	for _, s := range []string{
		"GET /small HTTP/1.1\r\nHost: a\r\n\r\n",
		"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
		"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 99\r\n\r\nshort",
		"GET /stream HTTP/1.0\r\n\r\n",
		"POST /echo HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n",
		"\r\n\r\nGET / HTTP/9.9\r\nHost: a\r\n\r\n",
	} {
		f.Add(s)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.Fatal(err)
	}
	fe := NewFrontend(frontendHandler(make(chan error, 100)), slog.New(slog.DiscardHandler))
	go fe.Serve(ln)
	defer fe.Close()
	f.Fuzz(func(t *testing.T, raw string) {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		go func() {
			io.WriteString(c, raw)
			c.(*net.TCPConn).CloseWrite() // the client is done sending
		}()
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		out, err := io.ReadAll(c)
		if err != nil {
			t.Fatalf("the connection was not closed after %q: %v", raw, err)
		}
		if len(out) > 0 && !strings.HasPrefix(string(out), "HTTP/1.") {
			t.Fatalf("answer to %q does not start as HTTP: %q", raw, out)
		}
	})
}
