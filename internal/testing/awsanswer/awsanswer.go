// Package awsanswer is an HTTP transport that answers AWS calls with an error of the
// service's protocol, for the tests of how spotfleet explains and survives them.
package awsanswer

import (
	"io"
	"net/http"
	"strings"
)

// Transport is a transport that answers every call with one AWS error.
type Transport struct {
	Status      int
	ContentType string
	Body        string
	Only        string // answer only requests whose target or body has this; others pass
	Next        http.RoundTripper
}

// RoundTrip answers r with the error, or passes it on.
func (a Transport) RoundTrip(r *http.Request) (*http.Response, error) {
	if a.Only != "" {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		if !strings.Contains(r.Header.Get("X-Amz-Target")+string(body), a.Only) {
			return a.Next.RoundTrip(r)
		}
	}
	h := http.Header{"Content-Type": {a.ContentType}}
	return &http.Response{StatusCode: a.Status, Header: h, Body: io.NopCloser(strings.NewReader(a.Body)), Request: r}, nil
}
