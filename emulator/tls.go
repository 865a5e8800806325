package emulator

import (
	"crypto/tls"
	"net/http"

	"github.com/spotfleet/spotfleet/emulator/lbhttp"
)

// certificate is the one the HTTPS listeners present, made once per run for the manifest's
// host names (lbhttp.SelfSigned).
func (e *Emulator) certificate() (tls.Certificate, error) {
	e.certOnce.Do(func() {
		var hosts []string
		for _, s := range e.m.AllServices() {
			if s.LoadBalancer != nil {
				hosts = append(hosts, s.LoadBalancer.Hosts...)
			}
		}
		e.cert, e.certPEM, e.certErr = lbhttp.SelfSigned(e.m.Name, e.opt.ListenHost, hosts)
	})
	return e.cert, e.certErr
}

// CertPEM is the HTTPS listeners' certificate, to trust it (curl --cacert); nil when no
// listener is HTTPS.
func (e *Emulator) CertPEM() []byte {
	for _, l := range e.listeners {
		if l.https {
			e.certificate()
			return e.certPEM
		}
	}
	return nil
}

// Client is an HTTP client for the load balancers (lbhttp.Client): it trusts the HTTPS
// listeners' certificate and reaches the listen address whatever a URL's host name.
func (e *Emulator) Client() *http.Client {
	c, tr := lbhttp.Client(e.CertPEM(), e.opt.ListenHost)
	e.mu.Lock()
	e.transports = append(e.transports, tr) // closed with the emulator
	e.mu.Unlock()
	return c
}
