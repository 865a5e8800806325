package emulator

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"pgregory.net/rapid"

	"github.com/spotfleet/spotfleet"
	"github.com/spotfleet/spotfleet/emulator/proc"
	"github.com/spotfleet/spotfleet/manifest"
)

// TestWildcardIsALBs: wildcard agrees with the regular expression an ALB pattern means
// (* any run of characters, "/" included; ? exactly one).
func TestWildcardIsALBs(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		pattern := rapid.StringMatching(`[ab/*?]{0,8}`).Draw(t, "pattern")
		s := rapid.StringMatching(`[ab/]{0,10}`).Draw(t, "s")
		re := "^" + strings.NewReplacer("*", ".*", "?", ".").Replace(pattern) + "$" // a, b and / are literal
		if want := regexp.MustCompile(re).MatchString(s); wildcard(pattern, s) != want {
			t.Fatalf("wildcard(%q, %q) = %v, want %v", pattern, s, !want, want)
		}
	})
}

// TestHTTPSListenerRoutesByPathAndHostAndRedirects: two services share an HTTPS listener,
// one by path and one by host, a third takes the rest; rules apply in manifest order; the certificate verifies for the
// listener and the hosts; the HTTP port answers 301 to the same URL over HTTPS.
func TestHTTPSListenerRoutesByPathAndHostAndRedirects(t *testing.T) {
	port, lport, rport := freePort(t), freePort(t), freePort(t)
	e := realEmulator(t, fmt.Sprintf(`name: lb
capacity: [{name: spot, instanceTypes: [m5.large, m5a.large, m6i.large]}]
services:
  - {name: web, command: [x], port: %[1]d, loadBalancer: {listenerPort: %[2]d, protocol: HTTPS, redirectHttpFrom: %[3]d}}
  - {name: api, command: [x], port: %[1]d, loadBalancer: {listenerPort: %[2]d, protocol: HTTPS, redirectHttpFrom: %[3]d, paths: ["/api/*"]}}
  - {name: admin, command: [x], port: %[1]d, loadBalancer: {listenerPort: %[2]d, protocol: HTTPS, redirectHttpFrom: %[3]d, hosts: [admin.example.com]}}
`, port, lport, rport))
	if len(e.listeners) != 1 {
		t.Fatalf("%d listeners for one port", len(e.listeners))
	}
	if err := e.listeners[0].listen(e); err != nil {
		t.Fatal(err)
	}
	backends := map[string]*backend{}
	for i, tg := range e.tgs {
		ip := "127.0.0." + strconv.Itoa(i+2)
		backends[tg.name] = startBackend(t, net.JoinHostPort(ip, strconv.Itoa(port)))
		inspect(e, func() {
			tg.register(ip, "i-"+tg.name, nil).state = spotfleet.TargetHealthy
			tg.routableChanged()
		})
	}
	urls := e.Listeners()
	base := fmt.Sprintf("https://127.0.0.1:%d", lport)
	if want := map[string]string{"web": base + "/", "api": base + "/api/", "admin": fmt.Sprintf("https://admin.example.com:%d/", lport)}; fmt.Sprint(urls) != fmt.Sprint(want) {
		t.Fatalf("Listeners() = %v, want %v", urls, want)
	}
	client := e.Client()
	for _, c := range []struct{ url, tg string }{
		{base + "/", "lb-web"}, {base + "/api/users?x=1", "lb-api"}, {base + "/apix", "lb-web"},
		{fmt.Sprintf("https://admin.example.com:%d/x", lport), "lb-admin"},
		{fmt.Sprintf("https://admin.example.com:%d/api/x", lport), "lb-api"}, {fmt.Sprintf("https://localhost:%d/", lport), "lb-web"},
	} {
		before := backends[c.tg].hits.Load()
		resp, err := client.Get(c.url)
		if err != nil {
			t.Fatalf("GET %s: %v", c.url, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || backends[c.tg].hits.Load() != before+1 {
			t.Errorf("GET %s: status %d, want 200 from %s", c.url, resp.StatusCode, c.tg)
		}
	}

	resp, err := client.Get(fmt.Sprintf("http://admin.example.com:%d/api/x?y=2", rport))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if want := fmt.Sprintf("https://admin.example.com:%d/api/x?y=2", lport); resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != want {
		t.Errorf("redirect: %d to %q, want 301 to %q", resp.StatusCode, resp.Header.Get("Location"), want)
	}
	if _, err := http.Get(base + "/"); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("a client that does not trust the emulator's certificate: %v, want a certificate error", err)
	}
}

// TestUnroutedRequestsGet404: a listener whose services all have rules answers 404 to a
// request none matches, as an ALB's fixed default does.
func TestUnroutedRequestsGet404(t *testing.T) {
	lport := freePort(t)
	e := realEmulator(t, fmt.Sprintf(`name: lb
capacity: [{name: spot, instanceTypes: [m5.large, m5a.large, m6i.large]}]
services: [{name: api, command: [x], loadBalancer: {listenerPort: %d, paths: ["/api/*"]}}]
`, lport))
	if err := e.listeners[0].listen(e); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/other", lport))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("status %d, want 404", resp.StatusCode)
	}
}

// TestSecretsReachTheProcess: a service's secrets are in its processes' environment with
// the values given; an emulator missing one refuses to start, naming it.
func TestSecretsReachTheProcess(t *testing.T) {
	yaml := `name: s
capacity: [{name: spot, instanceTypes: [m5.large, m5a.large, m6i.large]}]
services:
  - name: web
    command: [x]
    secrets: [{name: DB_PASSWORD, valueFrom: "arn:aws:ssm:us-east-1:123456789012:parameter/db"}]
`
	m, diags := manifest.Parse("s.yaml", []byte(yaml))
	if err := diags.Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := New(m, Options{Runner: &proc.Fake{}, Prober: &proc.Fake{}}); err == nil || !strings.Contains(err.Error(), "DB_PASSWORD") {
		t.Fatalf("without the secret's value: %v", err)
	}
	e, err := New(m, Options{Runner: &proc.Fake{}, Prober: &proc.Fake{}, Secrets: map[string]string{"DB_PASSWORD": "p w"}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if env := e.processEnv(m.Services[0], "127.0.0.9", &instance{id: "i-1"}); !slices.Contains(env, "DB_PASSWORD=p w") {
		t.Errorf("environment %q lacks the secret", env)
	}
}
