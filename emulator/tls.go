package emulator

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"time"
)

// certificate is the one the HTTPS listeners present: self-signed, made for the run (a
// key never leaves the process), for the listener address, localhost and the manifest's
// host names, so that a client that trusts CertPEM verifies it as it would ACM's.
func (e *Emulator) certificate() (tls.Certificate, error) {
	e.certOnce.Do(func() {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			e.certErr = err
			return
		}
		now := time.Now()
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(now.UnixNano()),
			Subject:      pkix.Name{CommonName: "spotfleet emulator " + e.m.Name},
			NotBefore:    now.Add(-time.Hour), NotAfter: now.Add(7 * 24 * time.Hour),
			KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
			IsCA:        true, BasicConstraintsValid: true,
			DNSNames:    []string{"localhost"},
			IPAddresses: []net.IP{net.ParseIP(e.opt.ListenHost), net.IPv6loopback},
		}
		for _, s := range e.m.AllServices() {
			if s.LoadBalancer != nil {
				tmpl.DNSNames = append(tmpl.DNSNames, s.LoadBalancer.Hosts...)
			}
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			e.certErr = err
			return
		}
		e.cert = tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
		e.certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
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

// Client is an HTTP client for the load balancers as a user's would be with DNS pointing
// at them: it trusts the HTTPS listeners' certificate and reaches the listener's port on
// the listen address whatever host name a URL has (Listeners gives a host-routed
// service's URL with its host name). It does not follow redirects, so that the HTTP→HTTPS
// redirect is seen.
func (e *Emulator) Client() *http.Client {
	roots := x509.NewCertPool()
	if p := e.CertPEM(); p != nil {
		roots.AppendCertsFromPEM(p)
	}
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	tr := &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
		MaxIdleConnsPerHost: 1024, DisableCompression: true,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			_, port, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			return dialer.DialContext(ctx, network, net.JoinHostPort(e.opt.ListenHost, port))
		},
	}
	e.mu.Lock()
	e.transports = append(e.transports, tr) // closed with the emulator
	e.mu.Unlock()
	return &http.Client{Timeout: 10 * time.Second, Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}
