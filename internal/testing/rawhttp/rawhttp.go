// Package rawhttp sends HTTP as bytes on a connection and checks the bytes that come back,
// for the tests of the load balancer's frontend and forward path.
package rawhttp

import (
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// Exchange writes raw to a new connection and reads until the server closes it or
// goes quiet for 300 ms.
func Exchange(t testing.TB, addr, raw string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	buf := make([]byte, 64<<10)
	for {
		c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		n, err := c.Read(buf)
		out.Write(buf[:n])
		if err != nil {
			return out.String()
		}
	}
}

// Check fails the test unless got holds inOrder in that order, anywhere each of
// anywhere, and none of absent.
func Check(t testing.TB, got string, inOrder, anywhere, absent []string) {
	t.Helper()
	rest := got
	for _, w := range inOrder {
		i := strings.Index(rest, w)
		if i < 0 {
			t.Fatalf("want %q (in order) in:\n%s", w, got)
		}
		rest = rest[i+len(w):]
	}
	for _, h := range anywhere {
		if !strings.Contains(got, h) {
			t.Fatalf("want %q in:\n%s", h, got)
		}
	}
	for _, n := range absent {
		if strings.Contains(got, n) {
			t.Fatalf("%q should not be in:\n%s", n, got)
		}
	}
}
