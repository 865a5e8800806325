package emulator

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/spotfleet/spotfleet"
	"github.com/spotfleet/spotfleet/internal/testing/rawhttp"
)

// TestForwardIsALBs: what the target receives and what the client gets back through the
// listener, on raw connections.
func TestForwardIsALBs(t *testing.T) {
	addr := "127.0.0.8:" + strconv.Itoa(freePort(t))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/echo":
			b, _ := io.ReadAll(r.Body)
			fmt.Fprintf(w, "host=%s xff=%s xfh=%s proto=%s port=%t hop=%q keepalive=%q body=%s sum=%s",
				r.Host, r.Header.Get("X-Forwarded-For"), r.Header.Get("X-Forwarded-Host"), r.Header.Get("X-Forwarded-Proto"),
				r.Header.Get("X-Forwarded-Port") != "", r.Header.Get("X-Hop"), r.Header.Get("Keep-Alive"), b, r.Trailer.Get("X-Sum"))
		case "/stream":
			w.Header().Set("Trailer", "X-Done")
			io.WriteString(w, "first,")
			w.(http.Flusher).Flush()
			time.Sleep(20 * time.Millisecond)
			io.WriteString(w, "second")
			w.Header().Set("X-Done", "yes")
		case "/early":
			w.Header().Set("Link", "</style.css>; rel=preload")
			w.WriteHeader(http.StatusEarlyHints)
			io.WriteString(w, "final")
		case "/broken":
			c, bw, _ := http.NewResponseController(w).Hijack()
			bw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
			bw.Flush()
			c.Close()
		case "/upgrade":
			w.Header().Set("Connection", "Upgrade")
			w.Header().Set("Upgrade", "websocket")
			w.WriteHeader(http.StatusSwitchingProtocols)
		}
	})}
	go srv.Serve(ln)
	defer srv.Close()
	_, port, _ := net.SplitHostPort(addr)
	e, tg := listeningLB(t, port)
	var x *target
	inspect(e, func() {
		x = tg.register("127.0.0.8", "i-1", nil)
		x.state = spotfleet.TargetHealthy
		tg.routableChanged()
	})
	lb := e.listeners[0].addr

	cases := []struct {
		name, raw string
		want      []string // in this order
		not       []string
	}{
		{"the target gets the client's Host, X-Forwarded-For appended to, not the hop-by-hop fields",
			"GET /echo HTTP/1.1\r\nHost: shop.example\r\nConnection: X-Hop\r\nX-Hop: 1\r\nKeep-Alive: timeout=5\r\nX-Forwarded-For: 6.6.6.6\r\n\r\n",
			[]string{`host=shop.example xff=6.6.6.6, 127.0.0.1 xfh=shop.example proto=http port=true hop="" keepalive="" body= sum=`}, nil},
		{"a body with a length",
			"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
			[]string{"body=hello"}, nil},
		{"a chunked body and its trailer",
			"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n3\r\nabc\r\n0\r\nX-Sum: 3\r\n\r\n",
			[]string{"body=abc sum=3"}, nil},
		{"a streamed answer comes in chunks, with its trailer",
			"GET /stream HTTP/1.1\r\nHost: a\r\n\r\n",
			[]string{"HTTP/1.1 200 OK\r\n", "first,", "second", "X-Done: yes\r\n"}, []string{"Content-Length"}},
		{"an informational answer is relayed",
			"GET /early HTTP/1.1\r\nHost: a\r\n\r\n",
			[]string{"HTTP/1.1 103 Early Hints\r\n", "Link: </style.css>; rel=preload\r\n", "HTTP/1.1 200 OK\r\n", "final"}, nil},
		{"an answer the target broke off is not passed on as whole",
			"GET /broken HTTP/1.1\r\nHost: a\r\n\r\n",
			nil, []string{"abc\r\n0\r\n", "HTTP/1.1 502"}}, // the connection closes short of the answer's length
		{"a protocol upgrade is refused with a 502",
			"GET /upgrade HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
			[]string{"HTTP/1.1 502 Bad Gateway\r\n"}, []string{"101"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rawhttp.Check(t, rawhttp.Exchange(t, lb, c.raw), c.want, nil, c.not)
		})
	}
	if n := x.inflight.Load(); n != 0 {
		t.Errorf("%d requests still in flight on the target after every answer (an aborted one not released?)", n)
	}
}
